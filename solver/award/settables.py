"""f(lot, S) for every set S of a lot's packages at once (solver.award.vehmaster's tables): one
DP per lot with the package set as a dimension, instead of one solver.award.lotdp solve per set.

The lot's rules are lotdp's (each line to one source, one tier per bid, per supplier at most
min(share cap, capacity) vehicles in the lot, at most max_winners suppliers). A supplier's array
over line masks depends on S only through its own packages in S (taken whole, each forced: no
empty option), so per supplier one array per distinct subset of its packages; the suppliers
without packages in any set are combined once; then, supplier by supplier, the winner layers are
carried for each distinct prefix of the sets' choices (a trie, batched in numpy: rows = prefixes),
so the arithmetic of the suppliers the sets share is done once. Each set's value is the least
cents - per x vehicles (per above the lot's cents): the most vehicles, then the least cents,
exactly lotdp's with the set forced (equal on every lot of the benchmark's rounds; the test
compares them). Integer arithmetic, no work limit and no clock but vehsets.tick's safety cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from solver.award.instance import Instance
from solver.award.vehsets import tick

if TYPE_CHECKING:
    from solver.award.lagrange import LotPart
    from solver.award.lotdp import Arr

Table = dict[tuple[int, ...], tuple[int, int]]  # package indices (in the lot's part) -> (most vehicles, least cents)


def _combine(f: Arr, g: Arr, n: int) -> Arr:
    """Row by row (g: one row or as many as f) h[r, m] = min over disjoint a | b = m of f[r, a] + g[r, b]."""
    from solver.award.lotdp import INF, _pairs

    a, b, starts = _pairs(n)
    out: Arr = np.minimum.reduceat(f[:, a] + g[:, b], starts, axis=1)
    return np.minimum(out, INF)


def set_table(inst: Instance, part: LotPart, lot_sets: list[tuple[int, ...]]) -> Table | None:
    """f(lot, S) and its least cents for every set S in `lot_sets` that can be taken whole (the
    others left out, as vehmaster._table leaves them); None where lotdp does not apply."""
    from solver.award.lagrange import Multipliers
    from solver.award.lotdp import INF, MAX_COST, MAX_LINES, _static, combine

    n = len(inst.lots[part.lot].lines)
    if not inst.whole or inst.with_quarters or n > MAX_LINES:
        return None
    # per vehicle more than the lot can cost: the least value is the most vehicles, then the least cents
    per = 1 + sum(inst.lines[li].quantity * inst.lines[li].max_cents for li in inst.lots[part.lot].lines)
    lot = _static(inst, part, Multipliers("price", {}, per, {}))
    forced: dict[int, Arr] = {}  # package -> its copy's cost where its items fit, INF elsewhere (and on 0)
    total = lot.total
    for p, cost, fits in lot.packages:
        forced[p.package] = np.where(fits < INF, np.int64(cost), INF)
        total += abs(cost)
    if total >= MAX_COST:
        return None
    bids: dict[int, Arr] = {}
    for s, arr in lot.bids:
        bids[s] = combine(bids[s], arr, n) if s in bids else arr
    room = {s: min(inst.lots[part.lot].share_cap, inst.capacity[s]) for s in range(len(inst.capacity))}
    pk = part.packages
    with_packages = sorted({pk[i].supplier for chosen in lot_sets for i in chosen})

    def supplier_row(s: int, chosen: tuple[int, ...]) -> Arr | None:
        acc = bids.get(s)
        for i in chosen:
            arr = forced.get(pk[i].package)
            if arr is None:
                return None  # (its items fit nowhere: the set cannot be taken)
            acc = arr if acc is None else combine(acc, arr, n)
        if acc is None:  # (nothing of its own here: it serves nothing)
            return np.full(1 << n, INF, dtype=np.int64)
        acc = np.where(lot.qty <= room[s], acc, INF)
        acc[0] = INF  # a winner serves something
        return acc

    most = inst.max_winners
    width = 1 if most is None else min(most, len(bids.keys() | set(with_packages))) + 1
    alive = np.ones(len(lot_sets), dtype=bool)

    def step(layers: Arr, acc: Arr, must: npt.NDArray[np.bool_]) -> Arr:
        """The winner layers (rows, width, masks) after one more supplier (acc: its array per
        row): on the rows of `must` it wins (packages of its own are forced), elsewhere it may."""
        out = np.empty_like(layers)
        if most is None:
            took = _combine(layers[:, 0], acc, n)
            out[:, 0] = np.where(must[:, None], took, np.minimum(layers[:, 0], took))
            return out
        out[:, 0] = np.where(must[:, None], INF, layers[:, 0])
        for k in range(1, width):
            took = _combine(layers[:, k - 1], acc, n)
            out[:, k] = np.where(must[:, None], took, np.minimum(layers[:, k], took))
        return out

    def half(suppliers: list[int]) -> tuple[Arr, npt.NDArray[np.intp]]:
        """The winner layers of `suppliers` alone, one row per distinct choice of their packages
        among the sets (a trie, built supplier by supplier), and each set's row."""
        layers = np.full((1, width, 1 << n), INF, dtype=np.int64)
        layers[0, 0, 0] = 0
        row_of = np.zeros(len(lot_sets), dtype=np.intp)
        for s in suppliers:
            tick()
            mine = [tuple(i for i in chosen if pk[i].supplier == s) for chosen in lot_sets]
            subsets = sorted(set(mine))
            index = {t: j for j, t in enumerate(subsets)}
            rows = [supplier_row(s, t) for t in subsets]
            which = np.array([index[t] for t in mine], dtype=np.intp)
            alive[:] &= np.array([r is not None for r in rows])[which]
            arrs = np.stack([np.full(1 << n, INF, dtype=np.int64) if r is None else r for r in rows])
            pairs, inverse = np.unique(np.stack([row_of, which], axis=1), axis=0, return_inverse=True)
            must = np.array([len(subsets[j]) > 0 for j in pairs[:, 1]])
            active = must | (arrs[pairs[:, 1]] < INF).any(axis=1)  # (a supplier with nothing here: no change)
            layers = layers[pairs[:, 0]]
            if active.any():
                layers[active] = step(layers[active], arrs[pairs[active, 1]], must[active])
            row_of = inverse.reshape(-1)
        return layers, row_of

    # the suppliers in two halves joined at the end (a join costs 2^n per mask, a step 3^n): those
    # without packages in the sets first, the others by their count of distinct choices, each to the
    # half with fewer choices so far
    count = {s: len({tuple(i for i in chosen if pk[i].supplier == s) for chosen in lot_sets}) for s in with_packages}
    first = sorted(bids.keys() - set(with_packages))
    second: list[int] = []
    size = [1, 1]
    for s in sorted(with_packages, key=lambda s: (-count[s], s)):
        side = 0 if size[0] <= size[1] else 1
        (first if side == 0 else second).append(s)
        size[side] *= count[s]
    one, row_one = half(first)
    two, row_two = half(second)
    # per set: min over k2 winners and masks b of two[k2][b] + (least of one at most width-1-k2
    # winners on any subset of the other lines)
    low = np.minimum.accumulate(one, axis=1)
    for i in range(n):
        view = low.reshape(len(low), width, 1 << (n - 1 - i), 2, 1 << i)
        view[:, :, :, 1, :] = np.minimum(view[:, :, :, 1, :], view[:, :, :, 0, :])
    other = ((1 << n) - 1) ^ np.arange(1 << n)
    pairs, inverse = np.unique(np.stack([row_one, row_two], axis=1), axis=0, return_inverse=True)
    best = (two[pairs[:, 1]] + low[pairs[:, 0]][:, ::-1][:, :, other]).min(axis=(1, 2))[inverse.reshape(-1)]
    tab: Table = {}
    for j, chosen in enumerate(lot_sets):
        value = int(best[j])
        if alive[j] and value < INF // 2:  # (INF plus costs that cannot sum below -MAX_COST: no way)
            tab[chosen] = (-(value // per), value % per)
    return tab
