"""Large-neighbourhood search for big rounds (deterministic, adaptive, until its budget ends).

CP-SAT on the whole model of a 2,000-bid round spends its budget in presolve and LP; on a
few lots at a time it is fast. A neighbourhood is a set of lots: every source there is
freed, the rest of the award is fixed (suppliers' capacity shrinks by what they use
outside; with delivery quarters, the rest's quarters may move: _deliveries_outside). An awarded package that reaches outside stays awarded: its items inside are
part of the sub-round, forced, so their lines may move within the item but the package
is kept (pulling its other lots in made 4-lot neighbourhoods of 13 lots). The sub-round
is solved exactly as a small award (vehicles in the neighbourhood may not drop; more
vehicles, then a lower price, hinted with the current award) and replaces the
neighbourhood when it is better.

Neighbourhoods are shaped by the round's structure, in turn: consecutive lots (by id),
lots of one supplier (whose capacity moves between them), lots chained through the
suppliers awarded there, and a cluster of whole packages (CLUSTERS). Consecutive and
chained ones start at a lot drawn in proportion to what the award can still gain there (its
slack: cents paid above the lot's lowest offer, unserved vehicles first), so the work goes
where it can pay (measured on 2,000-bid rounds at equal work: bench/results/award_lns.md). Their size
adapts: one more lot after a sub-round proven optimal within half its work, one fewer
after a sub-round its work cut short; after a whole sweep without improvement the search
restarts from the best award with larger neighbourhoods. It goes on until its work budget
ends. Given several starts (the plain and the regret greedy), it first searches each for
TRIAL_SHARE of the work and then goes on with the search of the best award found. Every choice comes from a seeded generator and from CP-SAT's deterministic work, so
the search is the same on every machine; the wall clock only cuts it short (then the
caller reports "time").
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from solver.award.deliveries import (
    CapKey,
    GroupKey,
    Key,
    Schedule,
    group_key,
    room_left,
    schedule,
    source_quarters,
    supplier_of,
    used,
)
from solver.award.instance import Bid, Instance, Line, Package
from solver.award.prep import Prepared, prepare
from solver.award.solution import Solution, objective

# Neighbourhood size (lots): the first, and the range the adaptation keeps it in.
START_LOTS = 4
MIN_LOTS = 2
MAX_LOTS = 16
# Work (CP-SAT deterministic seconds) one sub-round may spend at most: SUB_WORK, or on rounds with
# little work per lot SUB_WORK_PER_LOT x the search's work per lot, at least MIN_SUB_WORK
# (sub_work). The size adaptation below grows a neighbourhood while it is proven within half of it,
# so a lower cap keeps neighbourhoods smaller and the search visits more lots: at 10,000 bids (500
# lots, 20 units) a 1.0 cap gave 24 sub-rounds of up to 14 lots, about half the lots visited once.
# Only for an award that serves the vehicle bound (the price alone is left to gain): on few-suppliers
# at 2,000 bids (400 lots, short of vehicles) the smaller sub-rounds found 14,943 vehicles, not 14,981.
SUB_WORK = 1.0
SUB_WORK_PER_LOT = 7.0
MIN_SUB_WORK = 0.25
# False: SUB_WORK on every round, as before (kept to measure the two side by side).
SCALED_SUB_WORK = True
# Work counted per sub-round besides CP-SAT's own, per allocation variable of the sub-model:
# building the model and CP-SAT's presolve cost several times its deterministic time on
# small models (a 4-lot sub-round: 0.07 deterministic, 0.36 s of CPU). Counting it keeps
# the work budget close to CPU seconds, so the default budget ends before the clock does.
WORK_PER_VAR = 1.0 / 5_000
SEED = 17
# Package swaps (_Shapes._swap: a package with the whole lots of the awarded packages overlapping
# it) among the kinds taken in turn; False: the four kinds before them, as before.
SWAPS = False
# Which kind of neighbourhood comes next: drawn in proportion to what each kind gained per unit of
# work lately (an adaptive LNS, after Ropke and Pisinger), once each has had WARMUP sub-rounds in
# turn; RATE_WEIGHT is the weight of the latest sub-round in a kind's moving average, MIN_SHARE the
# share of the draws each kind keeps. False: in turn (measured: bench.award_lns --compare adaptive;
# with about 20-50 sub-rounds per 2,000-bid search the draws did not learn enough to pay).
ADAPTIVE = False
# Each start improve_price is given (the plain and the regret greedy) that pays less per vehicle
# than the better one is first searched for this share of the work limit, the better one too;
# the rest goes on from the best award found. On the package-heavy
# 2,000-bid families the regret start, a few vehicles short, served them within the trial and
# ended 0.4-0.6 % cheaper than the plain start at equal work (bench.award_lns).
TRIAL_SHARE = 0.1
WARMUP = 2
RATE_WEIGHT = 0.3
MIN_SHARE = 0.05
# Chain and window neighbourhoods start at a lot drawn in proportion to the award's slack there
# (_Shapes.update); False: uniformly, as before (kept to measure the two side by side).
SLACK_WEIGHTED = True
# With quarterly capacities: a sub-round may move the deliveries of the rest of the award of the
# suppliers it involves (_deliveries_outside); False: they stay as the award's earliest schedule
# has them, as before (kept to measure the two side by side: bench.award_quarters --compare).
FREE_OUTSIDE_DELIVERIES = True
# The package kind of neighbourhood takes a cluster of packages (_Shapes._cluster: a package at a
# lot drawn by slack, then the packages overlapping the lots in, awarded ones and those with the
# fewest lots outside first, each whole): on the package-heavy 2,000-bid families (50-60 packages
# per lot) such a neighbourhood holds 2.5-3x the whole packages of one package's lots grown
# through suppliers, and few awarded packages cut through (which the sub-round must keep).
# False: one package's lots grown through suppliers, as before (bench.award_lns --compare clusters).
CLUSTERS = True
# The search for more vehicles in the short lots (solver.award.vehicles, served_starts) runs on
# every greedy start worth a trial (a lower price per vehicle), not only on the better one: on
# the package-heavy 2,000-bid families (seed 1) the regret start, 10-19 vehicles short, serves
# them there for about 1 unit of work and is then 0.9 % cheaper than the plain start with the
# same vehicles, so the price search starts from it (bench.award_lns --compare vehicle-starts).
# False: only the better start, as before.
VEHICLES_EVERY_START = True


@dataclass
class _Sub:
    inst: Instance
    bid_map: dict[int, int]  # sub bid -> bid
    pkg_map: dict[int, tuple[int, tuple[int, ...]]]  # sub package -> (package, its item indices inside)
    line_map: dict[int, int]  # sub line -> line
    forced: set[int]  # sub packages that must stay awarded (they reach outside)
    cur: Solution


def _sub_instance(inst: Instance, sol: Solution, lots: list[int], sched: Schedule | None = None) -> _Sub:
    """The sub-round on `lots` with everything else fixed, and the current award in it."""
    lotset = set(lots)
    used_outside = [0] * len(inst.suppliers)
    for bi, alloc in sol.bids.items():
        if inst.bids[bi].lot not in lotset:
            used_outside[inst.bids[bi].supplier] += sum(alloc.values())
    for pi in sol.packages:
        pkg = inst.packages[pi]
        used_outside[pkg.supplier] += sum(it.quantity for it in pkg.items if it.lot not in lotset)

    lot_ids = sorted(lotset, key=lambda i: inst.lots[i].id)
    lot_map = {old: new for new, old in enumerate(lot_ids)}
    lines: list[Line] = []
    line_map: dict[int, int] = {}
    new_lots = []
    for old in lot_ids:
        lot = inst.lots[old]
        idxs = []
        for li in lot.lines:
            line_map[li] = len(lines)
            idxs.append(len(lines))
            lines.append(replace(inst.lines[li], lot=lot_map[old]))
        new_lots.append(replace(lot, lines=tuple(idxs)))
    bid_map: dict[int, int] = {}
    bids: list[Bid] = []
    for bi, bid in enumerate(inst.bids):
        if bid.lot in lotset:
            bid_map[len(bids)] = bi
            bids.append(replace(bid, lot=lot_map[bid.lot]))
    pkg_map: dict[int, tuple[int, tuple[int, ...]]] = {}
    forced: set[int] = set()
    packages: list[Package] = []
    for pi, pkg in enumerate(inst.packages):
        inside = tuple(ii for ii, it in enumerate(pkg.items) if it.lot in lotset)
        if not inside:
            continue
        if len(inside) < len(pkg.items):
            if pi not in sol.packages:
                continue  # it would need lots outside: not part of this sub-round
            forced.add(len(packages))
        pkg_map[len(packages)] = (pi, inside)
        items = tuple(replace(pkg.items[ii], lot=lot_map[pkg.items[ii].lot]) for ii in inside)
        packages.append(replace(pkg, items=items))
    quarterly, outside = _deliveries_outside(
        inst, sol, lotset, sched, {b.supplier for b in bids} | {p.supplier for p in packages}
    )
    sub = Instance(
        suppliers=inst.suppliers,
        capacity=[max(0, c - u) for c, u in zip(inst.capacity, used_outside, strict=True)],
        lots=new_lots,
        lines=lines,
        bids=bids,
        packages=packages,
        max_winners=inst.max_winners,
        share=inst.share,
        whole=inst.whole,
        source_rank=inst.source_rank,
        quarterly=quarterly,
        span=inst.span,
        prefer_early=inst.prefer_early,
        outside=outside,
    )
    inv_bid = {old: new for new, old in bid_map.items()}
    cur = Solution()
    for bi, alloc in sol.bids.items():
        if bi in inv_bid:
            cur.bids[inv_bid[bi]] = {line_map[li]: q for li, q in alloc.items()}
    for spi, (pi, inside) in pkg_map.items():
        if pi in sol.packages:
            cur.packages[spi] = [{line_map[li]: q for li, q in sol.packages[pi][ii].items()} for ii in inside]
    return _Sub(sub, bid_map, pkg_map, {new: old for old, new in line_map.items()}, forced, cur)


def _deliveries_outside(
    inst: Instance, sol: Solution, lotset: set[int], sched: Schedule | None, movable: set[int]
) -> tuple[list[dict[CapKey, int]], list[tuple[GroupKey, int]]]:
    """What the award outside the neighbourhood leaves the sub-round of the suppliers' quarterly
    capacities: the suppliers with sources inside (`movable`) keep their whole capacities and
    the rest of their award comes as groups of vehicles whose quarters the sub-round may move
    (FREE_OUTSIDE_DELIVERIES; Instance.outside); the others' deliveries stay as `sched` (the
    award's earliest) has them. Any sub-round award then delivers together with the rest."""
    if not any(inst.quarterly):
        return inst.quarterly, []
    if sched is None:
        sched = schedule(inst, sol)
    assert sched is not None, "the current award is always deliverable"
    fixed: list[Key] = []
    groups: dict[GroupKey, int] = {}
    for key in sched:
        if inst.lines[key[3]].lot in lotset:
            continue
        s = supplier_of(inst, key)
        if FREE_OUTSIDE_DELIVERIES and s in movable and inst.quarterly[s]:
            gk = group_key(inst, s, key[3], source_quarters(inst, key))
            groups[gk] = groups.get(gk, 0) + sum(sched[key].values())
        else:
            fixed.append(key)
    outside = sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))
    return room_left(inst, used(inst, sched, fixed)), outside


