"""A vehicle-first repair of the greedy constructions, lot by lot (pure Python, no search budget).

The constructions in solver.award.greedy are price-driven: a lot's cheapest offers win first, and
with a winner limit, share caps and whole lines the first winners can leave lines free that other
bids of the lot would have served, and a package is refused when one of its items no longer fits
(few-suppliers at 2,000 bids, seed 1: the regret start serves 75 of 400 lots below their cheap
per-lot bound). Three moves, each kept only when it serves more vehicles:
- bids: a lot served below that bound has its bids re-placed, each combination of at most
  `max_winners` of them in each order, placed as the greedy places a bid
  (solver.award.greedy._place_bid, around the packages and the other lots as they are), the
  combination serving the most vehicles there (then the lowest price) replacing the old one;
- packages: a package not awarded with an item in such a lot is placed after the bids of its
  lots are taken out, and those lots' bids re-placed as above; an awarded one there is dropped
  and its lots' bids re-placed; either kept when its lots together serve more;
- swaps: a package not awarded with an item in such a lot taken in place of one, then two,
  awarded ones that share a lot with it, the bids of all their lots re-placed around it (a
  package often cannot go in because others hold the winner places or lines it needs, and
  dropping them alone serves less): few-suppliers, seed 1, the better start 14,826 -> 15,009
  vehicles at 2,000 bids, 72,508 -> 73,829 at 10,000 (one swapped package only: 14,976 and
  73,621), both starts' CPU 0.3 -> 1.5 s and 1.6 -> 8.0 s.
Lots and packages come in index order: deterministic. What needs more packages to change at
once is left to solver.award.vehicles' exact sub-rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from solver.award.prep import PackageOpt, Prepared

if TYPE_CHECKING:
    from solver.award.greedy import _State

# A lot's bids tried together: those that can carry the most there (its combinations x orders
# grow fast; few-suppliers rounds have 3-4 bids per lot).
MAX_BIDS = 7

# Only a construction this far below the cheap vehicle bound (short of it over all lots) is
# repaired: nearer it, solver.award.vehicles' sub-rounds serve the few short lots at a lower
# price (regions at 2,000 bids, seed 1: the starts 13-14 vehicles (0.4 %) short; repaired, the
# award's certified gap was 1.619 % instead of 1.318 %). few-suppliers' starts are 5.6-7.6 % short.
MIN_SHORT = 0.01

# Rounds with more offers (bids and packages) keep the plain constructions: at 25,000 bids
# (few-suppliers, seed 1) the repair cost 2.6 s of CPU (1.5 -> 4.1 s for both starts) of a
# 10 s budget that the search cannot shorten, for 178,275 -> 185,315 vehicles; the whole award
# took 9.9 s of CPU instead of 5.8 (17 -> 29 s wall beside a load of 8.5).
MAX_OFFERS = 12_500

# Rounds of package swaps (then bids, packages taken), at most, while a round gains (one swapped
# package only, few-suppliers, seed 1: the better start at 2,000 bids 14,944 after one round, 14,976
# after three; at 10,000 bids 73,568 and 73,621).
SWAP_ROUNDS = 3

Allocs = dict[int, dict[int, int]]


class _Lots:
    def __init__(self, st: _State, prep: Prepared):
        from solver.award.greedy import _place_bid

        self.st, self.prep, self.place = st, prep, _place_bid
        inst = st.inst
        self.bids_of_lot: dict[int, list[int]] = {}
        for bi in sorted(prep.tiers_of_bid):
            self.bids_of_lot.setdefault(inst.bids[bi].lot, []).append(bi)
        for lot, cands in self.bids_of_lot.items():
            if len(cands) > MAX_BIDS:
                most = {bi: max(t.hi for t in prep.tiers_of_bid[bi]) for bi in cands}
                self.bids_of_lot[lot] = sorted(sorted(cands, key=lambda bi: (-most[bi], bi))[:MAX_BIDS])

    def served(self, lot: int) -> int:
        st = self.st
        return sum(st.inst.lines[li].quantity - st.free[li] for li in st.inst.lots[lot].lines)

    def cost(self, bis: list[int]) -> int:
        inst, total = self.st.inst, 0
        for bi in bis:
            q = sum(self.st.sol.bids[bi].values())
            total += q * inst.bids[bi].tiers[inst.bids[bi].tier_at(q)].cents
        return total

    def take_out(self, lot: int) -> Allocs:
        """Removes the lot's awarded bids; returns them."""
        out = {bi: self.st.sol.bids[bi] for bi in self.bids_of_lot.get(lot, []) if bi in self.st.sol.bids}
        self.take_out_some(list(out))
        return out

    def put(self, allocs: Allocs) -> None:
        st = self.st
        for bi, alloc in allocs.items():
            if sum(alloc.values()):
                st.take(st.inst.bids[bi].supplier, st.inst.bids[bi].lot, alloc)
                st.sol.bids[bi] = alloc

    def best_bids(self, lot: int) -> tuple[tuple[int, int], Allocs]:
        """With the lot's bids taken out: the sequence of at most `max_winners` of them, placed in
        turn, that serves the most there, then the cheapest, as (served, -cost) and allocations
        (not placed). Depth first: sequences sharing a beginning share its placements."""
        st, cands = self.st, self.bids_of_lot.get(lot, [])
        mw = st.inst.max_winners or len(cands)
        best: tuple[tuple[int, int], Allocs] = ((self.served(lot), 0), {})
        placed: list[int] = []

        def extend() -> None:
            nonlocal best
            for bi in cands:
                # a bid that does not fit leaves the same award as the sequence without it
                if bi in placed or not self.place(st, self.prep, bi):
                    continue
                placed.append(bi)
                key = (self.served(lot), -self.cost(placed))
                if key > best[0]:
                    best = (key, {b: dict(st.sol.bids[b]) for b in placed})
                if len(placed) < mw:
                    extend()
                placed.pop()
                self.take_out_some([bi])

        extend()
        return best

    def take_out_some(self, bis: list[int]) -> None:
        st = self.st
        for bi in bis:
            st.take(st.inst.bids[bi].supplier, st.inst.bids[bi].lot, st.sol.bids.pop(bi), -1)


