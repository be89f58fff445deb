"""A fast constructive award, always computed first and kept as the fallback.

Offers (bids and packages) are taken cheapest first (by their lowest reachable unit price,
then id). A bid takes, among its reachable tiers, the one that lets it carry the most
vehicles from the still free eligible lines (then the lower price), within its range,
the supplier's remaining capacity and share cap, and the lot's winner limit. A package is
taken only if every item can be covered. A second pass lets each bid grow into lines
left free. The result is feasible by construction (and checked by validate_award in tests).
"""

from __future__ import annotations

from solver.award.instance import Instance
from solver.award.prep import PackageOpt, Prepared
from solver.award.solution import Solution


def _best_subset(quantities: list[int], lo: int, hi: int) -> list[int] | None:
    """Indices of a subset whose sum is the largest in [lo, hi], or None."""
    if hi < lo or hi <= 0:
        return None
    if len(quantities) * (hi + 1) > 1 << 27:
        # The exact table would not fit in 16 MB: largest first, whatever fits (a heuristic start).
        chosen, total = [], 0
        for i in sorted(range(len(quantities)), key=lambda i: -quantities[i]):
            if total + quantities[i] <= hi:
                chosen.append(i)
                total += quantities[i]
        return sorted(chosen) if total >= lo else None
    mask = (1 << (hi + 1)) - 1
    layers = [1]
    for q in quantities:
        layers.append((layers[-1] | (layers[-1] << q)) & mask)
    reach = layers[-1] >> lo
    if not reach:
        return None
    target = lo + reach.bit_length() - 1
    chosen = []
    for i in range(len(quantities), 0, -1):
        if not (layers[i - 1] >> target) & 1:
            chosen.append(i - 1)
            target -= quantities[i - 1]
    assert target == 0
    return chosen[::-1]


class _State:
    def __init__(self, inst: Instance):
        self.inst = inst
        self.free = [line.quantity for line in inst.lines]
        self.cap = list(inst.capacity)
        self.in_lot: dict[tuple[int, int], int] = {}
        self.winners: dict[int, dict[int, int]] = {}  # lot -> supplier -> number of sources it wins with
        self.sol = Solution()

    def can_win(self, supplier: int, lot: int) -> bool:
        won = self.winners.get(lot, {})
        mw = self.inst.max_winners
        return mw is None or supplier in won or len(won) < mw

    def share_left(self, supplier: int, lot: int) -> int:
        return self.inst.lots[lot].share_cap - self.in_lot.get((supplier, lot), 0)

    def take(self, supplier: int, lot: int, alloc: dict[int, int], sign: int = 1) -> None:
        q = sum(alloc.values())
        for li, v in alloc.items():
            self.free[li] -= sign * v
        self.cap[supplier] -= sign * q
        self.in_lot[supplier, lot] = self.in_lot.get((supplier, lot), 0) + sign * q
        won = self.winners.setdefault(lot, {})
        won[supplier] = won.get(supplier, 0) + sign
        if not won[supplier]:
            del won[supplier]

    def fill(self, lines: tuple[int, ...], lo: int, hi: int) -> dict[int, int] | None:
        """Allocation of between lo and hi vehicles (as many as possible) over free `lines`."""
        inst = self.inst
        # Lines that accept only cheaper offers are filled first, leaving the others for pricier ones.
        order = sorted((li for li in lines if self.free[li] > 0), key=lambda li: (inst.lines[li].max_cents, li))
        if inst.whole:
            qs = [self.free[li] for li in order]
            pick = _best_subset(qs, lo, hi)
            if pick is None:
                return None
            return {order[i]: qs[i] for i in pick}
        alloc: dict[int, int] = {}
        left = hi
        for li in order:
            if left <= 0:
                break
            v = min(left, self.free[li])
            alloc[li] = v
            left -= v
        return alloc if hi - left >= lo and hi - left > 0 else None


def _place_bid(st: _State, prep: Prepared, bi: int) -> bool:
    """(Re)place bid bi as well as possible given the others; True if it changed to a better one."""
    inst = st.inst
    bid = inst.bids[bi]
    old = st.sol.bids.get(bi)
    old_q = sum(old.values()) if old else 0
    old_key = (old_q, -old_q * bid.tiers[bid.tier_at(old_q)].cents) if old_q else (0, 0)
    if old:
        st.take(bid.supplier, bid.lot, old, -1)
    elif not st.can_win(bid.supplier, bid.lot):
        return False
    best = None
    for t in prep.tiers_of_bid.get(bi, ()):
        hi = min(t.hi, st.cap[bid.supplier], st.share_left(bid.supplier, bid.lot))
        alloc = st.fill(t.lines, t.lo, hi)
        if alloc is None:
            continue
        q = sum(alloc.values())
        if bid.tier_at(q) != t.tier:
            continue
        key = (q, -q * t.cents)
        if best is None or key > best[0]:
            best = (key, alloc)
    if best is not None and best[0] > old_key:
        st.take(bid.supplier, bid.lot, best[1])
        st.sol.bids[bi] = best[1]
        return True
    if old:
        st.take(bid.supplier, bid.lot, old)
    return False


def _place_package(st: _State, prep_pkg: PackageOpt) -> bool:
    if st.cap[prep_pkg.supplier] < prep_pkg.quantity:
        return False
    allocs = []
    for it in prep_pkg.items:
        if not st.can_win(prep_pkg.supplier, it.lot) or st.share_left(prep_pkg.supplier, it.lot) < it.quantity:
            return False
        alloc = st.fill(it.lines, it.quantity, it.quantity)
        if alloc is None or sum(alloc.values()) != it.quantity:
            return False
        allocs.append(alloc)
    for it, alloc in zip(prep_pkg.items, allocs, strict=True):
        st.take(prep_pkg.supplier, it.lot, alloc)
    st.sol.packages[prep_pkg.package] = allocs
    return True


def greedy(inst: Instance, prep: Prepared) -> Solution:
    st = _State(inst)
    offers: list[tuple[float, str, int, object]] = []
    for bi, ts in prep.tiers_of_bid.items():
        offers.append((min(t.cents for t in ts), inst.bids[bi].id, 0, bi))
    for p in prep.packages:
        avg = sum(it.cents * it.quantity for it in p.items) / p.quantity
        offers.append((avg, inst.packages[p.package].id, 1, p))
    offers.sort(key=lambda o: (o[0], o[1]))
    for _, _, kind, what in offers:
        if kind == 0:
            _place_bid(st, prep, what)  # type: ignore[arg-type]
        else:
            _place_package(st, what)
    # Second pass: let every bid grow into lines left free (or start now that others settled).
    for bi in sorted(prep.tiers_of_bid):
        _place_bid(st, prep, bi)
    st.sol.bids = {bi: a for bi, a in sorted(st.sol.bids.items()) if sum(a.values()) > 0}
    st.sol.packages = dict(sorted(st.sol.packages.items()))
    return st.sol
