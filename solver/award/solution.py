"""An award as index-based allocations, its objective values, and its output document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solver.award import deliveries
from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.money import from_cents
from solver.quarters import format_quarter


@dataclass
class Solution:
    # bid index -> {line index: vehicles}
    bids: dict[int, dict[int, int]] = field(default_factory=dict)
    # package index -> per item (in Package.items order): {line index: vehicles}
    packages: dict[int, list[dict[int, int]]] = field(default_factory=dict)

    def bid_quantity(self, bi: int) -> int:
        return sum(self.bids.get(bi, {}).values())

    def copy(self) -> Solution:
        return Solution(
            {b: dict(a) for b, a in self.bids.items()},
            {p: [dict(a) for a in items] for p, items in self.packages.items()},
        )


def objective(inst: Instance, sol: Solution) -> tuple[int, int]:
    """(vehicles, cents) of an award."""
    vehicles = cents = 0
    for bi, alloc in sol.bids.items():
        q = sum(alloc.values())
        if q:
            bid = inst.bids[bi]
            vehicles += q
            cents += q * bid.tiers[bid.tier_at(q)].cents
    for pi in sol.packages:
        for item in inst.packages[pi].items:
            vehicles += item.quantity
            cents += item.quantity * item.cents
    return vehicles, cents


def _most_whole(inst: Instance, prep: Prepared, li: int) -> int:
    """The most vehicles one source the line admits (price, exclusions) may take in its lot: its
    tier's range upper end or its item's quantity (prep leaves out, with whole line service, the
    lines larger than that)."""
    line = inst.lines[li]
    most = 0
    for t in prep.tiers:
        bid = inst.bids[t.bid]
        if bid.lot == line.lot and t.cents <= line.max_cents and bid.supplier not in line.excluded:
            most = max(most, t.hi)
    for p in prep.packages:
        for it in p.items:
            if it.lot == line.lot and it.cents <= line.max_cents and p.supplier not in line.excluded:
                most = max(most, it.quantity)
    return most


def unserved_reasons(
    inst: Instance, prep: Prepared, sol: Solution, sched: deliveries.Schedule | None = None
) -> dict[int, str]:
    """Why each line that is not fully served stays (partly) unserved, derived from the rules."""
    room = (
        deliveries.room_left(inst, deliveries.used(inst, sched)) if sched is not None and any(inst.quarterly) else None
    )
    served = [0] * len(inst.lines)
    cap_left = list(inst.capacity)
    in_lot: dict[tuple[int, int], int] = {}
    winners: dict[int, set[int]] = {}
    for bi, alloc in sol.bids.items():
        q = sum(alloc.values())
        if not q:
            continue
        bid = inst.bids[bi]
        cap_left[bid.supplier] -= q
        in_lot[bid.supplier, bid.lot] = in_lot.get((bid.supplier, bid.lot), 0) + q
        winners.setdefault(bid.lot, set()).add(bid.supplier)
        for li, v in alloc.items():
            served[li] += v
    for pi, items in sol.packages.items():
        pkg = inst.packages[pi]
        for item, alloc in zip(pkg.items, items, strict=True):
            cap_left[pkg.supplier] -= item.quantity
            in_lot[pkg.supplier, item.lot] = in_lot.get((pkg.supplier, item.lot), 0) + item.quantity
            winners.setdefault(item.lot, set()).add(pkg.supplier)
            for li, v in alloc.items():
                served[li] += v

    # For each line: prices offered (any tier or item of its lot) and reachable offers.
    offered: dict[int, list[tuple[int, int]]] = {}  # lot -> (supplier, cents) of every tier and item
    for bid in inst.bids:
        for t in bid.tiers:
            offered.setdefault(bid.lot, []).append((bid.supplier, t.cents))
    for pkg in inst.packages:
        for item in pkg.items:
            offered.setdefault(item.lot, []).append((pkg.supplier, item.cents))
    reachable: dict[int, set[int]] = {}  # line -> suppliers with a reachable option on it
    # (line, supplier) -> the quarters of its sources reaching the line (None: any)
    offered_in: dict[tuple[int, int], set[frozenset[int] | None]] = {}
    for opt in prep.tiers:
        bid = inst.bids[opt.bid]
        for li in opt.lines:
            reachable.setdefault(li, set()).add(bid.supplier)
            if room is not None:
                offered_in.setdefault((li, bid.supplier), set()).add(bid.quarters)
    for p in prep.packages:
        pq = inst.packages[p.package].quarters
        for it in p.items:
            for li in it.lines:
                reachable.setdefault(li, set()).add(p.supplier)
                if room is not None:
                    offered_in.setdefault((li, p.supplier), set()).add(pq)

    def quarters_of(li: int, s: int) -> set[int]:
        return {q for qs in offered_in[li, s] for q in inst.quarters_for(li, s, qs)}

    reasons: dict[int, str] = {}
    for li, line in enumerate(inst.lines):
        missing = line.quantity - served[li]
        if missing <= 0:
            continue
        offers = offered.get(line.lot, [])
        affordable = {s for s, c in offers if c <= line.max_cents}
        if not offers:
            reasons[li] = "no bid or package on its lot"
        elif not affordable:
            reasons[li] = "no bid within the line's maximum unit price"
        elif affordable <= line.excluded:
            reasons[li] = "every affordable supplier is excluded from the line"
        elif li not in reachable and inst.whole and 0 < _most_whole(inst, prep, li) < line.quantity:
            reasons[li] = "larger than any bid or package may take whole (capacity, share cap or bid range)"
        elif li not in reachable:
            reasons[li] = (
                "no bid or package can serve it within its maximum unit price"
                " (tier minimums or package quantities out of reach)"
            )
        else:
            lot = inst.lots[line.lot]
            why = set()
            need = missing if not inst.whole else line.quantity
            for s in sorted(reachable[li]):
                won = winners.get(line.lot, set())
                if inst.max_winners is not None and s not in won and len(won) >= inst.max_winners:
                    why.add("winner limit reached in its lot")
                elif cap_left[s] < need:
                    why.add("capacity taken by cheaper lines")
                elif room is not None and (full := _full_quarters(inst, room, s, line.lot, quarters_of(li, s), need)):
                    why.update(full)
                elif lot.share_cap - in_lot.get((s, line.lot), 0) < need:
                    why.add("supplier's share cap reached in its lot")
                else:
                    why.add("serving it would lose vehicles or raise the price elsewhere")
            reasons[li] = "; ".join(sorted(why))
    return reasons


def _full_quarters(
    inst: Instance, room: list[dict[deliveries.CapKey, int]], s: int, lot: int, quarters: set[int], need: int
) -> list[str]:
    """When the supplier's quarterly capacities left in the quarters it could deliver the line in
    cannot take `need` vehicles: each such quarter whose capacity is used up, named."""
    left = {q: min([need, *(room[s][ck] for ck in deliveries.caps_on(inst, s, lot, q))]) for q in quarters}
    if sum(left.values()) >= need:
        return []
    out = []
    for q in sorted(quarters):
        for ck in deliveries.caps_on(inst, s, lot, q):
            if room[s][ck] <= 0:
                seg = f" {ck[1]}" if ck[1] is not None else ""
                out.append(f"{inst.suppliers[s]}'s{seg} capacity for {format_quarter(q)} is used up")
    return out or [f"{inst.suppliers[s]}'s quarterly capacities in the line's quarters are too small for it"]


def to_output(
    inst: Instance,
    prep: Prepared,
    sol: Solution,
    *,
    status: str,
    bound_quantity: int,
    bound_cents: int,
    seconds: float,
    search: str,
    tie_break: dict[str, Any] | None = None,
    limits: dict[str, Any] | None = None,
    early_delivery: dict[str, Any] | None = None,
) -> dict[str, Any]:
    vehicles, cents = objective(inst, sol)
    rows: list[tuple[str, int, dict[str, Any]]] = []
    sched = deliveries.schedule(inst, sol) if inst.with_quarters else None
    assert sched is not None or not inst.with_quarters, "an award that cannot be delivered"

    def allocations(alloc: dict[int, int], key0: tuple[int, int, int] = (0, 0, 0)) -> list[dict[str, Any]]:
        out = []
        for li, q in sorted(alloc.items(), key=lambda kv: inst.lines[kv[0]].id):
            if q <= 0:
                continue
            row: dict[str, Any] = {"demand": inst.lines[li].id, "quantity": q}
            if sched is not None:
                row["deliveries"] = [
                    {"quarter": format_quarter(qu), "quantity": n} for qu, n in sched[(*key0, li)].items()
                ]
            out.append(row)
        return out

    for bi, alloc in sol.bids.items():
        q = sum(alloc.values())
        if not q:
            continue
        bid = inst.bids[bi]
        row = {
            "source": bid.id,
            "supplier": inst.suppliers[bid.supplier],
            "lot": inst.lots[bid.lot].id,
            "quantity": q,
            "unit_price": from_cents(bid.tiers[bid.tier_at(q)].cents),
            "allocations": allocations(alloc, (0, bi, 0)),
        }
        rows.append((bid.id, bid.lot, row))
    for pi, items in sol.packages.items():
        pkg = inst.packages[pi]
        for ii, (item, alloc) in enumerate(zip(pkg.items, items, strict=True)):
            row = {
                "source": pkg.id,
                "supplier": inst.suppliers[pkg.supplier],
                "lot": inst.lots[item.lot].id,
                "quantity": item.quantity,
                "unit_price": from_cents(item.cents),
                "allocations": allocations(alloc, (1, pi, ii)),
            }
            rows.append((pkg.id, item.lot, row))
    rows.sort(key=lambda r: (r[0], inst.lots[r[1]].id))

    reasons = unserved_reasons(inst, prep, sol, sched)
    served = [0] * len(inst.lines)
    for alloc in sol.bids.values():
        for li, q in alloc.items():
            served[li] += q
    for items in sol.packages.values():
        for alloc in items:
            for li, q in alloc.items():
                served[li] += q
    unserved = [
        {"demand": inst.lines[li].id, "quantity": inst.lines[li].quantity - served[li], "reason": reasons[li]}
        for li in sorted(reasons, key=lambda li: inst.lines[li].id)
    ]
    return {
        "status": status,
        "awarded_quantity": vehicles,
        "total_price": from_cents(cents),
        "awards": [r[2] for r in rows],
        "unserved": unserved,
        "stats": {
            "solve_seconds": round(seconds, 3),
            "bound_quantity": bound_quantity,
            "bound_price": from_cents(bound_cents),
            "total_demand": inst.total_demand,
            "search": search,
            **({"tie_break": tie_break} if tie_break is not None else {}),
            **({"early_delivery": early_delivery} if early_delivery is not None else {}),
            **({"limits": limits} if limits is not None else {}),
        },
    }