def _merge(inst: Instance, sol: Solution, sub: _Sub, found: Solution) -> Solution:
    """`sol` with the neighbourhood replaced by the sub-round's award `found`."""
    inside_bids = set(sub.bid_map.values())
    new = Solution({bi: a for bi, a in sol.bids.items() if bi not in inside_bids}, {})
    partial = {pi for spi, (pi, inside) in sub.pkg_map.items() if spi in sub.forced}
    whole_inside = {pi for pi, _ in sub.pkg_map.values()} - partial
    for pi, items in sol.packages.items():
        if pi not in whole_inside:
            new.packages[pi] = [dict(a) for a in items]
    lm = sub.line_map
    for sbi, alloc in found.bids.items():
        new.bids[sub.bid_map[sbi]] = {lm[li]: q for li, q in alloc.items()}
    for spi, items in found.packages.items():
        pi, inside = sub.pkg_map[spi]
        if pi not in new.packages:
            new.packages[pi] = [{} for _ in inst.packages[pi].items]
        for ii, a in zip(inside, items, strict=True):
            new.packages[pi][ii] = {lm[li]: q for li, q in sorted(a.items())}
    new.bids = dict(sorted(new.bids.items()))
    new.packages = dict(sorted(new.packages.items()))
    return new


class _Shapes:
    """Neighbourhoods shaped by lots, suppliers and packages, drawn from a seeded generator."""

    KINDS = ("window", "supplier", "chain", "package", "swap")

    def __init__(self, inst: Instance):
        self.inst = inst
        self.rng = random.Random(SEED)
        n = len(inst.lots)
        self.n = n
        sup_lots: dict[int, set[int]] = {}
        lot_sups: list[set[int]] = [set() for _ in range(n)]
        for bid in inst.bids:
            sup_lots.setdefault(bid.supplier, set()).add(bid.lot)
            lot_sups[bid.lot].add(bid.supplier)
        for pkg in inst.packages:
            for it in pkg.items:
                sup_lots.setdefault(pkg.supplier, set()).add(it.lot)
                lot_sups[it.lot].add(pkg.supplier)
        self.sup_lots = {s: sorted(ls) for s, ls in sorted(sup_lots.items()) if len(ls) >= 2}
        self.suppliers = sorted(self.sup_lots)
        self.lot_sups = [sorted(s) for s in lot_sups]
        self.pkg_lots = [sorted({it.lot for it in p.items}) for p in inst.packages]
        self.turn = 0
        # The lowest unit price any source offers in each lot: what the award pays above it
        # there (its slack) is what a neighbourhood around the lot can save at most.
        self.floor = _lot_floor(inst)
        self.reachable = _reachable(inst)
        self.slack: list[int] = [1] * n
        self.lot_pkgs: list[list[int]] = [[] for _ in range(n)]
        for pi, lots in enumerate(self.pkg_lots):
            for lot in lots:
                self.lot_pkgs[lot].append(pi)
        self.awarded: set[int] = set()
        # Adaptive choice of the kind (ADAPTIVE): per kind, a moving average of what its
        # sub-rounds gained per unit of work, a vehicle counting above any price.
        self.vehicle_value = 1 + max((line.max_cents for line in inst.lines), default=0)
        self.rate = dict.fromkeys(self.KINDS, 0.0)
        self.tried = dict.fromkeys(self.KINDS, 0)

    def update(self, sol: Solution) -> None:
        """The award's slack per lot: cents paid above the lot's floor price, plus its vehicles
        left unserved on lines some offer reaches, each at 4x the floor (more vehicles come
        first); at least 1, so every lot can still be drawn."""
        inst = self.inst
        self.awarded = set(sol.packages)
        paid = [0] * self.n
        served = [0] * self.n
        for bi, alloc in sol.bids.items():
            q = sum(alloc.values())
            if q:
                bid = inst.bids[bi]
                paid[bid.lot] += q * (bid.tiers[bid.tier_at(q)].cents - self.floor[bid.lot])
                served[bid.lot] += q
        for pi in sol.packages:
            for it in inst.packages[pi].items:
                paid[it.lot] += it.quantity * (it.cents - self.floor[it.lot])
                served[it.lot] += it.quantity
        self.slack = [
            1 + max(0, paid[i]) + 4 * self.floor[i] * max(0, self.reachable[i] - served[i]) for i in range(self.n)
        ]

    def _weighted_lot(self) -> int:
        return self.rng.choices(range(self.n), weights=self.slack)[0]

    def kind(self) -> str:
        """The next kind: in turn for the first WARMUP rounds of each (and always without
        ADAPTIVE); then drawn in proportion to its recent gain per work, each kind keeping at
        least MIN_SHARE of the draws (the gains of a kind change as the award improves)."""
        kinds = self.KINDS if SWAPS else self.KINDS[:4]
        if not ADAPTIVE or self.turn < WARMUP * len(kinds):
            kind = kinds[self.turn % len(kinds)]
            self.turn += 1
            return kind
        self.turn += 1
        total = sum(self.rate[k] for k in kinds)
        if total <= 0:
            return self.rng.choice(kinds)
        floor = MIN_SHARE * total / (1 - MIN_SHARE * len(kinds))
        return self.rng.choices(kinds, weights=[self.rate[k] + floor for k in kinds])[0]

    def record(self, kind: str, vehicles: int, cents: int, work: float) -> None:
        """A sub-round of `kind` gained `vehicles` and saved `cents` for `work` units of work."""
        gain = vehicles * self.vehicle_value + cents
        self.tried[kind] += 1
        self.rate[kind] += RATE_WEIGHT * (gain / max(work, 1e-3) - self.rate[kind])

    def next(self, k: int) -> tuple[str, list[int]]:
        kind = self.kind()
        rng, n = self.rng, self.n
        k = min(k, n)
        if kind == "swap" and self.pkg_lots:
            return kind, self._swap(k)
        if kind == "supplier" and self.suppliers:
            lots = self.sup_lots[rng.choice(self.suppliers)]
            return kind, sorted(rng.sample(lots, min(k, len(lots)))) if len(lots) > k else list(lots)
        if kind == "package" and self.pkg_lots and CLUSTERS:
            return kind, self._cluster(k)
        if kind == "package" and self.pkg_lots:
            chosen = list(self.pkg_lots[rng.randrange(len(self.pkg_lots))])
            return kind, self._grow(chosen[:k], k)
        if kind == "chain":
            return kind, self._grow([self._weighted_lot() if SLACK_WEIGHTED else rng.randrange(n)], k)
        start = min(self._weighted_lot(), n - k) if SLACK_WEIGHTED else rng.randrange(max(1, n - k + 1))
        return "window", list(range(start, start + k))

    def _swap(self, k: int) -> list[int]:
        """A package of a lot drawn by slack, with the whole lots of every awarded package that
        overlaps it (while the neighbourhood stays within k lots, or the package's own size):
        one can then replace the others, which a neighbourhood cutting through them cannot
        (a package reaching outside stays as it is)."""
        rng = self.rng
        lot = self._weighted_lot()
        pkgs = self.lot_pkgs[lot]
        if not pkgs:
            return self._grow([lot], k)
        pi = rng.choice(pkgs)
        have = set(self.pkg_lots[pi])
        cap = max(k, len(have))
        for other in sorted({q for lo in sorted(have) for q in self.lot_pkgs[lo]} & self.awarded):
            more = have | set(self.pkg_lots[other])
            if len(more) <= cap:
                have = more
        return self._grow(sorted(have), k)

    def _cluster(self, k: int) -> list[int]:
        """Whole packages around a lot drawn by slack, up to k lots: a package there, then in turn
        the package overlapping the lots in that adds the fewest lots (awarded ones first: inside,
        the sub-round may drop them; ties drawn), then lots grown through suppliers. A sub-round
        can award or drop only packages wholly inside it."""
        rng = self.rng
        lot = self._weighted_lot()
        if not self.lot_pkgs[lot]:
            return self._grow([lot], k)
        have = set(self.pkg_lots[rng.choice(self.lot_pkgs[lot])][:k])
        while len(have) < k:
            best: tuple[tuple[int, int, float], int] | None = None
            for q in sorted({q for lo in have for q in self.lot_pkgs[lo]}):
                out = sum(1 for lo in self.pkg_lots[q] if lo not in have)
                if out == 0 or len(have) + out > k:
                    continue
                key = (0 if q in self.awarded else 1, out, rng.random())
                if best is None or key < best[0]:
                    best = (key, q)
            if best is None:
                break
            have.update(self.pkg_lots[best[1]])
        return self._grow(sorted(have), k)

    def _grow(self, lots: list[int], k: int) -> list[int]:
        """Add lots reached through the suppliers of lots already in, until there are k."""
        rng = self.rng
        have = set(lots)
        tries = 0
        while len(have) < k and tries < 4 * k:
            tries += 1
            sups = self.lot_sups[rng.choice(sorted(have))]
            if not sups:
                continue
            s = rng.choice(sups)
            if s in self.sup_lots:
                have.add(rng.choice(self.sup_lots[s]))
        return sorted(have)


