"""A fast constructive award, always computed first and kept as the fallback.

Two constructions, and `greedy` keeps the better award (more vehicles, then the lower price):
- plain (`plain_greedy`): offers (bids and packages) taken cheapest first (by their lowest
  reachable unit price, then id);
- regret (`regret_greedy`): the lot that would lose the most if its cheapest open offer went
  elsewhere is served first. A lot's regret is (second supplier's price - cheapest price) x
  its free vehicles, infinite when only one supplier can still serve it; offers close as
  capacity, share caps and winner limits are used up, and regrets are re-evaluated lazily
  (a popped lot whose regret changed goes back in the queue).
Both place offers the same way: A bid takes, among its reachable tiers, the one that lets it carry the most
vehicles from the still free eligible lines (then the lower price), within its range,
the supplier's remaining capacity and share cap, and the lot's winner limit. A package is
taken only if every item can be covered. A second pass lets each bid grow into lines
left free. The result is feasible by construction (and checked by validate_award in tests).
"""

from __future__ import annotations

from collections.abc import Callable

from solver.award.deliveries import Booked, Key, Room
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
        # Quarterly capacities: what is left per entry, and the deliveries booked per allocation.
        self.room = Room(inst) if any(inst.quarterly) else None
        self.booked: dict[Key, dict[int, int]] = {}
        # fill's order of lines as one rank per line (sorting with a Python key function on every
        # call was a fifth of the greedy's time at 25,000 bids).
        order = sorted(range(len(inst.lines)), key=lambda li: (inst.lines[li].max_cents, li))
        self.rank = [0] * len(order)
        for r, li in enumerate(order):
            self.rank[li] = r

    def deliverable(self, key0: Key, supplier: int, alloc: dict[int, int]) -> tuple[dict[int, int], Booked]:
        """The part of `alloc` (line -> vehicles, for the source `key0` with line -1) that fits the
        supplier's quarterly capacities left, line by line (whole service: a line fits whole or
        not at all), and its deliveries."""
        if self.room is None:
            return alloc, []
        room = self.room
        lot = self.inst.lines[next(iter(alloc))].lot if alloc else 0
        out: dict[int, int] = {}
        booked: Booked = []
        for li, v in alloc.items():
            key = (*key0[:3], li)
            got = room.fit(supplier, key, v)
            n = sum(got.values())
            if n == 0 or (self.inst.whole and n < v):
                continue
            room.move(supplier, lot, got, -1)
            out[li] = n
            booked.append((key, got))
        for _, got in booked:  # measured only: book() books it
            room.move(supplier, lot, got, 1)
        return out, booked

    def book(self, supplier: int, booked: Booked, sign: int) -> None:
        if self.room is None:
            return
        for key, got in booked:
            self.room.move(supplier, self.inst.lines[key[3]].lot, got, -sign)  # booked: less room
            if sign > 0:
                self.booked[key] = got
            else:
                self.booked.pop(key, None)

    def booked_of(self, key0: Key, alloc: dict[int, int]) -> Booked:
        return [((*key0[:3], li), self.booked[(*key0[:3], li)]) for li in alloc if (*key0[:3], li) in self.booked]

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
        free = self.free
        order = sorted((li for li in lines if free[li] > 0), key=self.rank.__getitem__)
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
    key0: Key = (0, bi, 0, -1)
    old_booked = st.booked_of(key0, old) if old else []
    if old:
        st.take(bid.supplier, bid.lot, old, -1)
        st.book(bid.supplier, old_booked, -1)
    elif not st.can_win(bid.supplier, bid.lot):
        return False
    best = None
    for t in prep.tiers_of_bid.get(bi, ()):
        hi = min(t.hi, st.cap[bid.supplier], st.share_left(bid.supplier, bid.lot))
        alloc = st.fill(t.lines, t.lo, hi)
        if alloc is None:
            continue
        alloc, booked = st.deliverable(key0, bid.supplier, alloc)
        q = sum(alloc.values())
        if q < t.lo or bid.tier_at(q) != t.tier:
            continue
        key = (q, -q * t.cents)
        if best is None or key > best[0]:
            best = (key, alloc, booked)
    if best is not None and best[0] > old_key:
        st.take(bid.supplier, bid.lot, best[1])
        st.book(bid.supplier, best[2], 1)
        st.sol.bids[bi] = best[1]
        return True
    if old:
        st.take(bid.supplier, bid.lot, old)
        st.book(bid.supplier, old_booked, 1)
    return False


