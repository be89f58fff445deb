"""The constructive start: a fast greedy pooling, the fallback when no model finishes.

Repeatedly open the slot with the most compatible demand still unpooled (ties: lower
spread, then slot order), put all of that demand into it as the fewest lots that pack, and
update the other slots' remaining demand. Linear-ish in the number of (class, slot) pairs.
"""

from __future__ import annotations

import heapq

from solver.pooling.components import Component
from solver.pooling.packing import Assignment, pack_any


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
        for ci, v in amounts.items():
            a.x[(ci, si)] = v
            rem[ci] = 0
            q = classes[ci].unit * v
            for sj, lev in classes[ci].slots:
                if not dead[sj]:
                    left[sj] -= q
                    spread[sj] -= q * lev
                    heapq.heappush(heap, (-left[sj], spread[sj], sj))
    return a