def _lot_floor(inst: Instance) -> list[int]:
    floor = [1 << 62] * len(inst.lots)
    for bid in inst.bids:
        floor[bid.lot] = min(floor[bid.lot], min(t.cents for t in bid.tiers))
    for pkg in inst.packages:
        for it in pkg.items:
            floor[it.lot] = min(floor[it.lot], it.cents)
    return [0 if f == 1 << 62 else f for f in floor]


def _reachable(inst: Instance) -> list[int]:
    """Per lot, the vehicles of its lines that some offer there may serve (its price within the
    line's reserve, its supplier not excluded): what an award could serve at most, roughly."""
    best: dict[tuple[int, int], int] = {}  # (lot, supplier) -> its lowest unit price there
    for bid in inst.bids:
        c = min(t.cents for t in bid.tiers)
        best[bid.lot, bid.supplier] = min(c, best.get((bid.lot, bid.supplier), c))
    for pkg in inst.packages:
        for it in pkg.items:
            best[it.lot, pkg.supplier] = min(it.cents, best.get((it.lot, pkg.supplier), it.cents))
    offers: list[list[tuple[int, int]]] = [[] for _ in inst.lots]
    for (lot, s), c in sorted(best.items()):
        offers[lot].append((s, c))
    return [
        sum(
            inst.lines[li].quantity
            for li in lot.lines
            if any(c <= inst.lines[li].max_cents and s not in inst.lines[li].excluded for s, c in offers[i])
        )
        for i, lot in enumerate(inst.lots)
    ]


