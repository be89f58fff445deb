"""Cheap proven bounds, valid without any search (used when the exact model is skipped or weaker).

Vehicles: per lot, at most the demand of its lines that some reachable option can serve,
and at most the sum, over the lot's `max_winners` best suppliers, of what each can carry
there (share cap, capacity, its reachable options); in total also at most what all
suppliers' capacities can carry.

Price (lower bound for any award of at least V vehicles): every awarded vehicle goes to a
line at a unit price at least the cheapest reachable offer on that line, so the V
cheapest such vehicle-slots bound the price from below.
"""

from __future__ import annotations

from solver.award.instance import Instance
from solver.award.prep import Prepared


def servable_lines(prep: Prepared) -> set[int]:
    """Lines that some reachable bid tier or package item can serve."""
    lines = {li for t in prep.tiers for li in t.lines}
    lines.update(li for p in prep.packages for it in p.items for li in it.lines)
    return lines


def lot_vehicle_caps(inst: Instance, prep: Prepared) -> list[int]:
    """Per lot, the most vehicles any award serves there (the first two limits above)."""
    servable = servable_lines(prep)
    carry: dict[tuple[int, int], int] = {}  # (supplier, lot) -> most it can carry there
    for bi, ts in prep.tiers_of_bid.items():
        bid = inst.bids[bi]
        carry[bid.supplier, bid.lot] = carry.get((bid.supplier, bid.lot), 0) + max(t.hi for t in ts)
    for p in prep.packages:
        for it in p.items:
            carry[p.supplier, it.lot] = carry.get((p.supplier, it.lot), 0) + it.quantity
    by_lot: dict[int, list[int]] = {}
    for (s, lot), c in carry.items():
        by_lot.setdefault(lot, []).append(min(c, inst.capacity[s], inst.lots[lot].share_cap))
    caps = [0] * len(inst.lots)
    for lot, most in by_lot.items():
        most.sort(reverse=True)
        if inst.max_winners is not None:
            most = most[: inst.max_winners]
        demand = sum(inst.lines[li].quantity for li in inst.lots[lot].lines if li in servable)
        caps[lot] = min(demand, sum(most))
    return caps


def vehicle_bound(inst: Instance, prep: Prepared) -> int:
    per_sup: dict[int, int] = {}
    for bi, ts in prep.tiers_of_bid.items():
        s = inst.bids[bi].supplier
        per_sup[s] = per_sup.get(s, 0) + max(t.hi for t in ts)
    for p in prep.packages:
        per_sup[p.supplier] = per_sup.get(p.supplier, 0) + p.quantity
    supply = sum(min(c, inst.capacity[s]) for s, c in per_sup.items())
    return min(sum(lot_vehicle_caps(inst, prep)), supply)


def price_bound(inst: Instance, prep: Prepared, vehicles: int) -> int:
    cheapest: dict[int, int] = {}
    for t in prep.tiers:
        for li in t.lines:
            if t.cents < cheapest.get(li, 1 << 62):
                cheapest[li] = t.cents
    for p in prep.packages:
        for it in p.items:
            for li in it.lines:
                if it.cents < cheapest.get(li, 1 << 62):
                    cheapest[li] = it.cents
    total = 0
    left = vehicles
    for li, c in sorted(cheapest.items(), key=lambda kv: kv[1]):
        take = min(left, inst.lines[li].quantity)
        total += take * c
        left -= take
        if left <= 0:
            break
    return total