def _place_package(st: _State, prep_pkg: PackageOpt) -> bool:
    if st.cap[prep_pkg.supplier] < prep_pkg.quantity:
        return False
    allocs = []
    booked: Booked = []
    ok = True
    for it in prep_pkg.items:
        if not st.can_win(prep_pkg.supplier, it.lot) or st.share_left(prep_pkg.supplier, it.lot) < it.quantity:
            ok = False
            break
        alloc = st.fill(it.lines, it.quantity, it.quantity)
        if alloc is None or sum(alloc.values()) != it.quantity:
            ok = False
            break
        alloc, got = st.deliverable((1, prep_pkg.package, it.item, -1), prep_pkg.supplier, alloc)
        st.book(prep_pkg.supplier, got, 1)  # the next items fit in what this one leaves
        booked += got
        if sum(alloc.values()) != it.quantity:
            ok = False
            break
        allocs.append(alloc)
    if not ok:
        st.book(prep_pkg.supplier, booked, -1)
        return False
    for it, alloc in zip(prep_pkg.items, allocs, strict=True):
        st.take(prep_pkg.supplier, it.lot, alloc)
    st.sol.packages[prep_pkg.package] = allocs
    return True


def greedy(inst: Instance, prep: Prepared) -> Solution:
    """The better of the plain and the regret construction (more vehicles, then the lower price)."""
    return starts(inst, prep)[0]


def starts(
    inst: Instance, prep: Prepared, repair: bool = False, constructed: Callable[[Solution], object] | None = None
) -> list[Solution]:
    """Both constructions, the better first (more vehicles, then the lower price); the other
    only when it differs. The neighbourhood search tries both (solver.award.lns): a start a
    few vehicles short but far cheaper often ends better once the search has served them.
    `repair`: each construction ends with solver.award.repair's vehicle-first moves (large rounds);
    `constructed` is then called with the first construction as it is before them, a valid award
    already, so a caller can report one while the moves run (seconds at 10,000 bids)."""
    from solver.award.solution import objective

    plain = plain_greedy(inst, prep, repair, constructed)
    regret = regret_greedy(inst, prep, repair)
    vp, cp = objective(inst, plain)
    vr, cr = objective(inst, regret)
    if (vr, -cr) == (vp, -cp) and regret == plain:
        return [plain]
    return [regret, plain] if (vr, -cr) > (vp, -cp) else [plain, regret]


def _finish(
    st: _State, prep: Prepared, repair: bool, constructed: Callable[[Solution], object] | None = None
) -> Solution:
    # Second pass: let every bid grow into lines left free (or start now that others settled).
    free = st.free
    for bi in sorted(prep.tiers_of_bid):
        # Exact shortcut: with no free vehicle on its lines, a bid can only take back what it
        # has (the same quantity, so the same tier and price), which _place_bid does not call better.
        if any(free[li] for t in prep.tiers_of_bid[bi] for li in t.lines):
            _place_bid(st, prep, bi)
    if repair:
        from solver.award.repair import repair_lots

        if constructed is not None:
            constructed(_tidy(st.sol.copy()))
        repair_lots(st, prep)
    return _tidy(st.sol)


def _tidy(sol: Solution) -> Solution:
    """`sol` without its empty bids, in index order (as every award leaves this module)."""
    sol.bids = {bi: a for bi, a in sorted(sol.bids.items()) if sum(a.values()) > 0}
    sol.packages = dict(sorted(sol.packages.items()))
    return sol


