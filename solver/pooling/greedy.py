"""The constructive start: a fast greedy pooling, the fallback when no model finishes.

Repeatedly open the slot with the most compatible demand still unpooled (ties: lower
spread, then slot order), put all of that demand into it as the fewest lots that pack, and
update the other slots' remaining demand. Linear-ish in the number of (class, slot) pairs.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

from solver.pooling.components import Component
from solver.pooling.packing import Assignment, pack, pack_any


def greedy(comp: Component, lo: int, hi: int) -> Assignment:
    classes, slots = comp.classes, comp.slots
    rem = [k.cap for k in classes]
    left = [s.total for s in slots]
    spread = [sum(classes[ci].quantity * lev for ci, lev in s.members) for s in slots]
    heap = [(-left[si], spread[si], si) for si in range(len(slots))]
    heapq.heapify(heap)
    dead = [False] * len(slots)
    a = Assignment(bins={})
    while heap:
        neg, _, si = heapq.heappop(heap)
        if dead[si] or -neg != left[si]:
            continue  # stale entry
        if left[si] < lo:
            break
        amounts = {ci: rem[ci] for ci, _ in slots[si].members if rem[ci]}
        bins = pack_any(comp, amounts, lo, hi)
        dead[si] = True
        if bins is None:
            continue
        a.n[si] = len(bins)
        a.bins[si] = bins  # type: ignore[index]
        touched = set()
        for ci, v in amounts.items():
            a.x[(ci, si)] = v
            rem[ci] = 0
            q = classes[ci].unit * v
            for sj, lev in classes[ci].slots:
                if not dead[sj]:
                    left[sj] -= q
                    spread[sj] -= q * lev
                    touched.add(sj)
        # One entry per changed slot, once all its members are counted (the older entries are
        # stale: `left` only falls); a slot now below the minimum can never open.
        for sj in touched:
            if left[sj] >= lo:
                heapq.heappush(heap, (-left[sj], spread[sj], sj))
    _repair(comp, a, rem, lo, hi)
    return a


def _repair(comp: Component, a: Assignment, rem: list[int], lo: int, hi: int) -> None:
    """Open more lots for demand the greedy stranded: a slot whose unpooled demand is below the
    minimum borrows members from open lots that stay at or above the minimum without them.
    Each success pools more vehicles for one more lot; every changed slot is re-packed."""
    classes, slots = comp.classes, comp.slots
    assert a.bins is not None
    load: dict[int, int] = defaultdict(int)
    where: dict[int, dict[int, int]] = defaultdict(dict)  # class -> slot -> items
    inside: dict[int, dict[int, int]] = defaultdict(dict)  # slot -> class -> items
    for (ci, si), v in a.x.items():
        load[si] += classes[ci].unit * v
        where[ci][si] = v
        inside[si][ci] = v
    avail = {si: sum(classes[ci].unit * rem[ci] for ci, _ in s.members) for si, s in enumerate(slots) if si not in a.n}
    for si in sorted(avail, key=lambda s: (-avail[s], s)):
        mine = {ci: rem[ci] for ci, _ in slots[si].members if rem[ci]}
        have = sum(classes[ci].unit * v for ci, v in mine.items())
        if have == 0:
            continue
        need = lo - have
        taken: dict[int, dict[int, int]] = defaultdict(dict)  # donor slot -> class -> items
        less: dict[int, int] = defaultdict(int)  # donor slot -> vehicles taken
        for ci, _ in slots[si].members:
            if need <= 0:
                break
            unit = classes[ci].unit
            for sj, v in sorted(where[ci].items()):
                if need <= 0:
                    break
                slack = load[sj] - less[sj] - lo * a.n[sj]
                k = min(v - taken[sj].get(ci, 0), slack // unit, -(-need // unit))
                if k > 0:
                    taken[sj][ci] = taken[sj].get(ci, 0) + k
                    less[sj] += k * unit
                    need -= k * unit
        if need > 0:
            continue
        amounts = dict(mine)
        for moved in taken.values():
            for ci, k in moved.items():
                amounts[ci] = amounts.get(ci, 0) + k
        bins = pack_any(comp, amounts, lo, hi)
        if bins is None:
            continue
        donors = {}
        for sj, moved in taken.items():
            rest = {ci: v - moved.get(ci, 0) for ci, v in inside[sj].items()}
            rest = {ci: v for ci, v in rest.items() if v}
            donors[sj] = pack(comp, rest, a.n[sj], lo, hi)
            if donors[sj] is None:
                break
        else:
            for sj, moved in taken.items():
                for ci, k in moved.items():
                    a.x[(ci, sj)] -= k
                    where[ci][sj] -= k
                    inside[sj][ci] -= k
                    if not a.x[(ci, sj)]:
                        del a.x[(ci, sj)]
                        del where[ci][sj]
                        del inside[sj][ci]
                load[sj] -= less[sj]
                a.bins[sj] = donors[sj]  # type: ignore[assignment]
            for ci, v in amounts.items():
                a.x[(ci, si)] = v
                where[ci][si] = v
                inside[si][ci] = v
                rem[ci] -= mine.get(ci, 0)
            load[si] = sum(classes[ci].unit * v for ci, v in amounts.items())
            a.n[si] = len(bins)
            a.bins[si] = bins
