"""The exact minimum of one lot's Lagrangian subproblem (solver.award.lagrange) by dynamic
programming over the lot's line subsets, instead of CP-SAT.

With whole line service a lot's award is, per source, the set of the lot's lines it serves
(a bitmask: lots have 2-9 lines in the benchmark families). The subproblem's cost is linear
per source: a bid's tier t costs (its unit price + the supplier's Lagrangian price per vehicle)
x the quantity of its lines, within t's band; a package's copy costs its constant when chosen
(every item of it in the lot covered exactly by whole lines of its own). Its rules within the
lot are those of solver.award.rules: each line to one source at most, one tier per bid, per
supplier at most min(share cap, capacity) vehicles in the lot, and at most max_winners
suppliers. So per supplier an array over line masks of its cheapest way to serve exactly that
mask (its bids' and packages' arrays combined over disjoint masks), and over suppliers the
same combination with a count of winners: "min-plus over disjoint masks" (3^n pairs for n
lines), done with numpy on int64. Only sources with a negative cost can lower the minimum
(awarding nothing costs 0 and every rule holds without them), so the others are left out.

The result is exact (the minimum, not a bound), in integer arithmetic; it never depends on a
work limit or the clock. Where its assumptions do not hold (split service, delivery quarters,
more than MAX_LINES lines, costs that could come near 64 bits) lot_min says None and the caller
solves the lot with CP-SAT as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from solver.award.instance import Instance
from solver.award.prep import PackageOpt, TierOpt

if TYPE_CHECKING:
    from solver.award.lagrange import LotPart, Multipliers

Arr = npt.NDArray[np.int64]

# Lots with more lines go to CP-SAT (3^12 = 531,441 pairs per combination step).
MAX_LINES = 12
# "No way to serve this mask"; sums of two stay below 2^63, and every real cost is far below it.
INF = np.int64(1 << 61)
# Largest total of the absolute costs that the int64 arithmetic takes (below INF / 4).
MAX_COST = 1 << 58


@lru_cache(maxsize=MAX_LINES + 1)
def _pairs(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Every (a, b) of disjoint masks over n bits, sorted by a | b, and where each a | b starts."""
    size = 1 << n
    masks = np.arange(size, dtype=np.intp)
    a_list, b_list = [], []
    for b in range(size):
        a = masks[(masks & b) == 0]
        a_list.append(a)
        b_list.append(np.full(a.shape, b, dtype=np.intp))
    a_all, b_all = np.concatenate(a_list), np.concatenate(b_list)
    order = np.argsort(a_all | b_all, kind="stable")
    a_all, b_all = a_all[order], b_all[order]
    starts = np.searchsorted(a_all | b_all, masks)
    return a_all, b_all, starts


def combine(f: Arr, g: Arr, n: int) -> Arr:
    """h[m] = min over disjoint a, b with a | b = m of f[a] + g[b] (INF where none)."""
    a, b, starts = _pairs(n)
    out: Arr = np.minimum.reduceat(f[a] + g[b], starts)
    return np.minimum(out, INF)


def _empty(n: int) -> Arr:
    out = np.full(1 << n, INF, dtype=np.int64)
    out[0] = 0
    return out


@dataclass
class _Lot:
    """What a lot's minimum needs that the package multipliers (lam) do not change: its lines'
    quantities per mask, per bid its tiers' array (only tiers that cost less than nothing) and
    per package copy its constant without lam and where its items fit (0 there, INF elsewhere)."""

    n: int
    qty: Arr
    bids: list[tuple[int, Arr]]  # (supplier, array)
    packages: list[tuple[PackageOpt, int, Arr]]  # (copy, cost without lam, fits)
    total: int  # the bids' largest total of |cost|


def _static(inst: Instance, part: LotPart, mult: Multipliers) -> _Lot:
    from solver.award.lagrange import _copy_cost

    lines = inst.lots[part.lot].lines
    n = len(lines)
    bit = {li: 1 << i for i, li in enumerate(lines)}
    qty = np.zeros(1 << n, dtype=np.int64)
    for i, li in enumerate(lines):
        qty[1 << i : 1 << (i + 1)] = qty[: 1 << i] + inst.lines[li].quantity
    masks = np.arange(1 << n, dtype=np.int64)

    def within(opt_lines: tuple[int, ...]) -> npt.NDArray[np.bool_]:
        e = sum(bit[li] for li in opt_lines)
        return np.asarray((masks & ~e) == 0)

    out = _Lot(n, qty, [], [], 0)
    by_bid: dict[int, list[TierOpt]] = {}
    for t in part.tiers:
        by_bid.setdefault(t.bid, []).append(t)
    for bi, tiers in sorted(by_bid.items()):
        s = inst.bids[bi].supplier
        arr = _empty(n)
        for t in tiers:
            rate = (t.cents if mult.goal == "price" else 0) + mult.per_vehicle(s)
            if rate >= 0:
                continue
            out.total += -rate * t.hi
            ok = within(t.lines) & (qty >= t.lo) & (qty <= t.hi)
            arr = np.where(ok, np.minimum(arr, rate * qty), arr)
        if (arr[1:] < INF).any():
            out.bids.append((s, arr))
    for p in part.packages:
        fits = np.where(within(p.items[0].lines) & (qty == p.items[0].quantity), np.int64(0), INF)
        for it in p.items[1:]:  # (a package's items in one lot: mostly one)
            fits = combine(fits, np.where(within(it.lines) & (qty == it.quantity), np.int64(0), INF), n)
        fits[0] = INF  # (items of no vehicles do not occur)
        if (fits < INF).any():
            out.packages.append((p, _copy_cost(mult, p.supplier, p.items), fits))
    return out