def regret_greedy(inst: Instance, prep: Prepared, repair: bool = False) -> Solution:
    import heapq

    st = _State(inst)
    # Offers of each lot, cheapest unit price first: (cents, kind, index); kind 0 bid, 1 package.
    by_lot: dict[int, list[tuple[int, int, int]]] = {}
    for bi, ts in prep.tiers_of_bid.items():
        by_lot.setdefault(inst.bids[bi].lot, []).append((min(t.cents for t in ts), 0, bi))
    pkgs = {p.package: p for p in prep.packages}
    for p in prep.packages:
        for it in p.items:
            by_lot.setdefault(it.lot, []).append((it.cents, 1, p.package))
    for offers in by_lot.values():
        offers.sort()
    tried: set[tuple[int, int]] = set()
    free_in = {lot: sum(inst.lines[li].quantity for li in inst.lots[lot].lines) for lot in by_lot}
    INF = 1 << 62

    def supplier_of(kind: int, i: int) -> int:
        return inst.bids[i].supplier if kind == 0 else pkgs[i].supplier

    def is_open(lot: int, kind: int, i: int) -> bool:
        if (kind, i) in tried:
            return False
        s = supplier_of(kind, i)
        if kind == 1:
            return st.cap[s] >= pkgs[i].quantity
        return st.cap[s] > 0 and st.share_left(s, lot) > 0 and st.can_win(s, lot)

    def regret(lot: int) -> tuple[int, tuple[int, int] | None]:
        """(regret, the lot's cheapest open offer), regret 0 with no offer."""
        free = free_in[lot]
        if free <= 0:
            return 0, None
        first = None
        for cents, kind, i in by_lot[lot]:
            if not is_open(lot, kind, i):
                continue
            if first is None:
                first = (cents, supplier_of(kind, i), (kind, i))
            elif supplier_of(kind, i) != first[1]:
                return (cents - first[0]) * free, first[2]
        if first is None:
            return 0, None
        return INF, first[2]

    heap: list[tuple[int, str, int]] = []
    for lot in sorted(by_lot):
        r, offer = regret(lot)
        if offer is not None:
            heap.append((-r, inst.lots[lot].id, lot))
    heapq.heapify(heap)
    while heap:
        neg, _, lot = heapq.heappop(heap)
        r, offer = regret(lot)
        if offer is None:
            continue
        if r != -neg:  # changed since it was queued: back in line with its current regret
            heapq.heappush(heap, (-r, inst.lots[lot].id, lot))
            continue
        kind, i = offer
        tried.add(offer)
        if kind == 0:
            _place_bid(st, prep, i)
        elif _place_package(st, pkgs[i]):
            for it in pkgs[i].items:
                free_in[it.lot] -= it.quantity
        if kind == 0 and i in st.sol.bids:
            free_in[lot] -= sum(st.sol.bids[i].values())
        r, offer = regret(lot)
        if offer is not None:
            heapq.heappush(heap, (-r, inst.lots[lot].id, lot))
    return _finish(st, prep, repair)


def plain_greedy(
    inst: Instance, prep: Prepared, repair: bool = False, constructed: Callable[[Solution], object] | None = None
) -> Solution:
    st = _State(inst)
    offers: list[tuple[float, str, int, int | PackageOpt]] = []
    for bi, ts in prep.tiers_of_bid.items():
        offers.append((min(t.cents for t in ts), inst.bids[bi].id, 0, bi))
    for p in prep.packages:
        avg = sum(it.cents * it.quantity for it in p.items) / p.quantity
        offers.append((avg, inst.packages[p.package].id, 1, p))
    offers.sort(key=lambda o: (o[0], o[1]))
    for _, _, _, what in offers:
        if isinstance(what, int):
            _place_bid(st, prep, what)
        else:
            _place_package(st, what)
    return _finish(st, prep, repair, constructed)
