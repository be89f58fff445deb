"""The allocation of a lot's lexicographic best (solver.award.lotlex): the way back through the
program's layers, each supplier's groups (bids, forced package copies) and a copy's items, and the
lots' bests put together as one award."""

from __future__ import annotations

from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.solution import Solution

if TYPE_CHECKING:
    from solver.award.lotlex import Arr, LotBest, LotStatic, _Supplier


def _key(x: Arr, m: int) -> tuple[int, ...]:
    return tuple(int(y) for y in x[:, m])


def _add(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def way_back(
    st: LotStatic, suppliers: list[_Supplier], history: list[list[Arr]], at: tuple[int, int], out: LotBest
) -> None:
    """The allocation of the best reached back from (k winners, mask m) = `at` into `out`."""
    k, m = at
    v: tuple[int, ...] = (-out.vehicles * st.per + out.cents, out.t) if st.per else (-out.vehicles, out.cents, out.t)
    unlimited = st.unlimited
    for j in range(len(suppliers) - 1, -1, -1):
        before = history[j]
        acc, must, steps = suppliers[j]
        if not must and _key(before[k], m) == v:
            continue  # supplier j serves nothing here
        src = 0 if unlimited else k - 1
        a = m
        while a:  # the nonempty submasks of m supplier j may serve
            if _add(_key(before[src], m ^ a), _key(acc, a)) == v:
                break
            a = (a - 1) & m
        assert a, (m, v)
        _mark(st, steps, a, _key(acc, a), out)
        m, k, v = m ^ a, src, _key(before[src], m ^ a)
    assert m == 0 and not any(v), (m, v)


def _mark(st: LotStatic, steps: list[tuple[int, int, Arr, Arr]], m: int, v: tuple[int, ...], out: LotBest) -> None:
    """Within one supplier: the groups that make its keys v on mask m, and their lines."""
    for kind, idx, before, arr in reversed(steps):
        b = m
        while True:  # the largest submask first, none (b = 0) last
            if _add(_key(before, m ^ b), _key(arr, b)) == v:
                break
            assert b, (m, v)
            b = (b - 1) & m
        if b:
            if kind == 0:
                out.bids[st.bids[idx][1]] = {li: int(st.qty[1 << i]) for i, li in enumerate(st.lines) if b >> i & 1}
            else:
                opt = st.options[idx]
                out.packages[opt.package] = _items(st, idx, b)
        m, v = m ^ b, _key(before, m ^ b)
    assert m == 0 and not any(v), (m, v)


def _items(st: LotStatic, idx: int, b: int) -> dict[int, dict[int, int]]:
    """A package copy's lines on mask b split over its items (the first split in mask order)."""
    opt, per_item = st.options[idx], st.fits[idx]

    def go(i: int, left: int) -> list[int] | None:
        if i == len(per_item):
            return [] if left == 0 else None
        for mm in per_item[i]:
            if mm & left == mm:
                rest = go(i + 1, left ^ mm)
                if rest is not None:
                    return [mm, *rest]
        return None

    split = go(0, b)
    assert split is not None
    return {
        it.item: {li: int(st.qty[1 << i]) for i, li in enumerate(st.lines) if mm >> i & 1}
        for it, mm in zip(opt.items, split, strict=True)
    }


def to_solution(inst: Instance, bests: list[LotBest]) -> Solution:
    """The award of the lots' bests together (each package's items from the lots that hold them)."""
    sol = Solution()
    for lb in bests:
        for bi, alloc in lb.bids.items():
            sol.bids[bi] = dict(alloc)
        for pi, items in lb.packages.items():
            have = sol.packages.setdefault(pi, [{} for _ in inst.packages[pi].items])
            for ii, alloc in items.items():
                have[ii].update(alloc)
    return sol
