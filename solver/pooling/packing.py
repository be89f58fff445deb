"""Component solutions in the aggregate form, and packing one slot's members into lots.

The models decide, per slot, how many items of each class it takes and how many lots it
holds; all three objectives depend only on that. Packing then splits a slot's members into
its lots, each within [min, max]: splittable vehicles fill what whole lines leave. Packing
is deterministic (items in class order) and returns None when its heuristics find no
packing; the caller then falls back to a model with explicit lots.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from solver.pooling.components import Component

Bin = dict[int, int]  # class index -> items (lines, or vehicles if splittable)


@dataclass
class Assignment:
    """x[(class, slot)] items of the class in the slot; n[slot] lots there; bins once packed."""

    x: dict[tuple[int, int], int] = field(default_factory=dict)
    n: dict[int, int] = field(default_factory=dict)
    bins: dict[int, list[Bin]] | None = None

    def objective(self, comp: Component) -> tuple[int, int, int]:
        level, classes = comp.level, comp.classes
        pooled = spread = 0
        for key, v in self.x.items():
            q = classes[key[0]].unit * v
            pooled += q
            spread += q * level[key]
        return pooled, sum(self.n.values()), spread

    def by_slot(self) -> dict[int, dict[int, int]]:
        out: dict[int, dict[int, int]] = {}
        for (ci, si), v in sorted(self.x.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            if v:
                out.setdefault(si, {})[ci] = v
        return out


def _try(comp: Component, amounts: dict[int, int], n: int, lo: int, hi: int, lpt: bool) -> list[Bin] | None:
    items = []  # (size, class) for whole lines, largest first
    split: list[tuple[int, int]] = []
    for ci in sorted(amounts):
        k = comp.classes[ci]
        if k.splittable:
            split.append((ci, amounts[ci]))
        else:
            items.extend([(k.unit, ci)] * amounts[ci])
    items.sort(key=lambda t: (-t[0], t[1]))
    load = [0] * n
    bins: list[Bin] = [{} for _ in range(n)]
    if lpt:
        heap = [(0, j) for j in range(n)]
        for size, ci in items:
            ld, j = heapq.heappop(heap)
            if ld + size > hi:
                return None
            load[j] = ld + size
            bins[j][ci] = bins[j].get(ci, 0) + 1
            heapq.heappush(heap, (load[j], j))
    else:  # first fit decreasing
        for size, ci in items:
            for j in range(n):
                if load[j] + size <= hi:
                    load[j] += size
                    bins[j][ci] = bins[j].get(ci, 0) + 1
                    break
            else:
                return None
    free = sum(v for _, v in split)
    need = [max(0, lo - ld) for ld in load]
    if sum(need) > free or sum(hi - ld for ld in load) < free:
        return None
    give = need[:]
    extra = free - sum(need)
    for j in range(n):  # pour the rest into the first bins with room: fewer split pieces
        more = min(extra, hi - load[j] - give[j])
        give[j] += more
        extra -= more
    it = iter(split)
    ci, left = -1, 0  # the first piece is drawn below
    for j in range(n):
        g = give[j]
        while g:
            while left == 0:
                ci, left = next(it)
            take = min(g, left)
            bins[j][ci] = bins[j].get(ci, 0) + take
            g -= take
            left -= take
    if any(not b for b in bins):
        return None
    return bins


def pack(comp: Component, amounts: dict[int, int], n: int, lo: int, hi: int) -> list[Bin] | None:
    """Split a slot's members into exactly n lots within [lo, hi], or None if the heuristics fail."""
    total = sum(comp.classes[ci].unit * v for ci, v in amounts.items())
    if n <= 0 or not n * lo <= total <= n * hi:
        return None
    if n == 1:
        return [dict(sorted(amounts.items()))]
    return _try(comp, amounts, n, lo, hi, lpt=True) or _try(comp, amounts, n, lo, hi, lpt=False)


def pack_any(comp: Component, amounts: dict[int, int], lo: int, hi: int) -> list[Bin] | None:
    """Pack into the fewest lots the heuristics manage."""
    total = sum(comp.classes[ci].unit * v for ci, v in amounts.items())
    first = max(1, -(-total // hi))
    for n in range(first, min(total // lo, first + 3) + 1):
        bins = pack(comp, amounts, n, lo, hi)
        if bins is not None:
            return bins
    return None


def pack_all(comp: Component, a: Assignment, lo: int, hi: int) -> bool:
    """Pack every slot of an aggregate assignment; False if some slot cannot be packed."""
    bins: dict[int, list[Bin]] = {}
    for si, amounts in a.by_slot().items():
        b = pack(comp, amounts, a.n.get(si, 0), lo, hi)
        if b is None:
            return False
        bins[si] = b
    a.bins = bins
    return True