def worth_a_trial(inst: Instance, sol: Solution, other: Solution) -> bool:
    """Whether the start `other` pays less per vehicle than `sol`: only such a start is worth its
    trial (one both short of vehicles and dearer per vehicle ended worse: few-suppliers' plain
    start, 2,000 bids)."""
    v0, c0 = objective(inst, sol)
    v, c = objective(inst, other)
    return v > 0 and c * v0 < c0 * v


def served_starts(
    inst: Instance,
    prep: Prepared,
    sol: Solution,
    others: Sequence[Solution],
    *,
    deadline: float,
    work_limit: float,
    vbound: int,
) -> tuple[Solution, list[Solution], float, str]:
    """The search for more vehicles in the short lots (solver.award.vehicles.more_vehicles) on `sol`
    and, with VEHICLES_EVERY_START, on each other start worth a trial, within `work_limit` in all
    (each start in turn gets what the ones before left). Returns the best award (more vehicles,
    then the lower price), the other starts as improved, the work spent, and "time" when the clock
    ended it (else "work")."""
    from solver.award.vehicles import more_vehicles

    todo = [sol, *(o for o in others if VEHICLES_EVERY_START and worth_a_trial(inst, sol, o))]
    done: list[Solution] = []
    spent = 0.0
    ended = "work"
    for start in todo:
        if ended == "time" or objective(inst, start)[0] >= vbound or spent >= work_limit:
            done.append(start)
            continue
        found, work, ended = more_vehicles(inst, prep, start, deadline=deadline, work_limit=work_limit - spent)
        spent += work
        done.append(found)
    done += [o for o in others if not any(o is t for t in todo)]
    keys = [objective(inst, s) for s in done]
    best = max(range(len(done)), key=lambda i: (keys[i][0], -keys[i][1], -i))
    return done[best], [s for i, s in enumerate(done) if i != best], spent, "time" if ended == "time" else "work"