def repair_lots(st: _State, prep: Prepared) -> None:
    """The moves above on the lots served below their cheap bound: bids, packages taken, packages
    dropped, bids, packages taken, bids (few-suppliers, seed 1, at 2,000 bids the award 15,028
    vehicles, gap 2.087 %, where bids, packages taken, bids gave 15,009 and 2.262 %)."""
    inst = st.inst
    if st.room is not None:
        return  # quarterly capacities: the bookings are not undone here
    from solver.award.vehicles import exact_lot_caps

    lots = _Lots(st, prep)
    caps = exact_lot_caps(inst, prep, [lots.served(lot) for lot in range(len(inst.lots))])
    if sum(max(0, cap - lots.served(lot)) for lot, cap in enumerate(caps)) <= MIN_SHORT * sum(caps):
        return
    _bids_move(lots, caps)
    _packages_move(lots, caps)
    _drop_move(lots, caps)
    _bids_move(lots, caps)
    _packages_move(lots, caps)
    _bids_move(lots, caps)
    for _ in range(SWAP_ROUNDS):
        before = sum(lots.served(lot) for lot in range(len(caps)))
        _swap_move(lots, caps, 1)
        _swap_move(lots, caps, 2)
        _bids_move(lots, caps)
        _packages_move(lots, caps)
        if sum(lots.served(lot) for lot in range(len(caps))) <= before:
            break


def _bids_move(lots: _Lots, caps: list[int]) -> None:
    for lot in range(len(caps)):
        if lots.bids_of_lot.get(lot) and lots.served(lot) < caps[lot]:
            served = lots.served(lot)
            old = lots.take_out(lot)
            key, new = lots.best_bids(lot)
            lots.put(new if key[0] > served else old)


def _keep_if_more(lots: _Lots, where: list[int], change: Callable[[], bool], undo: Callable[[], None]) -> None:
    """One package move on the lots `where`: their bids taken out, `change` made (False: it could
    not be), their bids re-placed around it; kept when those lots together serve more, else
    `undo` and the old bids put back."""
    before = sum(lots.served(lot) for lot in where)
    old = {lot: lots.take_out(lot) for lot in where}
    if change():
        for lot in where:
            lots.put(lots.best_bids(lot)[1])
        if sum(lots.served(lot) for lot in where) > before:
            return
        for lot in where:
            lots.take_out(lot)
        undo()
    for lot in where:
        lots.put(old[lot])


