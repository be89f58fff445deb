"""The award: which supplier's bid or package serves which demand line, at what price.

`award(doc, ...)` follows the solver contract (section 2): most vehicles first, then the
lowest total price, exact to the cent. Steps:

1. parse and validate the input (solver.award.instance), exact pre-processing (prep);
2. a greedy constructive award (greedy), always kept as the fallback;
3. the exact CP-SAT model (cpsat): when the bounds allow it, first the model where every
   servable line is served (if it has an award, the lowest price there is the optimum);
   otherwise most vehicles then lowest price as one objective (hinted with the greedy);
   then the tie-break below. Models too big for it are improved by a large-neighbourhood
   search instead (lns), with LP bounds (lpbound) computed beside it in a child process (lpchild).

Canonical tie-break (TIE_BREAK_RULE, also written in every result as stats.tie_break.rule).
Among awards with the most vehicles and the lowest price, the one returned has the least
T = sum over line allocations of x w(line, source), x = 1 for a line served whole (whole line
service), else the vehicles allocated; w = (source rank + 1) x (L + 1 + line rank) x 2^24 + 24
bits of a BLAKE2b hash of the two ids (cpsat.tie_weights): ranks in natural id order
(solver.order: "bid-2" before "bid-10"), lower sources and earlier lines preferred. The product makes swaps of two lines between two sources differ in T, and the hash
bits make the least T unique but with a probability below 10^-4 (isolation lemma). It runs on
a fresh model, from the proven optimum, class by class (cpsat.AwardModel.canonical), with one
worker and its own work limit (tie_break_work: TIE_BREAK_WORK, or what the exact search left of
the round's work limit); `stats.tie_break.applied` says whether T's
minimum was proven, in which case the award is the same whatever search (any worker count)
found the optimum. With two cores the tie-break starts while the exact search proves the optimum
and races a second search (solver.award.tiebreak): the same answer. Verified against exhaustive
enumeration in
tests/solver/test_award_tie_break.py and tests/solver/test_award_tie_break_classes.py.

Reproducible by default: every phase (exact search, neighbourhood search, tie-break) runs on
CP-SAT deterministic work, by default derived from the round (default_work_limit: its model size
and number of offers);
the LP bound (GLOP) is deterministic once it finishes. The wall clock `time_limit` is only a
safety cap: `stats.limits.stopped_by` says what ended the search ("nothing": it completed;
"work": a work limit, the same on every machine; "time": the clock, so a re-run on a slower or
busier machine may differ). The model is built in natural-id order with a fixed seed; several
workers use CP-SAT's deterministic interleaved search.

Bounds. `stats.bound_quantity` is a proven upper bound on vehicles; `stats.bound_price` a
proven lower bound on the total price of any award with at least `awarded_quantity`
vehicles (so it bounds the optimum's price whenever the vehicle count is optimal).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from solver.award.bounds import price_bound, servable_lines, vehicle_bound
from solver.award.greedy import starts
from solver.award.instance import Instance, parse
from solver.award.lpchild import BoundsChild, price_bound_counts
from solver.award.prep import Prepared, prepare
from solver.award.solution import Solution, objective, to_output
from solver.award.validate import validate_award
from solver.money import from_cents
from solver.progress import Progress, ProgressCallback

if TYPE_CHECKING:  # ortools loads with the model, not with `import solver`
    from solver.award import race, setproof, tiebreak
    from solver.award.cpsat import Canonical

__all__ = ["award", "price_bound_counts", "validate_award"]

# Model size (line-allocation variables) that decides the strategy. Up to it the whole
# model runs every phase (200 bids: ~2,000). Above it (2,000 bids: ~23,000) CP-SAT spent
# whole 25-40 s budgets in presolve without a solution, and on 25,000 bids its presolve did
# not finish in 90 s (up to 2.9 GB): the greedy award is improved by a deterministic
# large-neighbourhood search (solver.award.lns) while the LP relaxation (lpbound) gives
# the proven bounds on the second core.
MAX_GLOBAL_PRICE_VARS = 8_000
# Deterministic work the search for a first award serving every line may spend before the
# single-objective model takes over (measured on 200-bid rounds: a first award in 0.07-0.31,
# a proof that none exists in at most 0.42 when capacity is short).
SERVE_ALL_PROBE_WORK = 1.0
# Deterministic work (CP-SAT deterministic seconds) the tie-break search may always spend: on
# 200-bid rounds about 2 s of wall time; proving T's minimum class by class takes 1.2 on the
# default family's seed 1 (3.2 with the earlier infeasibility proof of "no other class") and now
# fits in it on regions too; over all the optima at once it took 15-20 on the default. It may also
# spend what the exact search left of the round's work limit (tie_break_work): the arbitrary
# family's 200-bid round (seed 1) needs 8.4 units to prove no other optimal class, after a price
# proof of 18.7 of its 30.
TIE_BREAK_WORK = 5.0
# The default work limits, in CP-SAT deterministic seconds, derived from the instance only (not
# from the time limit, so an exported award re-solved with other options gives the same bytes).
# Every phase runs on work, so the same input gives the same award on any machine and under any
# load; the wall clock is only a safety cap (stats.limits.stopped_by says "time" when it bound).
# Whole-round model: 30 (200-bid rounds proved in 2-9). Neighbourhood search (whose work also
# counts each sub-round's model building, solver.award.lns.WORK_PER_VAR): DEFAULT_WORK_LNS_BASE
# plus 1 per DEFAULT_OFFERS_PER_WORK offers (bids and packages), at most DEFAULT_WORK_LNS_MAX.
# Offers, not allocation variables: a package adds a variable per line of each of its lots, so on
# the package-heavy 2,000-bid families the former 10 + 1 per 2,000 variables gave 22.6-24.3
# against the default family's 20.5, while a unit cost as much CPU there or more: those three
# searches ended on the clock, not reproducible. A unit's CPU differs by shape and no cheap count
# predicts it (CP-SAT's CPU per deterministic second: 3.4-5.6 over the seven benchmark families),
# so the level is set by the dearest: quiet runs at 2,000 bids took 1.1 (many-suppliers) to 2.4
# or more (few-suppliers, idr-prices: ended on the clock) s of CPU per unit, and idr-prices
# cost 1.6x the default family's per unit side by side. 14 at 2,000 offers keeps the dearest
# within 0.75 of the 60 s limit with the LP bound on the other core; at 10,000 bids a default
# unit costs ~2.4 s of CPU (each sub-round walks the whole round), so 20 end after about 50 s of
# the benchmark's 120 s, leaving room for the dearer shapes and the backups. Figures and the
# command: bench/results/award_cpu.md (python -m bench.award_cpu).
DEFAULT_WORK_EXACT = 30.0
# The backups (solver.award.backups) run on their own deterministic work budget after the award,
# inside the call's time limit (a limit the coordinator sets is honoured). When the clock, not the
# work limit, ends the award's search, that search stops this share of the limit early so that the
# backups still get time: they took 0.5-5 % of the award's time on the benchmark's 200- and
# 2,000-bid rounds (bench/results/award_backups.md). On the work limit (the default budgets) the
# award is the same with and without backups.
BACKUP_CLOCK_SHARE = 0.2
# ... and the backups' search ends this share of the limit (at most 0.5 s) before the call's end, so
# that writing their rows stays inside the limit (at 25,000 bids on a 10 s limit the call ended 10 ms
# late when they searched to the very end).
BACKUP_OUTPUT_SHARE = 0.05
DEFAULT_WORK_LNS_BASE = 6.0
DEFAULT_OFFERS_PER_WORK = 250
DEFAULT_WORK_LNS_MAX = 20.0
# Rounds of at most MID_OFFERS offers without quarterly capacities get MID_FACTOR x that (24 at
# 2,000 bids instead of 14): their search is the short side of the price gap (regions, 2,000 bids,
# seed 1: 1.233 % at 14 units, 1.064 % at 20, 0.975 % at 24), and a unit costs them 1.1-1.7 s of CPU,
# so 24 keep the dearest family (idr-prices) within 0.75 of the 60 s limit (bench/results/award_cpu.md).
# Not larger rounds: at 10,000 bids more work was not better (tiers-1-15 at 28 units ended dearer
# than at 20) and a unit costs more; nor quarterly rounds, whose unit costs about 2.3 s (2,000 bids,
# 14 units in 35 s): 24 would end them on the clock.
MID_OFFERS = 2_000
MID_FACTOR = 24 / 14
# Share of a large round's work the search for more vehicles in the lots served below their bound
# (solver.award.vehicles) may spend before the neighbourhood search; it ends sooner when a pass
# gains nothing. few-suppliers, 2,000 bids, seed 1: 14,992 vehicles after 17.5 units there, where
# the neighbourhood search alone reached 14,798 in 22 (python -m bench.award_vehicles). 0: as before.
VEHICLE_SHARE = 0.5
# ... then, where that search ran out of its work before settling (at 10,000 bids: few-suppliers),
# package moves scored exactly per lot (solver.award.chains) on their own work of this share of the
# round's: few-suppliers, 10,000 bids, seed 1, the award 74,103 -> 74,212 of 75,083 vehicles and
# the gap 2.027 -> 1.966 %, main process 69.8 -> 71.8 s of CPU (python -m bench.award_cpu, beside
# --solver-path main 4d81d5e's). Not where it settles: at 2,000 bids they added 6 vehicles
# (15,076 -> 15,082) but the gap rose 1.096 -> 1.258 %. 0: as before.
CHAIN_SHARE = 0.5
# The price and vehicle proofs order interchangeable lines (solver.award.rules.symmetry); False: as
# before (kept to measure the two side by side: python -m bench.award_proof).
PROOF_SYMMETRY = True
# The tie-break's proof that the optima have no other class orders them too: swapping what two
# interchangeable lines receive keeps an award's class (each tier's quantity, each package chosen
# or not), so every class keeps an award in the ordered model; the least T within a class and T
# over all the optima still run on models without it. Measured from the proven optimum on the
# default 200-bid rounds, seeds 1-5: 12.3 -> 7.4 units of work in all, median 0.56x per round
# (bench/results/award_exact.md). False: as before (python -m bench.award_tie_break compares).
TIE_SYMMETRY = True
# With two cores the tie-break starts on the best award so far while the exact search proves it,
# and races a second search once it is proven (solver.award.tiebreak); False: only the race.
TIE_EARLY = True
# ... once the exact search's best award has stayed the best for this many seconds of the process's
# CPU (it decides when the answer comes, never which: solver.award.tiebreak.Speculation).
TIE_EARLY_DELAY = 0.3
# Before the CP-SAT proofs, the package-set program's exact proof (solver.award.setproof) where the
# tables' estimated work is at most setproof.MAX_TABLE_WORK and no capacity binds. False: as before.
SET_PROOF = True
# ... and after such a proof the tie-break on the program's tables (solver.award.settie), the class
# search only where it cannot tell the rule's award. False: the class search, as before.
SET_TIE_BREAK = True
# The whole-round model's proof of the optimum (phases 1 and 2 of _exact) races a second search with
# these CP-SAT parameters on top of its own, then the tie-break runs on the first proven optimum
# (race.two_stage: the same answer as on one core, where the second search runs only when the first
# proved nothing). In place of TIE_EARLY, which would be a third search on two cores. False: as before.
PRICE_RACE = True
PRICE_SECOND_PARAMS: dict[str, object] = {"random_seed": 1}
# ... on this share of the round's work limit: ended without a proof, it leaves its core to the early
# tie-break on the primary's best awards (TIE_EARLY).
PRICE_SECOND_SHARE = 0.2
# Only rounds whose greedy award already serves every servable line are raced (the serve_all price
# proof from the start; 200-bid families default, idr-prices, many-suppliers, tiers-1-15): there the
# proof finds its optimum at its very end (default, seed 1: the last of 15 awards at 2.66 of 2.88 s
# of CPU; tiers-1-15 at 0.57 of 0.57), so the early tie-break has nothing to overlap and the core is
# better spent on a second search. The others keep the early tie-break: regions' optimum comes at
# 2.8 of the proof's 5.2 units and the tie-break from it takes 2.5, which it overlaps.
PRICE_RACE_SERVED_ONLY = True
# ... and whose bids' tiers are close in price: the mean discount from one tier to the next below this
# share. Far apart (tiers-1-15: 8.5 % on average) the proof is short (0.31 units of work, seed 1) and the
# second search only costs (critical path 1.67 -> 1.81 s raced); close (default, idr-prices,
# many-suppliers: 2.6 %) it is long (1.7 units) and another seed's proof is often shorter (1.24 units on
# default and idr-prices, 1.43 on many-suppliers). None: any tier spacing.
PRICE_RACE_MAX_TIER_STEP: float | None = 0.05


def default_work_limit(size: int, offers: int, quarterly: bool = False) -> float:
    """The default work limit of a round with `size` allocation variables (cpsat.model_size) and
    `offers` bids and packages, `quarterly` when some supplier has quarterly capacities: the
    whole-round model's, or the neighbourhood search's (rounded to hundredths, as the output states
    it; MID_FACTOR x more up to MID_OFFERS offers without quarterly capacities)."""
    if size <= MAX_GLOBAL_PRICE_VARS:
        return DEFAULT_WORK_EXACT
    work = min(DEFAULT_WORK_LNS_MAX, DEFAULT_WORK_LNS_BASE + offers / DEFAULT_OFFERS_PER_WORK)
    if offers <= MID_OFFERS and not quarterly:
        work *= MID_FACTOR
    return round(work, 2)


# The tie-break, as the output document states it (stats.tie_break.rule).
TIE_BREAK_RULE = (
    "among awards with the most vehicles and the lowest price, the one of least T = sum over line"
    " allocations of x w, x = 1 for a line served whole (whole line service), else its vehicles;"
    " w = (source rank + 1) x (L + 1 + line rank) x 2^k + the first k"
    " bits of BLAKE2b-64(line id, NUL, source id); ranks count from 0 in natural id order ('bid-2'"
    " before 'bid-10'; bids and packages together; lines by lot id, then line id); L = number of"
    " lines; k = 24. applied: that least T is proven"
)
# Said in stats.search when the exact model cannot be built (CP-SAT computes in 64-bit integers).
PRICES_TOO_LARGE = "greedy: prices x quantities of this round exceed the exact model's 64-bit integers"


class _Best:
    def __init__(self, inst: Instance, sol: Solution, t0: float, progress: ProgressCallback | None):
        self.inst = inst
        self.sol = sol
        self.vehicles, self.cents = objective(inst, sol)
        self.t0 = t0
        self.progress = progress
        self.vbound = 0
        self.pbound = 0
        self.note: str | None = None
        self.canonical = False  # the award is the canonical one among the proven optima
        self.early = False  # prefer_early_delivery: the earliest deliveries among the optima, proven
        self.stops: set[str] = set()  # limits that ended a phase early: "work", "time"
        self.others: list[Solution] = []
        self.exact_work = 0.0  # deterministic work the exact phases spent (CP-SAT's own count)
        self.on_better: Callable[[], None] | None = None  # called on every better award

    @property
    def proven(self) -> bool:
        """Both objectives proven: the most vehicles possible, and the lowest price for them."""
        return self.vehicles >= self.vbound and self.cents <= self.pbound

    def offer(self, sol: Solution, phase: str) -> None:
        v, c = objective(self.inst, sol)
        if (v, -c) > (self.vehicles, -self.cents):
            self.sol, self.vehicles, self.cents = sol, v, c
            self.report(phase)
            if self.on_better is not None:
                self.on_better()

    def report(self, phase: str) -> None:
        if self.progress is not None:
            self.progress(
                Progress(
                    phase=phase,
                    elapsed=time.monotonic() - self.t0,
                    quantity=self.vehicles,
                    quantity_bound=self.vbound,
                    price=from_cents(self.cents),
                    price_bound=from_cents(self.pbound),
                )
            )


def award(
    doc: Mapping[str, Any],
    *,
    time_limit: float = 60.0,
    work_limit: float | None = None,
    workers: int = 1,
    progress: ProgressCallback | None = None,
    exact: bool = True,
    backups: bool = True,
) -> dict[str, Any]:
    """Award lots to bids and packages (contract section 2). Raises InvalidInput on a bad document.

    `exact=False` returns the greedy award with its cheap bounds (for benchmarks and tests).
    `backups=False` (or the input's `rules.backups: false`) leaves out the backup winners
    (solver.award.backups) and their `backups` list.
    A progress callback that raises (e.g. solver.errors.Cancelled) stops the solve; the
    exception propagates to the caller.
    """
    t0 = time.monotonic()
    end = t0 + max(0.0, float(time_limit))
    inst = parse(doc)
    with_backups = backups and bool((doc.get("rules") or {}).get("backups", True))
    deadline = end - (BACKUP_CLOCK_SHARE * max(0.0, float(time_limit)) if with_backups else 0.0)
    prep = prepare(inst)
    from solver.award.cpsat import model_size

    size = model_size(inst, prep)
    # large rounds: the starts repaired for vehicles (solver.award.repair); the whole-round model
    # of smaller ones proves the optimum from the plain starts
    from solver.award.repair import MAX_OFFERS

    repair = size > MAX_GLOBAL_PRICE_VARS and len(inst.bids) + len(inst.packages) <= MAX_OFFERS
    vbound = vehicle_bound(inst, prep)

    def bounded(sol: Solution) -> _Best:
        """A best award `sol` with the cheap bounds, reported as the greedy phase's."""
        b = _Best(inst, sol, t0, progress)
        b.vbound = max(b.vehicles, vbound)
        b.pbound = min(b.cents, price_bound(inst, prep, b.vehicles))
        b.report("greedy")
        return b

    # the first construction is reported before the repair's moves (8 s of CPU for both starts of
    # few-suppliers at 10,000 bids), so the first feasible award comes as early as without them
    first, *others = starts(inst, prep, repair, bounded if repair and progress is not None else None)
    best = bounded(first)
    if repair:  # each lot's exact vehicle maximum where lotdp solves it, mostly solved by the repair already
        from solver.award.vehicles import exact_lot_caps, served_per_lot

        best.vbound = max(best.vehicles, min(best.vbound, sum(exact_lot_caps(inst, prep, served_per_lot(inst, first)))))
    best.others = others  # the other greedy start, which the neighbourhood search tries too
    search = "greedy"
    if work_limit is None:
        work_limit = default_work_limit(size, len(inst.bids) + len(inst.packages), any(inst.quarterly))
    lp: BoundsChild | None = None
    if exact and not best.proven and size > MAX_GLOBAL_PRICE_VARS:
        lp = BoundsChild(
            inst, prep, best.vehicles, best.vbound, size, deadline - _reserve(inst, time_limit), best.cents
        )
    proof = None
    if SET_PROOF and exact and not best.proven and size <= MAX_GLOBAL_PRICE_VARS:
        proof = _set_proof(inst, prep, best, deadline - _reserve(inst, time_limit))
    if best.proven and best.exact_work:
        search = "cp-sat"  # (the package-set program's CP-SAT proved it)
    raced = PRICE_RACE and exact and not best.proven and size <= MAX_GLOBAL_PRICE_VARS
    if raced and PRICE_RACE_SERVED_ONLY:
        raced = best.vehicles >= sum(inst.lines[li].quantity for li in servable_lines(prep))
    if raced and PRICE_RACE_MAX_TIER_STEP is not None:
        raced = _mean_tier_step(inst) < PRICE_RACE_MAX_TIER_STEP
    early = (
        None
        if raced
        else _speculation(inst, prep, best, deadline - _reserve(inst, time_limit), work_limit, exact, size)
    )
    if raced:
        search = "cp-sat"
        best = _raced(inst, prep, best, deadline, time_limit, work_limit, workers, size)
    elif exact and not best.proven:
        search = "cp-sat" if size <= MAX_GLOBAL_PRICE_VARS else "cp-sat+lns"
        try:
            _exact(inst, prep, best, deadline, time_limit, work_limit, workers, size)
        except BaseException:
            if lp is not None:  # e.g. Cancelled: do not leave the LP child running
                lp.collect(0.0, 0)
            if early is not None:
                early.close()
            raise
    best.on_better = None
    running = None if early is None else early.take((best.vehicles, best.cents, best.sol))
    try:
        if exact and best.proven and size <= MAX_GLOBAL_PRICE_VARS and not raced:
            tie_work = tie_break_work(work_limit, best.exact_work)
            if proof is not None and SET_TIE_BREAK:
                _set_tie_break(inst, best, proof)
            if not best.canonical:
                _tie_break(inst, prep, best, deadline - _reserve(inst, time_limit), tie_work, running)
    finally:
        if running is not None:
            running.end()

    if lp is not None:
        if not lp.collect(deadline - time.monotonic() - _reserve(inst, time_limit), best.vehicles):
            best.stops.add("time")
        elif lp.capped:  # the LP's work limit (lpchild.LARGE_PLAN_WORK), the same on every machine
            best.stops.add("work")
        if lp.vbound is not None and lp.vbound < best.vbound:
            best.vbound = max(best.vehicles, lp.vbound)
        lp_price = lp.price_bound(best.vehicles)
        if lp_price is not None:
            best.pbound = min(best.cents, max(best.pbound, lp_price))
    if best.note:
        search = best.note
    if exact and not best.proven and not best.stops:
        best.stops.add("work")
    status = "OPTIMAL" if best.proven else "FEASIBLE"
    if status == "OPTIMAL":
        best.vbound, best.pbound = best.vehicles, best.cents
    best.report("done")
    result = to_output(
        inst,
        prep,
        best.sol,
        status=status,
        bound_quantity=best.vbound,
        bound_cents=best.pbound,
        seconds=time.monotonic() - t0,
        search=search,
        tie_break={"rule": TIE_BREAK_RULE, "applied": best.canonical},
        early_delivery={"applied": best.early} if inst.prefer_early and inst.with_quarters else None,
        limits={
            "work_limit": work_limit,
            "stopped_by": "time" if "time" in best.stops else "work" if "work" in best.stops else "nothing",
        },
    )
    if with_backups:
        # the backups' search stops a little before the end: writing their rows comes after it
        _add_backups(
            inst, best.sol, result, end - min(BACKUP_OUTPUT_SHARE * max(0.0, float(time_limit)), 0.5), t0, work_limit
        )
    return result


def _set_proof(inst: Instance, prep: Prepared, best: _Best, deadline: float) -> setproof.Proof | None:
    """The optimum proven by the package-set program (solver.award.setproof), where it can."""
    from solver.award import setproof

    proof = setproof.prove(inst, prep, best.sol, deadline=deadline)
    if proof is None:
        return None
    best.exact_work += proof.work
    best.offer(proof.award, "exact")
    best.vbound, best.pbound = best.vehicles, best.cents
    best.report("exact")
    return proof


def _set_tie_break(inst: Instance, best: _Best, proof: setproof.Proof) -> None:
    """The rule's award from the package-set program that proved the optimum (solver.award.settie,
    on its own work limit), where it can tell it (best.canonical then)."""
    from solver.award import settie

    sol, _ = settie.canonical(inst, proof, settie.WORK)
    if sol is not None:
        best.sol, best.canonical = sol, True


def _speculation(
    inst: Instance, prep: Prepared, best: _Best, deadline: float, work_limit: float | None, exact: bool, size: int
) -> tiebreak.Speculation | None:
    """With two cores, the tie-break started on every better award of the exact search, on the most
    work it may get (tie_break_work), so that it is under way when the optimum is proven (TIE_EARLY)."""
    from solver.award import race, tiebreak

    if not (TIE_EARLY and exact and not best.proven and size <= MAX_GLOBAL_PRICE_VARS and race.cores() >= 2):
        return None
    most = tie_break_work(work_limit, 0.0)
    spec = tiebreak.Speculation(lambda optimum: _tie_search(inst, prep, optimum, deadline)(most, {}), TIE_EARLY_DELAY)
    best.on_better = lambda: spec.restart((best.vehicles, best.cents, best.sol))
    return spec


def _mean_tier_step(inst: Instance) -> float:
    """The mean relative discount from a bid's tier to its next (0 without tiered bids)."""
    steps = [
        (a.cents - b.cents) / a.cents
        for bid in inst.bids
        for a, b in zip(bid.tiers, bid.tiers[1:], strict=False)
        if a.cents
    ]
    return sum(steps) / len(steps) if steps else 0.0


def _raced(
    inst: Instance,
    prep: Prepared,
    best: _Best,
    deadline: float,
    time_limit: float,
    work_limit: float | None,
    workers: int,
    size: int,
) -> _Best:
    """The exact search (_exact) and the tie-break with the proof raced (PRICE_RACE): each search
    improves its own copy of `best`; the one returned is the first to prove the optimum, with its
    tie-break applied (race.two_stage). The second search has PRICE_SECOND_SHARE of the work; once
    it has ended without a proof, the tie-break starts early on the primary's best awards (TIE_EARLY)
    on the core it leaves."""
    from solver.award import race

    spec = _speculation(inst, prep, best, deadline - _reserve(inst, time_limit), work_limit, True, size)
    primary: list[_Best] = []

    def stage(
        params: Mapping[str, object], progress: ProgressCallback | None, share: float, mine: list[_Best] | None
    ) -> Callable[[race.Stop], _Best]:
        def run() -> _Best:
            b = copy.copy(best)
            b.stops, b.others, b.progress, b.on_better = set(best.stops), list(best.others), progress, None
            if mine is not None:
                mine.append(b)
            work = None if work_limit is None else work_limit * share
            _exact(inst, prep, b, deadline, time_limit, work, workers, size)
            if mine is None and not b.proven and spec is not None and primary:
                a = primary[0]  # the second search proved nothing: the early tie-break on its core
                a.on_better = lambda: spec.restart((a.vehicles, a.cents, a.sol))
                a.on_better()
            return b

        return race.hooked(run, params)

    def finish(b: _Best) -> bool:
        b.progress, b.on_better = best.progress, None
        tie_work = tie_break_work(work_limit, b.exact_work)
        running = None if spec is None else spec.take((b.vehicles, b.cents, b.sol))
        try:
            return _tie_break(inst, prep, b, deadline - _reserve(inst, time_limit), tie_work, running)
        finally:
            if running is not None:
                running.end()

    # (only the primary reports progress: the other's awards are its own copy's)
    first = stage({}, best.progress, 1.0, primary)
    second = stage(PRICE_SECOND_PARAMS, None, PRICE_SECOND_SHARE, None)
    try:
        return race.two_stage(first, second, lambda b: b.proven, finish)
    finally:
        if spec is not None:
            spec.close()


def _add_backups(
    inst: Instance, sol: Solution, result: dict[str, Any], deadline: float, t0: float, award_work: float
) -> None:
    """The backup winners of the award (solver.award.backups), after `unserved`; stats.backups
    says how many there are, how many are proven best and canonical, their work budget, and
    what cut them short."""
    from solver.award import backups

    work = backups.default_work_limit(award_work)
    found, stopped_by = backups.compute(inst, sol, deadline=deadline, work_limit=work)
    stats = result.pop("stats")
    result["backups"] = backups.to_output(inst, sol, found)
    stats["backups"] = {
        "count": len(found),
        "proven": sum(b.proven for b in found),
        "tie_break": {"rule": backups.TIE_RULE, "applied": sum(b.canonical for b in found)},
        "work_limit": work,
        "stopped_by": stopped_by,
    }
    stats["solve_seconds"] = round(time.monotonic() - t0, 3)
    result["stats"] = stats


def _reserve(inst: Instance, time_limit: float) -> float:
    """Seconds kept back for writing the result and finishing a neighbourhood (measured on
    a loaded 2-core machine: 2-3 s for 25,000 bids)."""
    return min(0.25 * time_limit, 1.0 + len(inst.lines) / 5_000 + len(inst.bids) / 12_500)


def _more_vehicles(
    inst: Instance, prep: Prepared, best: _Best, deadline: float, work_left: float | None
) -> float | None:
    """The search in the lots served below their bound (solver.award.vehicles) on VEHICLE_SHARE of
    the work, before the neighbourhood search: the work left after it ("time" in best.stops when
    the clock ended it)."""
    if not VEHICLE_SHARE or work_left is None or best.vehicles >= best.vbound:
        return work_left
    from solver.award.lns import served_starts

    # on every start worth a trial (lns.VEHICLES_EVERY_START); the others go on to the price search
    sol, best.others, spent, ended = served_starts(
        inst, prep, best.sol, best.others, deadline=deadline, work_limit=VEHICLE_SHARE * work_left, vbound=best.vbound
    )
    best.offer(sol, "lns")
    from solver.award.vehmaster import proven_bound

    proven = proven_bound(inst)  # the exact maximum over the packages' choices, when it ran
    if proven is not None:
        best.vbound = max(best.vehicles, min(best.vbound, proven))
    if ended == "time":
        best.stops.add("time")
    elif CHAIN_SHARE and best.vehicles < best.vbound and spent >= VEHICLE_SHARE * work_left:
        from solver.award import chains
        from solver.award.vehicles import exact_lot_caps, served_per_lot

        caps = exact_lot_caps(inst, prep, served_per_lot(inst, best.sol))
        sol, _, ended = chains.more_vehicles(
            inst, prep, best.sol, caps, deadline=deadline, work_limit=CHAIN_SHARE * work_left
        )
        best.offer(sol, "lns")
        if ended == "time":
            best.stops.add("time")
    return work_left - spent


def _exact(
    inst: Instance,
    prep: Prepared,
    best: _Best,
    deadline: float,
    time_limit: float,
    work_limit: float | None,
    workers: int,
    size: int,
) -> None:
    """Improve `best` and its bounds within the deadline and work limit."""
    from solver.award.cpsat import AwardModel, PhaseResult

    reserve = _reserve(inst, time_limit)
    work_left = work_limit

    def remaining() -> float:
        return deadline - time.monotonic() - reserve

    def can_search() -> bool:
        return remaining() > 0.05 and (work_left is None or work_left > 0)

    if size > MAX_GLOBAL_PRICE_VARS:
        # Large models: the greedy award improved by a large-neighbourhood search (more vehicles
        # where it can, then price); the LP child gives the bounds.
        from solver.award.lns import improve_price

        def on_improve(sol: Solution) -> None:
            best.offer(sol, "lns")

        # (when the clock ended it, the neighbourhood search ends at once too)
        work_left = _more_vehicles(inst, prep, best, deadline - reserve, work_left)
        sol, _, ended = improve_price(
            inst,
            best.sol,
            deadline=deadline - reserve,
            work_limit=work_left,
            on_improve=on_improve,
            others=best.others,
            vbound=best.vbound,
        )
        if ended != "done":
            best.stops.add(ended)
        best.offer(sol, "lns")
        best.vbound = max(best.vbound, best.vehicles)
        best.pbound = min(best.cents, max(best.pbound, price_bound(inst, prep, best.vehicles)))
        return

    cheap_bound = {best.vehicles: best.pbound}

    def cheap(v: int) -> int:
        if v not in cheap_bound:
            cheap_bound[v] = price_bound(inst, prep, v)
        return cheap_bound[v]

    def on_solution(sol: Solution) -> None:
        best.offer(sol, "exact")

    def run(
        model: AwardModel,
        goal: Literal["lex", "vehicles", "price"],
        on_bound: Callable[[int], None],
        work_cap: float | None = None,
        **kw: Any,
    ) -> PhaseResult:
        nonlocal work_left
        caps = [c for c in (work_cap, None if work_left is None else work_left * 0.8) if c is not None]
        r = model.solve_phase(
            objective=goal,
            time_limit=remaining(),
            work_limit=min(caps) if caps else None,
            workers=workers,
            on_solution=on_solution,
            on_bound=on_bound,
            proof=True,
            **kw,
        )
        best.exact_work += r.deterministic_time
        if work_left is not None:
            work_left -= r.deterministic_time
        if r.timed_out:
            best.stops.add("time")
        elif not (r.optimal or r.infeasible or kw.get("first_solution_only")):
            best.stops.add("work")
        if r.solution is not None:
            best.offer(r.solution, "exact")
        return r

    # 1. When the bounds allow serving every servable line, try the model that requires it:
    # if it has a solution, its awards are exactly those with the most vehicles, and the
    # lowest price among them is proven several times faster than through phase 2's single
    # objective. Unless the greedy award already serves every line, first look for one such
    # award only (stopping at the first); none (proven, or none found) falls through to 2.
    servable = sum(inst.lines[li].quantity for li in servable_lines(prep))
    model: AwardModel | None = None
    if best.vbound >= servable and can_search():
        model = AwardModel(inst, prep, serve_all=True, symmetry=PROOF_SYMMETRY)
        if not model.price_fits:
            best.note = PRICES_TOO_LARGE
            return

        def on_price_bound(b: int) -> None:
            if best.vehicles == servable:  # b bounds the price of awards serving every line
                best.pbound = min(best.cents, max(cheap(servable), b))
                best.report("exact")

        model.hint(best.sol)
        if best.vehicles < servable:
            r = run(model, "price", on_price_bound, work_cap=SERVE_ALL_PROBE_WORK, first_solution_only=True)
            if r.solution is None:
                if r.infeasible:
                    best.vbound = max(best.vehicles, min(best.vbound, servable - 1))
                model = None
            elif can_search():
                model.hint(best.sol)
        if model is not None and best.vehicles == servable:
            best.vbound = servable
            best.pbound = min(best.cents, cheap(servable))
            if can_search():
                r = run(model, "price", on_price_bound)
                if r.optimal:
                    best.pbound = best.cents
                elif r.bound is not None:
                    on_price_bound(r.bound)
            best.report("exact")

    # 2. Most vehicles then lowest price as one objective: maximize vehicles x W - cents, where W
    # exceeds any award's price, hinted with the best award so far. Measured on 200-bid rounds:
    # 1.4-9 s to the proven optimum, where a vehicles phase and then a price phase took 19 s or
    # more (the second presolve and the lost search state cost more than the larger coefficients).
    if model is None and can_search():
        model = AwardModel(inst, prep, symmetry=PROOF_SYMMETRY)
        if not model.price_fits:
            best.note = PRICES_TOO_LARGE
            return
    if model is not None and not model.serve_all and not model.lex_fits and model.price_fits and can_search():
        # Prices too large for one objective (vehicles x W overflows 64 bits): most vehicles,
        # then the lowest price with the vehicles fixed at the best count. Both stay exact.
        def on_vehicle_bound(b: int) -> None:
            best.vbound = max(best.vehicles, min(best.vbound, b))
            best.report("exact")

        model.hint(best.sol)
        r = run(model, "vehicles", on_vehicle_bound, work_cap=None if work_left is None else work_left / 2)
        if r.optimal:
            best.vbound = best.vehicles
        elif r.bound is not None:
            on_vehicle_bound(r.bound)
        if can_search():
            model.model.add(model.vehicles >= best.vehicles)
            v_fixed = best.vehicles

            def on_fixed_price_bound(b: int) -> None:
                if best.vehicles == v_fixed:  # b bounds the price of awards with >= v_fixed vehicles
                    best.pbound = min(best.cents, max(cheap(v_fixed), b))
                    best.report("exact")

            model.hint(best.sol)
            r = run(model, "price", on_fixed_price_bound)
            if r.optimal and best.vehicles == v_fixed:
                best.pbound = best.cents
            elif r.bound is not None:
                on_fixed_price_bound(r.bound)
        best.report("exact")
    elif model is not None and not model.serve_all and model.lex_fits and can_search():
        W = model.lex_weight
        lex_bound: list[int] = []

        def bounds_from(b: int) -> None:
            # Every award has vehicles x W - cents <= b and 0 <= cents < W, so vehicles <= ceil(b / W)
            # and an award with at least v vehicles costs at least v x W - b.
            lex_bound[:] = [b]
            v = best.vehicles
            best.vbound = max(v, min(best.vbound, -(-b // W)))
            best.pbound = min(best.cents, max(cheap(v), v * W - b))

        def on_lex_bound(b: int) -> None:
            bounds_from(b)
            best.report("exact")

        model.hint(best.sol)
        r = run(model, "lex", on_lex_bound)
        if r.optimal:
            best.vbound, best.pbound = best.vehicles, best.cents
        elif r.bound is not None:
            bounds_from(r.bound)
        elif lex_bound:
            bounds_from(lex_bound[0])  # the best vehicles count may have grown since
        best.report("exact")


def tie_break_work(work_limit: float | None, spent: float) -> float:
    """The tie-break's work limit: TIE_BREAK_WORK, or what the exact search left of the round's work
    limit when that is more, never more than the work limit itself. One budget for the exact phases:
    with the tie-break they spend at most max(work limit, exact work + TIE_BREAK_WORK) units, never
    above the former ceiling (work limit + TIE_BREAK_WORK), and a class proof the price proof left
    room for is finished rather than cut at TIE_BREAK_WORK."""
    if work_limit is None:
        return TIE_BREAK_WORK
    return min(work_limit, max(TIE_BREAK_WORK, work_limit - spent))


def _tie_break(
    inst: Instance,
    prep: Prepared,
    best: _Best,
    deadline: float,
    work_limit: float,
    early: race.Search[Canonical | None] | None = None,
) -> bool:
    """Replace the proven optimum by the canonical one (TIE_BREAK_RULE), on a fresh model so the
    answer depends on nothing the optimization phases did. It never costs the proven objectives,
    and only its work limit (not the clock, unless the call runs out of time) stops it, so its
    answer does not depend on the machine's speed or on the number of workers. With two cores it runs
    as two searches side by side (solver.award.tiebreak), `early` the one started on the optimum
    while the exact search proved it: the same answer. True when the award is then the rule's
    (tiebreak.decisive)."""
    from solver.award import tiebreak

    if deadline - time.monotonic() < 0.05:
        best.stops.add("time")
        return False
    r = tiebreak.run(_tie_search(inst, prep, best, deadline), work_limit, early)
    if r is None:
        return False
    if r.solution is not None and objective(inst, r.solution) == (best.vehicles, best.cents):
        best.sol = r.solution
        best.canonical = r.proven
        best.early = bool(r.early)
    if not r.proven:
        best.stops.add("time" if r.timed_out else "work")
    return tiebreak.decisive(r)


def _tie_search(
    inst: Instance, prep: Prepared, best: _Best | tuple[int, int, Solution], deadline: float
) -> Callable[[float, Mapping[str, object]], tiebreak.Search]:
    """The tie-break's search from the optimum `best` (or (vehicles, cents, award)), given its work
    limit and extra CP-SAT parameters (solver.award.tiebreak)."""
    from solver.award import tiebreak

    optimum = (best.vehicles, best.cents, best.sol) if isinstance(best, _Best) else best
    # When the optimum serves every servable line, the optima are exactly the serve_all model's
    # awards at the optimal price: its per-line equalities make the proof that no other optimal
    # class exists faster (seed 1 of the 200-bid default: 12.1 -> 8.1 s of CPU).
    serve_all = optimum[0] == sum(inst.lines[li].quantity for li in servable_lines(prep))

    def make(work: float, params: Mapping[str, object]) -> tiebreak.Search:
        return tiebreak.search(inst, prep, serve_all, optimum, deadline, work, params, TIE_SYMMETRY)

    return make