def sub_work(inst: Instance, work_limit: float | None) -> float:
    """The work one sub-round of a search on `work_limit` may spend at most (SUB_WORK above)."""
    if not SCALED_SUB_WORK or work_limit is None or not inst.lots:
        return SUB_WORK
    return min(SUB_WORK, max(MIN_SUB_WORK, SUB_WORK_PER_LOT * work_limit / len(inst.lots)))


def improve_price(
    inst: Instance,
    sol: Solution,
    *,
    deadline: float,
    work_limit: float | None,
    on_improve: Callable[[Solution], None],
    sub_time: float = 2.0,
    others: Sequence[Solution] = (),
    vbound: int | None = None,
) -> tuple[Solution, float, str]:
    """Better awards (more vehicles, then a lower price), neighbourhood by neighbourhood.
    When `sol` serves `vbound` (a proven vehicle bound), each sub-round gets sub_work, else SUB_WORK.

    With `others` (other starts, e.g. greedy.starts) and a work limit, `sol` and each other
    start of a lower price per vehicle are first searched for TRIAL_SHARE of the work; the
    search of the best award found then goes on (as it was: its neighbourhood size and draws)
    with the rest of the work.
    Returns the best award, the work spent, and what ended the search: "time" (the deadline),
    "work" (the work limit) or "done" (without a work limit: a sweep at the largest size found
    nothing better)."""
    reported = [objective(inst, sol)]

    def better(found: Solution) -> None:  # only awards better than all reported (other starts trail)
        v, c = objective(inst, found)
        if (v, -c) > (reported[0][0], -reported[0][1]):
            reported[0] = (v, c)
            on_improve(found)

    others = [o for o in others if worth_a_trial(inst, sol, o)]
    cap = sub_work(inst, work_limit) if vbound is not None and reported[0][0] >= vbound else SUB_WORK
    runs = [_Run(inst, start, deadline, better, sub_time, cap) for start in (sol, *others)]
    if len(runs) == 1 or work_limit is None:
        ended = runs[0].run(work_limit)
        return runs[0].sol, runs[0].work, ended
    for r in runs:
        ended = r.run(TRIAL_SHARE * work_limit)
        if ended == "time":
            break
    keys = [objective(inst, r.sol) for r in runs]
    best = max(range(len(runs)), key=lambda i: (keys[i][0], -keys[i][1], -i))
    spent = sum(r.work for r in runs)
    if ended != "time":
        ended = runs[best].run(work_limit - (spent - runs[best].work))
    return runs[best].sol, sum(r.work for r in runs), ended