def _packages_move(lots: _Lots, caps: list[int]) -> None:
    from solver.award.greedy import _place_package

    st = lots.st
    for p in lots.prep.packages:
        if p.package in st.sol.packages or all(lots.served(it.lot) >= caps[it.lot] for it in p.items):
            continue

        def undo(p: PackageOpt = p) -> None:
            _drop(st, p)

        def place(p: PackageOpt = p) -> bool:
            return _place_package(st, p)

        _keep_if_more(lots, sorted({it.lot for it in p.items}), place, undo)


def _drop_move(lots: _Lots, caps: list[int]) -> None:
    """Each awarded package with an item in a short lot dropped, its lots' bids re-placed without
    it: kept when its lots together serve more."""
    st = lots.st
    by_pkg = {p.package: p for p in lots.prep.packages}
    for pk in list(st.sol.packages):
        p = by_pkg[pk]
        if all(lots.served(it.lot) >= caps[it.lot] for it in p.items):
            continue
        allocs = st.sol.packages[pk]

        def drop(p: PackageOpt = p) -> bool:
            _drop(st, p)
            return True

        def restore(p: PackageOpt = p, allocs: list[dict[int, int]] = allocs) -> None:
            _restore(st, p, allocs)

        _keep_if_more(lots, sorted({it.lot for it in p.items}), drop, restore)


def _drop(st: _State, p: PackageOpt) -> list[dict[int, int]]:
    """Takes the awarded package `p` out; returns its allocations."""
    allocs = st.sol.packages.pop(p.package)
    for it, alloc in zip(p.items, allocs, strict=True):
        st.take(p.supplier, it.lot, alloc, -1)
    return allocs


def _restore(st: _State, p: PackageOpt, allocs: list[dict[int, int]]) -> None:
    for it, alloc in zip(p.items, allocs, strict=True):
        st.take(p.supplier, it.lot, alloc)
    st.sol.packages[p.package] = allocs


def _swap_move(lots: _Lots, caps: list[int], k: int) -> None:
    """Per lot served below its bound, each package not awarded with an item there taken in place
    of k awarded packages sharing a lot with it (which hold the winner places or lines it needs),
    the bids of all their lots re-placed around it: kept when those lots together serve more."""
    from itertools import combinations

    from solver.award.greedy import _place_package

    st = lots.st
    by_pkg = {p.package: p for p in lots.prep.packages}
    pkgs_of_lot: dict[int, list[int]] = {}
    for p in lots.prep.packages:
        for lot in sorted({it.lot for it in p.items}):
            pkgs_of_lot.setdefault(lot, []).append(p.package)
    for lot in range(len(caps)):
        for b in pkgs_of_lot.get(lot, []):
            if lots.served(lot) >= caps[lot]:
                break
            if b in st.sol.packages:
                continue
            new = by_pkg[b]
            where_new = {it.lot for it in new.items}
            awarded = sorted({pk for x in where_new for pk in pkgs_of_lot[x] if pk in st.sol.packages})
            for drop in combinations(awarded, k):
                if b in st.sol.packages:
                    break
                olds = [by_pkg[a] for a in drop]
                kept: list[list[dict[int, int]]] = []  # the dropped packages' allocations

                def swap(olds: list[PackageOpt] = olds, new: PackageOpt = new, kept: list[Any] = kept) -> bool:
                    kept += [_drop(st, old) for old in olds]
                    if _place_package(st, new):
                        return True
                    for old in reversed(olds):
                        _restore(st, old, kept.pop())
                    return False

                def undo(olds: list[PackageOpt] = olds, new: PackageOpt = new, kept: list[Any] = kept) -> None:
                    _drop(st, new)
                    for old in reversed(olds):
                        _restore(st, old, kept.pop())

                where = where_new | {it.lot for old in olds for it in old.items}
                _keep_if_more(lots, sorted(where), swap, undo)
