"""f(lot, S) for every set S of a lot's packages at once (solver.award.vehmaster's tables): one
DP per lot with the package set as a dimension, instead of one solver.award.lotdp solve per set.

The lot's rules are lotdp's (each line to one source, one tier per bid, per supplier at most
min(share cap, capacity) vehicles in the lot, at most max_winners suppliers). A supplier's array
over line masks depends on S only through its own packages in S (taken whole, each forced: no
empty option), so per supplier one array per distinct subset of its packages; the suppliers
without packages in any set are combined once; then, supplier by supplier, the winner layers are
carried for each distinct prefix of the sets' choices (a trie, batched in numpy: rows = prefixes),
so the arithmetic of the suppliers the sets share is done once. With a winner limit a row keeps
only the layers its sets can still use (from the forced suppliers counted to the limit less those
to come), and its top layer (the limit reached) only its least value: many-suppliers, 200 bids
(12,497 sets over 6 lots of up to 9 lines, most sets with three suppliers' packages): 7.7 -> 0.4 s
of CPU. Each set's value is the least cents - per x vehicles (per above the lot's cents): the most
vehicles, then the least cents, exactly lotdp's with the set forced (equal on every lot of the
benchmark's rounds; the test compares them). Integer arithmetic, no work limit and no clock but
vehsets.tick's safety cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from solver.award.instance import Instance
from solver.award.vehsets import tick

if TYPE_CHECKING:
    from solver.award.lagrange import LotPart
    from solver.award.lotdp import Arr

Table = dict[tuple[int, ...], tuple[int, int]]  # package indices (in the lot's part) -> (most vehicles, least cents)
# package indices -> (a supplier's most vehicles in the lot, (most vehicles, least cents)) by increasing k
UsageTable = dict[tuple[int, ...], list[tuple[int, tuple[int, int]]]]


# Pairs of masks per block of rows in _combine: its temporaries (~1 MB) are allocated once and
# stay in cache; one (rows, 3^n) temporary per call cost 5-10x more per pair (fresh pages each call).
BLOCK_PAIRS = 1 << 17


def _combine(f: Arr, g: Arr, n: int) -> Arr:
    """Row by row (g: one row or as many as f) h[r, m] = min over disjoint a | b = m of f[r, a] + g[r, b]."""
    from solver.award.lotdp import INF, _pairs

    a, b, starts = _pairs(n)
    out: Arr = np.empty_like(f)
    block = max(1, BLOCK_PAIRS // len(a))
    fa = np.empty((min(block, len(f)), len(a)), dtype=np.int64)
    gb = np.empty_like(fa)
    for i in range(0, len(f), block):
        rows = slice(i, min(i + block, len(f)))
        k = rows.stop - i
        g_rows = g if len(g) == 1 else g[rows]
        np.take(f[rows], a, axis=1, out=fa[:k])
        np.take(g_rows, b, axis=1, out=gb[: len(g_rows)])
        np.add(fa[:k], gb[: len(g_rows)], out=fa[:k])
        np.minimum.reduceat(fa[:k], starts, axis=1, out=out[rows])
    return np.minimum(out, INF, out=out)


def _subset_min(f: Arr, n: int) -> Arr:
    """h[..., m] = min over the subsets a of m of f[..., a] (over the last axis, 2^n masks)."""
    low = f.copy()
    for i in range(n):
        view = low.reshape(*low.shape[:-1], 1 << (n - 1 - i), 2, 1 << i)
        np.minimum(view[..., 1, :], view[..., 0, :], out=view[..., 1, :])
    return low


def _unique_pairs(
    x: npt.NDArray[np.intp], y: npt.NDArray[np.intp], y_size: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The distinct pairs (x[j], y[j]) in increasing order, and each j's index among them."""
    keys, inverse = np.unique(x * y_size + y, return_inverse=True)
    return np.stack(np.divmod(keys, y_size), axis=1), inverse.reshape(-1)