class _Run:
    """One start's search (_search), resumable: the search of the best start goes on after the trial."""

    def __init__(
        self,
        inst: Instance,
        sol: Solution,
        deadline: float,
        on_improve: Callable[[Solution], None],
        sub_time: float,
        cap: float = SUB_WORK,
    ):
        self.sol = sol
        self.work = 0.0
        self.limit: float | None = None
        self.ended: str | None = None  # "time" or "done": the search cannot go on
        self._steps = _search(inst, self, deadline=deadline, on_improve=on_improve, sub_time=sub_time, cap=cap)

    def run(self, limit: float | None) -> str:
        """Search until `limit` work is spent in all (None: until it is done or the deadline)."""
        self.limit = limit
        while self.ended is None and (limit is None or self.work < limit):
            next(self._steps, None)
        return self.ended or "work"


def _search(
    inst: Instance,
    run: _Run,
    *,
    deadline: float,
    on_improve: Callable[[Solution], None],
    sub_time: float = 2.0,
    cap: float = SUB_WORK,
) -> Iterator[None]:
    """improve_price from one start (run.sol), one sub-round per step, each on at most `cap` work
    (sub_work); run.sol and run.work follow it, run.limit is the work it may spend in all,
    run.ended says why it cannot go on."""
    from solver.award.cpsat import AwardModel, model_size

    sol = run.sol
    work = 0.0
    shapes = _Shapes(inst)
    shapes.update(sol)
    k = START_LOTS
    sweep = max(8, len(inst.lots) // START_LOTS)  # sub-rounds without improvement before a restart
    failures = 0
    best = objective(inst, sol)
    sched_of: Solution | None = None
    sched: Schedule | None = None
    while True:
        run.sol, run.work = sol, work
        yield
        work_limit = run.limit
        if time.monotonic() >= deadline:
            run.ended = "time"
            return
        kind, lots = shapes.next(k)
        work_before = work
        if sched_of is not sol:  # the award's deliveries, computed again only when it changed
            sched_of, sched = sol, (schedule(inst, sol) if any(inst.quarterly) else None)
        sub = _sub_instance(inst, sol, lots, sched)
        sub_prep = prepare(sub.inst)
        v0, c0 = objective(sub.inst, sub.cur)
        model = AwardModel(sub.inst, sub_prep)
        forced_vars = [p.chosen for p in model.families.packages if p.opt.package in sub.forced]
        if len(forced_vars) < len(sub.forced):
            failures += 1  # a forced package dropped by the pre-processing: leave this one
            continue
        for var in forced_vars:
            model.model.add(var == 1)
        model.model.add(model.vehicles >= v0)
        model.hint(sub.cur)
        model.lex_weight = 1 + sum(line.quantity * line.max_cents for line in sub.inst.lines)
        if work_limit is None:
            budget, wl = min(sub_time, deadline - time.monotonic()), sub_time / 2
        else:  # deterministic: only the work limit stops a sub-solve (the deadline still bounds it)
            budget, wl = deadline - time.monotonic(), min(cap, max(0.01, work_limit - work))
        work += model_size(sub.inst, sub_prep) * WORK_PER_VAR
        if model.lex_fits:
            r = model.solve_phase(objective="lex", time_limit=budget, work_limit=wl, workers=1)
            work += r.deterministic_time
            timed_out, optimal, spent = r.timed_out, r.optimal, r.deterministic_time
        else:  # prices too large for one objective: vehicles, then price with them fixed
            r = model.solve_phase(objective="vehicles", time_limit=budget, work_limit=wl / 2, workers=1)
            work += r.deterministic_time
            timed_out, optimal, spent = r.timed_out, r.optimal, r.deterministic_time
            if r.solution is not None:
                model.model.add(model.vehicles >= objective(sub.inst, r.solution)[0])
                model.hint(r.solution)
                r2 = model.solve_phase(
                    objective="price",
                    time_limit=max(0.01, deadline - time.monotonic()),
                    work_limit=wl / 2,
                    workers=1,
                )
                work += r2.deterministic_time
                spent += r2.deterministic_time
                timed_out = timed_out or r2.timed_out
                optimal = optimal and r2.optimal
                r = r2 if r2.solution is not None else r
        if timed_out and work_limit is not None:
            # The clock cut this sub-solve short of its work: what it found depends on the
            # machine's speed, so it is not used (the award stays reproducible) and the
            # search ends here.
            run.work, run.ended = work, "time"
            return
        # Adapt the size: grow while sub-rounds are proven quickly, shrink when they are cut.
        if optimal and spent < wl / 2:
            k = min(MAX_LOTS, k + 1)
        elif not optimal:
            k = max(MIN_LOTS, k - 1)
        improved = False
        v1, c1 = (v0, c0) if r.solution is None else objective(sub.inst, r.solution)
        shapes.record(kind, v1 - v0, c0 - c1 if v1 == v0 else 0, work - work_before)
        if r.solution is not None and (v1, -c1) > (v0, -c0):
            new = _merge(inst, sol, sub, r.solution)
            vn, cn = objective(inst, new)
            # Deliverable by construction (the sub-round states the rest's deliveries as
            # groups, an exact form); checked here, where its schedule is needed anyway.
            new_sched = schedule(inst, new) if any(inst.quarterly) else None
            if (vn, -cn) > (best[0], -best[1]) and (new_sched is not None or not any(inst.quarterly)):
                sol, best, improved = new, (vn, cn), True
                sched_of, sched = sol, new_sched
                shapes.update(sol)
                on_improve(sol)
        if improved:
            failures = 0
            continue
        failures += 1
        if failures >= sweep:
            # A sweep without improvement: restart from the best award with larger neighbourhoods.
            if work_limit is None and k >= MAX_LOTS:
                run.sol, run.work, run.ended = sol, work, "done"
                return
            k = min(MAX_LOTS, k + 2)
            failures = 0