def lot_min(
    inst: Instance, part: LotPart, mult: Multipliers, cache: dict[int, Any] | None = None
) -> tuple[int, dict[tuple[int, int], int]] | None:
    """The lot's exact minimum and per (package, lot) whether an optimum chooses its copy (1) or
    not (0); None where lagrange must solve it with CP-SAT (see the module's note). `cache` keeps
    what lam does not change between calls with the same mu and pi (lagrange.improved_bound)."""
    n = len(inst.lots[part.lot].lines)
    if not inst.whole or inst.with_quarters or n > MAX_LINES:
        return None
    lot = None if cache is None else cache.get(part.lot)
    if lot is None:
        lot = _static(inst, part, mult)
        if cache is not None:
            cache[part.lot] = lot
    # per supplier its groups (a bid: its tiers; a package copy): (package or None, array over masks)
    groups: dict[int, list[tuple[int | None, Arr]]] = {}
    for s, arr in lot.bids:
        groups.setdefault(s, []).append((None, arr))
    total = lot.total
    for p, base, fits in lot.packages:
        c = base + mult.lam.get((p.package, part.lot), 0)
        if c >= 0:
            continue
        total += -c
        arr = np.where(fits < INF, np.int64(c), INF)
        arr[0] = 0
        groups.setdefault(p.supplier, []).append((p.package, arr))
    if total >= MAX_COST:
        return None
    qty = lot.qty
    copies = {(p.package, part.lot): 0 for p in part.packages}
    if not groups:
        return 0, copies

    # per supplier: its cheapest way to serve each mask, within min(share cap, capacity)
    suppliers: list[tuple[Arr, list[tuple[int | None, Arr, Arr]]]] = []  # (array, its steps for the way back)
    for s, gs in sorted(groups.items()):
        acc = _empty(n)
        steps: list[tuple[int | None, Arr, Arr]] = []
        for pkg, arr in gs:
            before = acc
            acc = combine(acc, arr, n) if steps else arr
            steps.append((pkg, before, arr))
        acc = np.where(qty <= min(inst.lots[part.lot].share_cap, inst.capacity[s]), acc, INF)
        acc[0] = INF  # a winner serves something (awarding nothing is layer k)
        suppliers.append((acc, steps))

    # over suppliers, layer k = k winners (one layer, k = 0, without a winner limit)
    most = inst.max_winners
    layers_n = 1 if most is None else min(most, len(suppliers)) + 1
    layers = [_empty(n)] + [np.full(1 << n, INF, dtype=np.int64) for _ in range(layers_n - 1)]
    history: list[list[Arr]] = []
    for j, (acc, _) in enumerate(suppliers):
        history.append(list(layers))  # (each step makes new arrays: these stay as they are)
        if most is None:
            with_s = acc.copy()
            with_s[0] = 0
            layers[0] = np.minimum(layers[0], combine(layers[0], with_s, n))
        else:
            for k in range(min(layers_n - 1, j + 1), 0, -1):  # layer k - 1 > j: none yet
                layers[k] = np.minimum(layers[k], combine(layers[k - 1], acc, n))
    # the least value, then the fewest winners, then the least mask
    best_k, best_m = divmod(int(np.argmin(np.stack(layers))), 1 << n)
    value = int(layers[best_k][best_m])
    _way_back(suppliers, history, layers, best_k, best_m, most is None, copies, part.lot)
    return value, copies


def _way_back(
    suppliers: list[tuple[Arr, list[tuple[int | None, Arr, Arr]]]],
    history: list[list[Arr]],
    layers: list[Arr],
    k: int,
    m: int,
    unlimited: bool,
    copies: dict[tuple[int, int], int],
    lot: int,
) -> None:
    """Marks in `copies` the package copies of one optimum (the one reached back from (k, m))."""
    v = int(layers[k][m])
    for j in range(len(suppliers) - 1, -1, -1):
        before = history[j]
        if int(before[k][m]) == v:
            continue  # supplier j serves nothing in this optimum
        acc, steps = suppliers[j]
        src = 0 if unlimited else k - 1
        a = m
        while a:  # the nonempty submasks a of m that supplier j serves
            if int(before[src][m ^ a]) + int(acc[a]) == v:
                break
            a = (a - 1) & m
        _mark(steps, a, int(acc[a]), copies, lot)
        m, k, v = m ^ a, src, int(before[src][m ^ a])
    assert m == 0 and v == 0, (m, v)


def _mark(
    steps: list[tuple[int | None, Arr, Arr]], m: int, v: int, copies: dict[tuple[int, int], int], lot: int
) -> None:
    """Within one supplier: the groups that make its value v on mask m; chosen packages -> 1."""
    for pkg, before, arr in reversed(steps):
        if int(before[m]) == v:
            continue
        b = m
        while b:
            if int(before[m ^ b]) + int(arr[b]) == v:
                break
            b = (b - 1) & m
        if pkg is not None:
            copies[pkg, lot] = 1
        m, v = m ^ b, int(before[m ^ b])
    assert m == 0 and v == 0, (m, v)