def set_table(inst: Instance, part: LotPart, lot_sets: list[tuple[int, ...]]) -> Table | None:
    """f(lot, S) and its least cents for every set S in `lot_sets` that can be taken whole (the
    others left out, as vehmaster._table leaves them); None where lotdp does not apply."""
    got = _values(inst, part, lot_sets, None)
    if got is None:
        return None
    values, per, _ = got
    tab: Table = {}
    for chosen, value in zip(lot_sets, values, strict=True):
        if value is not None:
            tab[chosen] = (-(value // per), value % per)
    return tab


def usage_table(inst: Instance, part: LotPart, lot_sets: list[tuple[int, ...]], supplier: int) -> UsageTable | None:
    """Per set S in `lot_sets`, f(lot, S) with at most k of `supplier`'s vehicles in the lot (its
    bids and its packages' items there), for each k where that best improves on every smaller k:
    (k, (most vehicles, least cents)) by increasing k (k = 0 first where the lot can do without it).
    The capacities across lots of solver.award.setcaps. None where lotdp does not apply, or where a
    winner limit of one would hide the supplier's lines (the DP keeps only the top layer's least)."""
    from solver.award.lotdp import INF

    got = _values(inst, part, lot_sets, supplier)
    if got is None:
        return None
    values, per, qty = got
    order = np.argsort(qty, kind="stable")
    out: UsageTable = {}
    for chosen, by_mask in zip(lot_sets, values, strict=True):
        if by_mask is None:
            continue
        steps: list[tuple[int, tuple[int, int]]] = []
        least = None
        for m in order:
            value = int(by_mask[m])
            if value >= INF // 2 or (least is not None and value >= least):
                continue
            least = value
            k = int(qty[m])
            if steps and steps[-1][0] == k:
                steps.pop()
            steps.append((k, (-(value // per), value % per)))
        if steps:
            out[chosen] = steps
    return out


def _values(
    inst: Instance, part: LotPart, lot_sets: list[tuple[int, ...]], alone: int | None
) -> tuple[list[Any], int, Arr] | None:
    """Per set, its least value (cents - per x vehicles), or None where it cannot be taken; with
    `alone` a supplier, per set an array over the line masks that supplier serves instead. And per,
    and the lot's vehicles per line mask."""
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
    if alone is not None and most is not None:
        # one layer more than the winners can reach where the limit allows: the top layer keeps only
        # its least value (at mask 0), and the supplier alone's layers must keep the lines it serves
        width = min(most, len(bids.keys() | set(with_packages)) + 1) + 1
        if width <= 2:
            return None  # (a limit of one winner)
    alive = np.ones(len(lot_sets), dtype=bool)

    # Per set, the winners its forced suppliers still need: layer k of a row (k winners so far) is
    # only of use to its sets up to width - 1 - (their forced suppliers not yet counted), and holds
    # nothing below the forced ones counted (its `lo`): steps compute only that window (exact: the
    # layers left out could only join into more than max_winners winners, as the join's INF shows).
    of_supplier: list[dict[int, tuple[int, ...]]] = []  # per set: supplier -> its packages in the set
    for chosen in lot_sets:
        own: dict[int, tuple[int, ...]] = {}
        for i in chosen:
            own[pk[i].supplier] = (*own.get(pk[i].supplier, ()), i)
        of_supplier.append(own)
    needs = np.array([len(own) for own in of_supplier], dtype=np.intp)

    def step(
        layers: Arr,
        acc: Arr,
        low_acc: Arr,
        must: npt.NDArray[np.bool_],
        lo: npt.NDArray[np.intp],
        hi: npt.NDArray[np.intp],
    ) -> Arr:
        """The winner layers (rows, width, masks) after one more supplier (acc: its array per
        row, low_acc: its _subset_min): on the rows of `must` it wins (packages of its own are
        forced), elsewhere it may; only layers lo..hi (per row, after the step) are computed, the
        others INF. The top layer (width - 1 winners) holds only its least value, at mask 0: no
        supplier joins it and the join pairs it with the other half's none (mask 0), so the
        step takes min over a of layer(a) + low_acc(~a), 2^n per row instead of a 3^n combine."""
        if most is None:
            out = np.empty_like(layers)
            took = _combine(layers[:, 0], acc, n)
            out[:, 0] = np.where(must[:, None], took, np.minimum(layers[:, 0], took))
            return out
        out = np.full_like(layers, INF)
        for k in range(width):
            window = (lo <= k) & (k <= hi)
            keep = window & ~must & (lo == k)  # (k winners already: it cannot add to them)
            out[keep, k] = layers[keep, k]
            take = window & (must | (lo < k))
            if k == 0 or not take.any():
                continue
            if k < width - 1:
                took = _combine(layers[take, k - 1], acc[take] if len(acc) > 1 else acc, n)
                out[take, k] = np.where(must[take, None], took, np.minimum(layers[take, k], took))
                continue
            least = np.minimum((layers[take, k - 1] + low_acc[take][:, ::-1]).min(axis=1), INF)
            out[take, k, 0] = np.where(must[take], least, np.minimum(layers[take, k, 0], least))
        return out

    def half(suppliers: list[int], others: npt.NDArray[np.intp]) -> tuple[Arr, npt.NDArray[np.intp]]:
        """The winner layers of `suppliers` alone, one row per distinct choice of their packages
        among the sets (a trie, built supplier by supplier), and each set's row. `others`: per
        set, its forced suppliers in the other half."""
        layers = np.full((1, width, 1 << n), INF, dtype=np.int64)
        layers[0, 0, 0] = 0
        row_of = np.zeros(len(lot_sets), dtype=np.intp)
        lo = np.zeros(1, dtype=np.intp)
        ahead = needs - others  # per set, its forced suppliers of this half not yet counted
        for s in suppliers:
            tick()
            mine = [own.get(s, ()) for own in of_supplier]
            subsets = sorted(set(mine))
            index = {t: j for j, t in enumerate(subsets)}
            rows = [supplier_row(s, t) for t in subsets]
            which = np.array([index[t] for t in mine], dtype=np.intp)
            alive[:] &= np.array([r is not None for r in rows])[which]
            arrs = np.stack([np.full(1 << n, INF, dtype=np.int64) if r is None else r for r in rows])
            low_arrs = _subset_min(arrs, n)
            pairs, row_of = _unique_pairs(row_of, which, len(subsets))
            must = np.array([len(subsets[j]) > 0 for j in pairs[:, 1]])
            ahead = ahead - np.array([len(t) > 0 for t in subsets])[which]
            hi = np.full(len(pairs), -1, dtype=np.intp)
            np.maximum.at(hi, row_of, width - 1 - ahead - others)
            lo = lo[pairs[:, 0]] + must
            active = must | (arrs[pairs[:, 1]] < INF).any(axis=1)  # (a supplier with nothing here: no change)
            layers = layers[pairs[:, 0]]
            if active.any():
                chosen = pairs[active, 1]
                got = step(layers[active], arrs[chosen], low_arrs[chosen], must[active], lo[active], hi[active])
                layers[active] = got
        return layers, row_of

    # the suppliers in two halves joined at the end (a join costs 2^n per mask, a step 3^n): those
    # without packages in the sets first, the others by their count of distinct choices, each to the
    # half with fewer choices so far
    count = {s: len({own.get(s, ()) for own in of_supplier}) for s in with_packages}
    first = sorted(bids.keys() - set(with_packages))
    second: list[int] = []
    size = [1, 1]
    for s in sorted(with_packages, key=lambda s: (-count[s], s)):
        side = 0 if size[0] <= size[1] else 1
        (first if side == 0 else second).append(s)
        size[side] *= count[s]
    if alone is not None:  # the supplier alone in the second half: the join keeps the lines it serves
        first = [s for s in first + second if s != alone]
        second = [alone]
    in_second = np.array([len(own.keys() & set(second)) for own in of_supplier], dtype=np.intp)
    one, row_one = half(first, in_second)
    two, row_two = half(second, needs - in_second)
    # per set: min over k2 winners and masks b of two[k2][b] + (least of one at most width-1-k2
    # winners on any subset of the other lines)
    low = _subset_min(np.minimum.accumulate(one, axis=1), n)
    low = low[:, ::-1, ::-1]  # (layer width-1-k2 on the lines other than b: mask ~b = 2^n-1-b)
    pairs, inverse = _unique_pairs(row_one, row_two, len(two))
    joined = np.empty((len(pairs), 1 << n) if alone is not None else len(pairs), dtype=np.int64)
    block = max(1, BLOCK_PAIRS // (width << n))
    for i in range(0, len(pairs), block):
        rows = slice(i, i + block)
        both = two[pairs[rows, 1]] + low[pairs[rows, 0]]
        joined[rows] = both.min(axis=1) if alone is not None else both.min(axis=(1, 2))
    best = joined[inverse]
    values: list[Any] = []
    for j in range(len(lot_sets)):
        if alone is not None:
            values.append(best[j] if alive[j] else None)
            continue
        value = int(best[j])
        # (INF plus costs that cannot sum below -MAX_COST: no way)
        values.append(value if alive[j] and value < INF // 2 else None)
    return values, per, lot.qty


def useful(parts: list[LotPart], tabs: list[Table], current: set[int]) -> list[Table]:
    """Each lot's table without the sets that are in no optimum of the package-set program (per lot
    one set, each package in all its lots or none; the most vehicles, then the least cents:
    solver.award.setproof): a set is in none when, even with every other lot at its table's best,
    the sum falls below the choice of `current`'s packages (a choice of the program when each lot's
    set of them is in its table; else nothing is left out). Exact: an optimum reaches at least that
    choice, so each of its sets is kept, and every optimum of the full tables stays one.
    many-suppliers, 200 bids, seed 1: 12,497 -> 4,712 sets, the program's proof 1.15 -> 0.15 s."""
    # W above any choice's cents: v x W - c orders (v, -c) lexicographically (Python ints: no overflow)
    W = 1 + sum(max((c for _, c in tab.values()), default=0) for tab in tabs)
    values = [{s: v * W - c for s, (v, c) in tab.items()} for tab in tabs]
    have: int = 0
    for part, value in zip(parts, values, strict=True):
        s = tuple(i for i, p in enumerate(part.packages) if p.package in current)
        if s not in value:
            return tabs
        have += value[s]
    best = [max(value.values()) for value in values]
    slack = sum(best) - have  # (each set may lose at most this against its lot's best)
    return [
        {s: tab[s] for s, x in value.items() if x >= top - slack}
        for tab, value, top in zip(tabs, values, best, strict=True)
    ]
