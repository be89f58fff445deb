"""The sets of a lot's packages that can be chosen together (solver.award.vehmaster's tables are
per lot and per such set), listed without a DP: a winner place per supplier, each supplier within
its room in the lot, their items on disjoint lines. And the clock's safety cap on the listing and
the tables (a round too large for its time limit gets no program, the search as before)."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.prep import ItemOpt, PackageOpt

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


def _can_take(fits: list[list[int]], chosen: list[int]) -> bool:
    """Whether the packages `chosen` (indices into fits) can take disjoint line masks."""

    def go(i: int, used: int) -> bool:
        if i == len(chosen):
            return True
        return any(not m & used and go(i + 1, used | m) for m in fits[chosen[i]])

    return go(0, 0)


def _together(
    inst: Instance, pk: list[PackageOpt], qty: list[int], room: dict[int, int], fits: list[list[int]], chosen: list[int]
) -> bool:
    """Whether the packages `chosen` (indices into pk) can be chosen together in the lot: a winner
    place per supplier, each supplier within its room there, their items on disjoint lines."""
    per: dict[int, int] = {}
    for i in chosen:
        per[pk[i].supplier] = per.get(pk[i].supplier, 0) + qty[i]
    if inst.max_winners is not None and len(per) > inst.max_winners:
        return False
    return all(v <= room[s] for s, v in per.items()) and _can_take(fits, chosen)


def package_sets(inst: Instance, part: LotPart) -> list[tuple[int, ...]]:
    """Every set of the lot's packages (indices into part.packages) that can be chosen together."""
    lot_obj = inst.lots[part.lot]
    pk = part.packages
    fits = [_fit_masks(inst, part.lot, p.items) for p in pk]
    qty = [sum(it.quantity for it in p.items) for p in pk]
    room = {s: min(lot_obj.share_cap, inst.capacity[s]) for s in {p.supplier for p in pk}}
    out: list[tuple[int, ...]] = []
    stack: list[tuple[int, ...]] = [()]
    while stack:
        tick()
        chosen = stack.pop()
        out.append(chosen)
        start = chosen[-1] + 1 if chosen else 0
        for j in range(len(pk) - 1, start - 1, -1):
            if _together(inst, pk, qty, room, fits, [*chosen, j]):
                stack.append((*chosen, j))
    return out
