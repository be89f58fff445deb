"""The lexicographic best of one lot with a given set S of its packages chosen: the most vehicles,
then the least cents, then the least T of the tie-break (solver.award.TIE_BREAK_RULE, cpsat.tie_weights;
a whole line's w(line, source) counts once, whatever its vehicles), and the allocation reaching it.
With the packages' choices fixed a round's lots are independent but for the suppliers' capacities,
and (vehicles, cents, T) is a sum over lots: over the sets, a 0-1 master (vehmaster's program) on
these bests gives the canonical award wherever its optimum respects every capacity.

The program is solver.award.lotdp's (min-plus over disjoint line masks per supplier, then over
suppliers with a count of winners) on int64 keys compared lexicographically, (-vehicles, cents, T),
or (cents - per x vehicles, T) where that fits: never one weighted sum of all three, which would pass
64 bits (T alone reaches 10^14 per lot at 200 bids). S's packages are forced in, the others out;
S that cannot be chosen together gives None. Ties in T within a lot (equal vehicles, cents and T:
the hash bits of w make them improbable, README "Tie-break") go by the program's fixed order (least
keys, fewest winners, least mask, then the way back's submask order): the same award on every run.
Exact, in integers; no work limit, no clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from solver.award.instance import Instance
from solver.award.lotdp import INF, MAX_COST, MAX_LINES, _pairs
from solver.award.prep import PackageOpt

if TYPE_CHECKING:
    from solver.award.lagrange import LotPart

Arr = npt.NDArray[np.int64]  # (keys, 2^n): per mask its keys, (-vehicles, cents, T) or (P, T)
PACK = True  # (-vehicles, cents) as one key where it fits; False: always three keys
HALF = INF // 2  # key 0 at or above: no way to serve the mask


@lru_cache(maxsize=MAX_LINES + 1)
def _groups(n: int) -> npt.NDArray[np.intp]:
    """Per pair of _pairs(n) its mask a | b (the group reduceat's `starts` begin)."""
    a, b, _ = _pairs(n)
    return a | b


def _none(n: int, keys: int) -> Arr:
    return np.full((keys, 1 << n), INF, dtype=np.int64)


def _empty(n: int, keys: int) -> Arr:
    out = _none(n, keys)
    out[:, 0] = 0
    return out


def _clean(x: Arr) -> Arr:
    """Every key INF where key 0 says no way (sums with INF stay far above every real value)."""
    x[:, x[0] >= HALF] = INF
    return x


def combine(f: Arr, g: Arr, n: int) -> Arr:
    """h[m] = the lexicographic least of f[a] + g[b] over disjoint a, b with a | b = m."""
    a, b, starts = _pairs(n)
    grp = _groups(n)
    out = np.empty_like(f)
    ok: npt.NDArray[np.bool_] | None = None
    keys = f.shape[0]
    for j in range(keys):  # (one key at a time: a gather on a row is ~15x faster than on the 2-d array)
        s = f[j][a] + g[j][b]
        v = s if ok is None else np.where(ok, s, 2 * INF)
        out[j] = np.minimum.reduceat(v, starts)
        if j < keys - 1:
            eq = v == out[j][grp]
            ok = eq if ok is None else ok & eq
    return _clean(out)


def lexmin(x: Arr, y: Arr) -> Arr:
    """Per mask the lexicographically smaller of x and y."""
    less = np.zeros(x.shape[1], dtype=np.bool_)
    tied = np.ones(x.shape[1], dtype=np.bool_)
    for j in range(x.shape[0]):
        less |= tied & (y[j] < x[j])
        tied &= y[j] == x[j]
    return np.where(less, y, x)


def _pack(arr: Arr, per: int) -> Arr:
    """(-vehicles, cents, T) -> (cents - per x vehicles, T), INF kept."""
    ok = arr[0] < HALF
    return np.stack([np.where(ok, arr[1] + per * arr[0], INF), np.where(ok, arr[2], INF)])


# one supplier: its array (capped), whether a chosen package forces it in, its groups for the way back
_Supplier = tuple[Arr, bool, list[tuple[int, int, Arr, Arr]]]  # groups: (kind 0 bid / 1 copy, index, before, array)


@dataclass
class LotStatic:
    """What a lot's best needs whatever S: per bid its array, per package copy (part.packages'
    order) its array (forced in: no "not chosen") or None, per copy its items' masks, rooms."""

    lot: int
    n: int
    lines: tuple[int, ...]
    qty: Arr
    bids: list[tuple[int, int, Arr]]  # (supplier, bid, array)
    packages: list[Arr | None]
    fits: list[list[list[int]]]  # per copy, per item (in the lot), the masks it can take
    room: dict[int, int]
    options: list[PackageOpt] = field(default_factory=list)
    # per supplier its bids' array combined (uncapped) and the steps for the way back
    sup: dict[int, tuple[Arr, list[tuple[int, int, Arr, Arr]]]] = field(default_factory=dict)
    # keys 3: (-vehicles, cents, T); 2: (P, T) with P = cents - per x vehicles where that fits
    keys: int = 3
    per: int = 0
    unlimited: bool = True  # no winner limit: one layer
    # best()'s last steps over the suppliers with copies: (their chosen copies, layers after, what it added)
    path: list[tuple[tuple[int, ...], list[Arr], tuple[list[Arr], _Supplier] | None]] = field(default_factory=list)
    prefix: tuple[list[Arr], list[list[Arr]], list[_Supplier], int] | None = None


_ids: list[tuple[Instance, list[str]]] = []  # the last round's source ids by rank (tie_weights' argument)


def _source_ids(inst: Instance) -> list[str]:
    if not _ids or _ids[0][0] is not inst:
        ranked = sorted(inst.source_rank.items(), key=lambda kv: kv[1])
        _ids[:] = [(inst, [sid for sid, _ in ranked])]
    return _ids[0][1]


def static(inst: Instance, part: LotPart) -> LotStatic | None:
    """The lot's arrays; None where the program does not apply (split service, delivery quarters,
    more than MAX_LINES lines, cents or T past MAX_COST)."""
    from solver.award.cpsat import tie_weights

    lot = inst.lots[part.lot]
    lines, n = lot.lines, len(lot.lines)
    if not inst.whole or inst.with_quarters or n > MAX_LINES:
        return None
    q = [inst.lines[li].quantity for li in lines]
    qty = np.zeros(1 << n, dtype=np.int64)
    for i in range(n):
        qty[1 << i : 1 << (i + 1)] = qty[: 1 << i] + q[i]
    masks = np.arange(1 << n, dtype=np.int64)
    ids = _source_ids(inst)

    top = [0] * n  # per line its largest w: their sum bounds every allocation's T

    def t_of(source_id: str) -> Arr | None:
        w = tie_weights(inst, [(li, inst.source_rank[source_id]) for li in lines], ids)
        top[:] = [max(x, wi) for x, wi in zip(top, w, strict=True)]
        if sum(top) >= MAX_COST:
            return None
        out = np.zeros(1 << n, dtype=np.int64)
        for i in range(n):
            out[1 << i : 1 << (i + 1)] = out[: 1 << i] + w[i]
        return out

    def within(opt_lines: tuple[int, ...]) -> npt.NDArray[np.bool_]:
        e = sum(1 << i for i, li in enumerate(lines) if li in opt_lines)
        return np.asarray((masks & ~e) == 0)

    # every allocation's cents are at most the dearest unit price x the lot's vehicles
    dearest = max([t.cents for t in part.tiers] + [it.cents for p in part.packages for it in p.items], default=0)
    if dearest * sum(q) >= MAX_COST:
        return None
    st = LotStatic(part.lot, n, lines, qty, [], [], [], {}, unlimited=inst.max_winners is None)
    by_bid: dict[int, list[int]] = {}
    for k, t in enumerate(part.tiers):
        by_bid.setdefault(t.bid, []).append(k)
    for bi, ks in sorted(by_bid.items()):
        t_arr = t_of(inst.bids[bi].id)
        if t_arr is None:
            return None
        arr = _none(n, 3)
        for k in ks:
            t = part.tiers[k]
            ok = within(t.lines) & (qty >= t.lo) & (qty <= t.hi)
            one = np.stack([np.where(ok, -qty, INF), np.where(ok, t.cents * qty, INF), np.where(ok, t_arr, INF)])
            arr = lexmin(arr, one)
        arr[:, 0] = 0
        if (arr[0, 1:] < HALF).any():
            st.bids.append((inst.bids[bi].supplier, bi, arr))
    for p in part.packages:
        per_item = [[int(m) for m in np.flatnonzero(within(it.lines) & (qty == it.quantity))] for it in p.items]
        union = {0}
        for ms in per_item:  # (a package's items in one lot: mostly one)
            union = {a | b for a in union for b in ms if not a & b}
        fits = np.zeros(1 << n, dtype=np.bool_)
        fits[sorted(union)] = True
        st.fits.append(per_item)
        st.options.append(p)
        if not fits.any():
            st.packages.append(None)
            continue
        t_arr = t_of(inst.packages[p.package].id)
        if t_arr is None:
            return None
        vehicles = sum(it.quantity for it in p.items)
        cents = sum(it.quantity * it.cents for it in p.items)
        st.packages.append(
            np.stack([np.where(fits, -vehicles, INF), np.where(fits, cents, INF), np.where(fits, t_arr, INF)])
        )
    for s in {s for s, _, _ in st.bids} | {p.supplier for p in part.packages}:
        st.room[s] = min(lot.share_cap, inst.capacity[s])
    per = 1 + dearest * sum(q)  # above every allocation's cents
    if PACK and per * sum(q) < MAX_COST:  # (-vehicles, cents) as one key: 2 keys, the program ~1/3 cheaper
        st.keys, st.per = 2, per
        st.bids = [(s, bi, _pack(arr, per)) for s, bi, arr in st.bids]
        st.packages = [None if arr is None else _pack(arr, per) for arr in st.packages]
    for k, (s, _, arr) in enumerate(st.bids):
        acc, steps = st.sup.get(s, (_empty(n, st.keys), []))
        st.sup[s] = (combine(acc, arr, n), [*steps, (0, k, acc, arr)])
    return st


@dataclass
class LotBest:
    """A lot's lexicographic best with its packages set S: its keys and its allocation."""

    vehicles: int
    cents: int
    t: int
    bids: dict[int, dict[int, int]]  # bid -> {line: vehicles}
    packages: dict[int, dict[int, dict[int, int]]]  # package -> {item index: {line: vehicles}}


def _capped(st: LotStatic, s: int, acc: Arr) -> Arr:
    out = acc.copy()
    out[:, st.qty > st.room[s]] = INF
    out[:, 0] = INF  # a winner serves something
    return out


def _step(layers: list[Arr], acc: Arr, must: bool, j: int, unlimited: bool, n: int) -> list[Arr]:
    """The layers (k winners; one layer without a winner limit) after the j-th supplier (acc)."""
    out = list(layers)
    if unlimited:
        with_s = acc.copy()
        if not must:
            with_s[:, 0] = 0
        new = combine(layers[0], with_s, n)
        out[0] = new if must else lexmin(layers[0], new)
        return out
    for k in range(min(len(layers) - 1, j + 1), 0, -1):  # layer k - 1 > j: none yet
        new = combine(layers[k - 1], acc, n)
        out[k] = new if must else lexmin(layers[k], new)
    if must:
        out[0] = _none(n, acc.shape[0])
    return out


def _prefix(inst: Instance, st: LotStatic) -> tuple[list[Arr], list[list[Arr]], list[_Supplier], int]:
    """The layers after the suppliers without a package copy in the lot (the same for every S),
    their history for the way back, those suppliers, and the layers' count."""
    if st.prefix is None:
        n = st.n
        with_copy = {o.supplier for o, arr in zip(st.options, st.packages, strict=True) if arr is not None}
        others = sorted(set(st.sup) - with_copy)
        count = len(others) + len(with_copy)
        unlimited = inst.max_winners is None
        layers_n = 1 if unlimited else min(inst.max_winners or 0, count) + 1
        layers = [_empty(n, st.keys)] + [_none(n, st.keys) for _ in range(layers_n - 1)]
        history: list[list[Arr]] = []
        suppliers: list[_Supplier] = []
        for s in others:
            acc = _capped(st, s, st.sup[s][0])
            if (acc[0] >= HALF).all():
                continue
            history.append(layers)
            layers = _step(layers, acc, False, len(suppliers), unlimited, n)
            suppliers.append((acc, False, st.sup[s][1]))
        st.prefix = (layers, history, suppliers, layers_n)
    return st.prefix


def best(inst: Instance, st: LotStatic, chosen: tuple[int, ...], *, allocation: bool = True) -> LotBest | None:
    """The lot's best with exactly the package copies `chosen` (indices into part.packages)
    awarded: None where they cannot be awarded together. Without `allocation` only its keys."""
    n = st.n
    layers, history, suppliers, layers_n = _prefix(inst, st)
    history, suppliers = list(history), list(suppliers)
    if any(st.packages[i] is None for i in chosen):
        return None
    forced = {st.options[i].supplier for i in chosen}
    most = inst.max_winners
    if most is not None and len(forced) > most:
        return None
    with_copy = sorted({o.supplier for o, arr in zip(st.options, st.packages, strict=True) if arr is not None})
    # the previous set's steps are reused while the suppliers' chosen copies are the same (sets come
    # in depth-first order: most share a start)
    for d, s in enumerate(with_copy):
        mine = tuple(i for i in chosen if st.options[i].supplier == s)
        if d < len(st.path) and st.path[d][0] == mine:
            _, layers, added = st.path[d]
        else:
            del st.path[d:]
            acc, steps = st.sup.get(s, (_empty(n, st.keys), []))
            steps = list(steps)
            for i in mine:
                arr = st.packages[i]
                assert arr is not None
                before = acc
                acc = combine(acc, arr, n)
                steps.append((1, i, before, arr))
            acc = _capped(st, s, acc)
            added = None
            if (acc[0] >= HALF).all():
                if mine:
                    return None
            else:
                added = (layers, (acc, bool(mine), steps))
                layers = _step(layers, acc, bool(mine), len(suppliers), most is None, n)
            st.path.append((mine, layers, added))
        if added is not None:
            history.append(added[0])
            suppliers.append(added[1])
    # the lexicographic least keys, then the fewest winners, then the least mask
    stack = np.stack(layers)  # (layers, keys, 2^n)
    ks, ms = np.meshgrid(np.arange(layers_n), np.arange(1 << n), indexing="ij")
    order = np.lexsort((ms.ravel(), ks.ravel(), *(stack[:, j].ravel() for j in range(st.keys - 1, -1, -1))))
    k, m = divmod(int(order[0]), 1 << n)
    v = [int(x) for x in layers[k][:, m]]
    if v[0] >= HALF:
        return None
    # (with st.per: P = cents - per x vehicles, 0 <= cents < per)
    out = LotBest(-(v[0] // st.per), v[0] % st.per, v[1], {}, {}) if st.per else LotBest(-v[0], v[1], v[2], {}, {})
    if allocation:
        from solver.award.lotlex_way import way_back

        way_back(st, suppliers, history, (k, m), out)
    return out


def lot_best(inst: Instance, part: LotPart, chosen: tuple[int, ...]) -> LotBest | None:
    """best() on the lot's own arrays (None also where the program does not apply)."""
    st = static(inst, part)
    return None if st is None else best(inst, st, chosen)
