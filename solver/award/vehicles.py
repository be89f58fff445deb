"""More vehicles on large rounds: sub-rounds aimed at the lots an award serves below their bound.

On rounds with few suppliers per lot (bench.award_families "few-suppliers": 400 lots x 20 OEMs
at 2,000 bids) what limits vehicles is inside the lots, not the suppliers' capacities (there
they add up to 2.5x the demand): the winner limit, share caps, bid ranges and whole lines.
The award's shortfall sits in a few lots (on seed 1 the greedy start serves 74 of 400 lots
below their cheap per-lot bound, bounds.lot_vehicle_caps; exact_lot_caps below lowers those to
each lot's own maximum), and the general neighbourhood
search, drawing its neighbourhoods over the whole round, gained about 30 vehicles per 10 s of
CPU there. Here each sub-round is one such short lot with the lots of every package that has
an item there, those its own optimum takes first (so a package can be dropped or taken whole) and, when a supplier there has no
capacity left, the lots where it is awarded; it is re-solved exactly for the most vehicles
(with the rest of the award fixed: solver.award.lns's sub-rounds) and kept when better. Most
vehicles only, not then the lowest price: proving the price too cost the sub-rounds most of
their work; at equal work (7 units, few-suppliers at 2,000 bids, seeds 1-3, from the regret start)
the search reached 14,932 / 15,858 / 14,739 vehicles instead of 14,891 / 15,755 / 14,694 in 0.6x
the CPU, at a price 1.2-2 % higher that the neighbourhood search after it works on
(bench/results/award_vehicles.md). Passes over the short lots repeat with larger neighbourhoods while they gain; a lot
whose sub-round was proven without gain is left until the award around it changes.

Deterministic: the lots come in a fixed order, each sub-solve runs on CP-SAT's work with one
worker, and model building is counted as work (lns.WORK_PER_VAR); the clock only cuts it short.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container

from solver.award.bounds import lot_vehicle_caps
from solver.award.instance import Instance
from solver.award.prep import Prepared, TierOpt, eligible, prepare
from solver.award.solution import Solution, objective

# Lots per neighbourhood in the first pass, and the most after growing (a pass that gained
# grows it by GROW for the next one). few-suppliers, seed 1, the search alone from the repaired
# start on the award's share of the work, with WANTED_FIRST: 6 -> 18 lots by 4: 15,068 / 74,074
# vehicles at 2,000 / 10,000 bids; 12 -> 30 by 6: 15,070 / 74,101 (lns.served_starts alone on 12 and 10 units).
# Only for starts more than FAR_SHORT below the caps in all (few-suppliers: 0.96-1.14 % at 2,000 bids; the other families at most 0.55 %); nearer
# them, as before (NEAR: regions at 2,000 bids, seed 1, 14 short, gap 0.421 -> 0.663 % with 12 -> 30).
FIRST_LOTS = 12
MAX_LOTS = 30
GROW = 6
NEAR = (6, 18, 4)
FAR_SHORT = 0.008
# Work one sub-round may spend (CP-SAT deterministic seconds, besides its model building).
SUB_WORK = 0.5
# Sub-rounds merge the tiers of a bid that reach the same lines (merged_tiers); False: as before.
MERGE_TIERS = True
# Per-lot vehicle caps exact where solver.award.lotdp solves the lot (exact_lot_caps); False: the
# cheap caps (bounds.lot_vehicle_caps) as before.
EXACT_CAPS = True
# A short lot's neighbourhood takes the lots of the packages its own optimum takes first
# (exact_lot_caps) before the others there: few-suppliers, seed 1, the search alone as above with
# 6 -> 18 lots, 15,051 -> 15,068 vehicles at 2,000 bids, 74,060 -> 74,074 at 10,000.
WANTED_FIRST = True
# Far starts first take the exact maximum over the packages' choices (solver.award.vehmaster): its
# proven bound and, capacities allowing, an award that reaches it. few-suppliers at 2,000 bids,
# seed 1: 15,087 vehicles, proven (the search alone 15,076 of the LP's 15,131). False: as before.
EXACT_MOST = True
# ... then, on far starts, package moves scored exactly per lot instead of this search's sub-rounds:
# solver.award.chains' until a pass gains nothing, then solver.award.deepmoves' (the package-set
# program on the lots around each short lot), on their own work of FAR_MOVES x this search's in all
# (their DP solves cost less CPU per unit: 0.5-0.6 s against the sub-rounds' 1.7 s). few-suppliers,
# 10,000 bids, seed 1, from the start's 73,823 vehicles: this search's sub-rounds 74,101 in 10 units
# (17 s of CPU), chains' moves 74,212 after them in 10 more (5.5 s), 74,313 when run until done; chains'
# moves alone 74,283 (22.8 units, 14 s), deepmoves then 74,331 in 30 more (15 s). 0: as before.
FAR_MOVES = 6.0
# ... and they count FAR_CHARGE x this search's work spent: the price search after them gets the
# rest (few-suppliers, 10,000 bids: none of 20 instead of 10 units, gap 1.767 %, main process 77.4 s
# of CPU of 120; with 5 units 1.719 % but 95.5 s, with 10 1.685 %: bench/results/award_cpu.md).
FAR_CHARGE = 2.0

# the last round's lots solved by exact_lot_caps: lot -> (its maximum, the packages of one optimum)
_exact_of: tuple[Instance, Prepared, dict[int, tuple[int, tuple[int, ...]]]] | None = None


def exact_lot_caps(inst: Instance, prep: Prepared, served: list[int]) -> list[int]:
    """Per lot, the most vehicles any award serves there: the cheap caps (bounds.lot_vehicle_caps)
    lowered to the lot's exact maximum where solver.award.lotdp solves it (whole line service, no
    delivery quarters), with every rule inside the lot (whole lines, tier bands, share caps,
    capacity, the winner limit, the package items there each free to be taken): only what ties
    lots together (a package's other lots, capacities over lots) is left out, so their sum is a
    proven vehicle bound. The cheap caps miss whole lines and overlapping options (few-suppliers,
    seed 1: 15,179 -> 15,155 at 2,000 bids, 75,487 -> 75,083 at 10,000; every lot in 0.4 and 1.7 s
    of CPU, the other families nothing lower in 0.3 and 1.3-2.6 s). So only the lots an award
    serves below the cheap cap (`served` per lot) are solved: one it serves at it has that maximum.
    Exact integer arithmetic, no work limit: the same caps whichever award asks. The lots solved
    are kept for the last round asked."""
    global _exact_of
    if _exact_of is None or _exact_of[0] is not inst or _exact_of[1] is not prep:
        _exact_of = (inst, prep, {})
    known = _exact_of[2]
    caps = lot_vehicle_caps(inst, prep)
    if not EXACT_CAPS:
        return caps
    from solver.award.lagrange import VEHICLE_SCALE, Multipliers, lot_parts
    from solver.award.lotdp import lot_min

    most_vehicles = Multipliers("vehicles", {}, 0, {})  # every vehicle -VEHICLE_SCALE, nothing else priced
    for part in lot_parts(inst, prep):
        lot = part.lot
        if lot not in known and served[lot] < caps[lot]:
            found = lot_min(inst, part, most_vehicles)
            if found is None:
                known[lot] = (caps[lot], ())
            else:
                wanted = tuple(sorted(p for (p, _), chosen in found[1].items() if chosen))
                known[lot] = (min(caps[lot], -found[0] // VEHICLE_SCALE), wanted)
        if lot in known:
            caps[lot] = known[lot][0]
    return caps


def optimum_packages(inst: Instance, prep: Prepared, lot: int) -> tuple[int, ...]:
    """The packages one of the lot's own optima (exact_lot_caps) takes, when that lot was solved."""
    if _exact_of is None or _exact_of[0] is not inst or _exact_of[1] is not prep:
        return ()
    return _exact_of[2].get(lot, (0, ()))[1]


def merged_tiers(inst: Instance, prep: Prepared, cur: Solution) -> Prepared:
    """`prep` with the tiers of each bid that reach the same lines (price, exclusions, quarters) as
    one tier over the union of their quantity ranges: the same allocations (a bid's tiers price
    consecutive bands of its range, and a line larger than a band's end cannot go whole into it),
    fewer variables, for a model that only counts vehicles. The merged tier keeps the index of the
    tier `cur`'s quantity has (hints) and the highest unit price (the model's size checks)."""
    tiers: list[TierOpt] = []
    by_bid: dict[int, list[TierOpt]] = {}
    for bi in sorted(prep.tiers_of_bid):
        ts = prep.tiers_of_bid[bi]
        bid = inst.bids[bi]
        if len(ts) > 1 and len({eligible(inst, bid.lot, bid.supplier, t.cents, bid.quarters) for t in ts}) == 1:
            q = cur.bid_quantity(bi)
            top = max(ts, key=lambda t: t.hi)
            k = bid.tier_at(q) if q else ts[0].tier
            ts = [TierOpt(bi, k, min(t.lo for t in ts), top.hi, max(t.cents for t in ts), top.lines)]
        tiers += ts
        by_bid[bi] = ts
    return Prepared(tiers, by_bid, prep.packages)


def served_per_lot(inst: Instance, sol: Solution) -> list[int]:
    served = [0] * len(inst.lots)
    for bi, alloc in sol.bids.items():
        served[inst.bids[bi].lot] += sum(alloc.values())
    for pi in sol.packages:
        for it in inst.packages[pi].items:
            served[it.lot] += it.quantity
    return served


def short_lots(served: list[int], caps: list[int], skip: Container[int] = ()) -> list[int]:
    """The lots served below their cap (but those in `skip`), the furthest below first, then by
    lot: where the vehicle searches (this one, chains', deepmoves') look for more vehicles."""
    short = (lot for lot in range(len(caps)) if served[lot] < caps[lot] and lot not in skip)
    return sorted(short, key=lambda lot: (served[lot] - caps[lot], lot))


def used_per_supplier(inst: Instance, sol: Solution) -> list[int]:
    used = [0] * len(inst.suppliers)
    for bi, alloc in sol.bids.items():
        used[inst.bids[bi].supplier] += sum(alloc.values())
    for pi in sol.packages:
        used[inst.packages[pi].supplier] += sum(it.quantity for it in inst.packages[pi].items)
    return used


class _Around:
    """The round's structure a neighbourhood is built from."""

    def __init__(self, inst: Instance):
        self.inst = inst
        self.pkgs_of_lot: list[list[int]] = [[] for _ in inst.lots]
        for pi, pkg in enumerate(inst.packages):
            for lot in sorted({it.lot for it in pkg.items}):
                self.pkgs_of_lot[lot].append(pi)
        self.sups_of_lot: list[set[int]] = [set() for _ in inst.lots]
        for bid in inst.bids:
            self.sups_of_lot[bid.lot].add(bid.supplier)
        for pkg in inst.packages:
            for it in pkg.items:
                self.sups_of_lot[it.lot].add(pkg.supplier)

    def lots(self, sol: Solution, lot: int, k: int, wanted: tuple[int, ...] = ()) -> list[int]:
        """`lot`, the lots of the packages with an item there (first those `wanted`: the lot's own
        optimum takes them, exact_lot_caps) and of the awarded packages with an item in those, then
        the awarded lots of its suppliers that have no capacity left (fewest vehicles first), up to
        k lots."""
        inst = self.inst
        have = [lot]
        seen = {lot}

        def add(more: list[int]) -> None:
            for x in more:
                if len(have) >= k:
                    return
                if x not in seen:
                    seen.add(x)
                    have.append(x)

        for pi in [*wanted, *self.pkgs_of_lot[lot]]:
            add(sorted({it.lot for it in inst.packages[pi].items}))
        # the awarded packages there reaching further: inside whole, they may be dropped (a package
        # reaching outside stays awarded and may hold the winner places the short lot needs)
        for x in list(have):
            for pi in self.pkgs_of_lot[x]:
                if pi in sol.packages:
                    add(sorted({it.lot for it in inst.packages[pi].items}))
        used = used_per_supplier(inst, sol)
        full = sorted(s for s in self.sups_of_lot[lot] if used[s] >= inst.capacity[s])
        if full and len(have) < k:
            where: dict[int, int] = {}  # lot -> vehicles the full suppliers have there
            for bi, alloc in sol.bids.items():
                bid = inst.bids[bi]
                if bid.supplier in full:
                    where[bid.lot] = where.get(bid.lot, 0) + sum(alloc.values())
            for pi in sol.packages:
                pkg = inst.packages[pi]
                if pkg.supplier in full:
                    for it in pkg.items:
                        where[it.lot] = where.get(it.lot, 0) + it.quantity
            add(sorted(where, key=lambda x: (where[x], x)))
        return sorted(have)


def more_vehicles(
    inst: Instance,
    prep: Prepared,
    sol: Solution,
    *,
    deadline: float,
    work_limit: float,
    on_improve: Callable[[Solution], None] | None = None,
) -> tuple[Solution, float, str]:
    """An award with at least `sol`'s vehicles (more where the short lots allow), the work spent,
    and what ended it: "done" (no short lot gained in a pass at the largest size, or none is
    left), "work" or "time"."""
    from solver.award.cpsat import AwardModel, model_size
    from solver.award.deliveries import schedule
    from solver.award.lns import WORK_PER_VAR, _merge, _sub_instance

    caps = exact_lot_caps(inst, prep, served_per_lot(inst, sol))
    around = _Around(inst)
    best = objective(inst, sol)
    work = 0.0
    served = served_per_lot(inst, sol)
    far = sum(max(0, c - v) for c, v in zip(caps, served, strict=True)) > FAR_SHORT * sum(caps)
    first, most, grow = (FIRST_LOTS, MAX_LOTS, GROW) if far else NEAR
    if far and EXACT_MOST:
        from solver.award.vehmaster import most_vehicles

        built, proven, work = most_vehicles(inst, prep, sol, deadline=deadline, work_limit=work_limit)
        if built is not None:  # (more vehicles than sol)
            sol, best = built, objective(inst, built)
            if on_improve is not None:
                on_improve(sol)
        if proven is not None and best[0] >= proven:
            return sol, work, "done"
    # (the moves score lots by lotdp: whole line service without delivery quarters only; elsewhere
    # they would do nothing and still charge their work, leaving the price search none)
    if far and FAR_MOVES and inst.whole and not inst.with_quarters:
        return _package_moves(inst, prep, sol, caps, deadline=deadline, work_limit=work_limit, on_improve=on_improve)
    k = first
    # lots whose sub-round was proven without gain, with the award and size they were tried on
    settled: dict[int, tuple[Solution, int]] = {}
    quarterly = any(inst.quarterly)
    while True:
        served = served_per_lot(inst, sol)
        short = short_lots(served, caps, {lot for lot, at in settled.items() if at == (sol, k)})
        if not short:
            return sol, work, "done"
        gained = False
        for lot in short:
            if work >= work_limit:
                return sol, work, "work"
            if time.monotonic() >= deadline:
                return sol, work, "time"
            if served_per_lot(inst, sol)[lot] >= caps[lot]:
                continue  # an earlier sub-round of this pass filled it
            lots = around.lots(sol, lot, k, optimum_packages(inst, prep, lot) if WANTED_FIRST and far else ())
            sched = schedule(inst, sol) if quarterly else None
            sub = _sub_instance(inst, sol, lots, sched)
            sub_prep = merged_tiers(sub.inst, prepare(sub.inst), sub.cur) if MERGE_TIERS else prepare(sub.inst)
            v0, c0 = objective(sub.inst, sub.cur)
            model = AwardModel(sub.inst, sub_prep)
            forced = [p.chosen for p in model.families.packages if p.opt.package in sub.forced]
            work += model_size(sub.inst, sub_prep) * WORK_PER_VAR
            if len(forced) < len(sub.forced) or not model.lex_fits:
                settled[lot] = (sol, most)  # left to the general search (a forced package dropped; huge prices)
                continue
            for var in forced:
                model.model.add(var == 1)
            model.model.add(model.vehicles >= v0)
            model.hint(sub.cur)
            wl = min(SUB_WORK, max(0.01, work_limit - work))
            r = model.solve_phase(
                objective="vehicles", time_limit=max(0.01, deadline - time.monotonic()), work_limit=wl, workers=1
            )
            work += r.deterministic_time
            if r.timed_out:
                # cut by the clock, not its work: what it found depends on the machine, so unused
                return sol, work, "time"
            found = None if r.solution is None else objective(sub.inst, r.solution)
            if found is not None and (found[0], -found[1]) > (v0, -c0):
                new = _merge(inst, sol, sub, r.solution)  # type: ignore[arg-type]
                vn, cn = objective(inst, new)
                if (vn, -cn) > (best[0], -best[1]) and (not quarterly or schedule(inst, new) is not None):
                    gained = gained or vn > best[0]
                    sol, best = new, (vn, cn)
                    if on_improve is not None:
                        on_improve(sol)
                    continue
            if r.optimal:
                settled[lot] = (sol, k)
        if not gained and k >= most:
            return sol, work, "done"
        k = min(most, k + grow)


def _package_moves(
    inst: Instance,
    prep: Prepared,
    sol: Solution,
    caps: list[int],
    *,
    deadline: float,
    work_limit: float,
    on_improve: Callable[[Solution], None] | None,
) -> tuple[Solution, float, str]:
    """A far start's search (FAR_MOVES): chains' moves, then deepmoves' on what they leave of their
    work; FAR_CHARGE x `work_limit` counted spent (the round's later package moves follow)."""
    from solver.award import chains, deepmoves

    if time.monotonic() >= deadline:  # (25,000 bids on 10 s: the clock has ended it already)
        return sol, 0.0, "time"
    v0 = objective(inst, sol)[0]
    own = FAR_MOVES * work_limit
    new, spent, ended = chains.more_vehicles(inst, prep, sol, caps, deadline=deadline, work_limit=own)
    if ended != "time":
        new, _, ended = deepmoves.more_vehicles(
            inst, prep, new, caps, deadline=deadline, work_limit=max(0.0, own - spent)
        )
    if on_improve is not None and objective(inst, new)[0] > v0:
        on_improve(new)
    return new, FAR_CHARGE * work_limit, "time" if ended == "time" else "work"
