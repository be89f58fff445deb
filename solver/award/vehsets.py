"""The sets of a lot's packages that can be chosen together (solver.award.vehmaster's tables are
per lot and per such set), listed without a DP: a winner place per supplier, each supplier within
its room in the lot, their items on disjoint lines. And the clock's safety cap on the listing and
the tables (a round too large for its time limit gets no program, the search as before)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.prep import ItemOpt

if TYPE_CHECKING:
    from solver.award.lagrange import LotPart

CLOCK = [math.inf]  # vehmaster.most_vehicles' deadline: only a safety cap (25,000 bids on 10 s), never a budget


class OutOfTime(Exception):
    """The clock ran out while listing sets or building tables: no program this round."""


def tick() -> None:
    if time.monotonic() >= CLOCK[0]:
        raise OutOfTime


def _fit_masks(inst: Instance, lot: int, items: tuple[ItemOpt, ...]) -> list[int]:
    """The line masks of `lot` (bit i: its i-th line) the package's items there can take whole."""
    from itertools import combinations

    lines = inst.lots[lot].lines
    bit = {li: 1 << i for i, li in enumerate(lines)}
    out = [0]
    for it in items:
        allowed = [li for li in it.lines if li in bit]
        masks = []
        for r in range(1, len(allowed) + 1):
            for combo in combinations(allowed, r):
                if sum(inst.lines[li].quantity for li in combo) == it.quantity:
                    masks.append(sum(bit[li] for li in combo))
        out = [a | b for a in out for b in masks if not a & b]
    return sorted(set(out))


def package_sets(inst: Instance, part: LotPart) -> list[tuple[int, ...]]:
    """Every set of the lot's packages (indices into part.packages) that can be chosen together: a
    winner place per supplier, each supplier within its room in the lot, their items on disjoint
    lines. Depth first, each set with the line masks its packages can take together (extending a
    set only needs those, not a new search over its packages' placements)."""
    lot_obj = inst.lots[part.lot]
    pk = part.packages
    fits = [_fit_masks(inst, part.lot, p.items) for p in pk]
    qty = [sum(it.quantity for it in p.items) for p in pk]
    room = {s: min(lot_obj.share_cap, inst.capacity[s]) for s in {p.supplier for p in pk}}
    most = math.inf if inst.max_winners is None else inst.max_winners
    out: list[tuple[int, ...]] = []
    # (the set, the masks its packages take together, its vehicles per supplier)
    stack: list[tuple[tuple[int, ...], set[int], dict[int, int]]] = [((), {0}, {})]
    while stack:
        tick()
        chosen, taken, per = stack.pop()
        out.append(chosen)
        start = chosen[-1] + 1 if chosen else 0
        for j in range(len(pk) - 1, start - 1, -1):
            s = pk[j].supplier
            vehicles = per.get(s, 0) + qty[j]
            if vehicles > room[s] or (s not in per and len(per) >= most):
                continue
            more = {u | m for u in taken for m in fits[j] if not u & m}
            if more:
                stack.append(((*chosen, j), more, {**per, s: vehicles}))
    return out
