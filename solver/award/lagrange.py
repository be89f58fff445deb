"""Lagrangian bounds (price, and vehicles) over the per-lot structure, tighter than the LP's.

The LP (solver.award.lpbound) is weak where integrality matters inside a lot: whole line
service (a tier's quantity is a subset sum of its lines), all-units tiers and the winner
limit (a fractional winner indicator lets many suppliers share a lot). Here only what ties
lots together is relaxed: each supplier's capacity (multiplier mu_s >= 0 per vehicle), the
vehicle count (awards with at least V vehicles: pi >= 0) and a package's items being chosen
together (per (package, lot) a copy of its `chosen`, with multipliers lam that sum to zero
over the package's lots). For ANY such multipliers, every award with at least V vehicles
costs at least

    sum over lots of min over that lot's awards of (price + (mu_s - pi) x vehicles + lam x copy)
    - sum_s mu_s x capacity_s + pi x V

and each lot's minimum is computed exactly by dynamic programming over the lot's line subsets
(solver.award.lotdp: whole line service without delivery quarters, every family of the
benchmarks; at 10,000 bids a pass over the 500 lots of regions took 29.6 s of CPU with CP-SAT,
about 1 s this way, with the same minima) or else bounded from below exactly by CP-SAT on the
lot's own model (the rules of solver.award.rules on the lot's bids and package items: tiers,
whole or split line service, share caps, winners; its best proven bound when its work limit
stops it). The
multipliers are integers (cents), so the bound is computed in exact integer arithmetic; they
come from the LP's optimal duals, which makes the bound at least the LP's (up to rounding
of the multipliers). The vehicle bound is the same with price 0 and -1 per vehicle (scaled by
VEHICLE_SCALE to keep fractional duals). Measured at 2,000 bids (seed 1): +0.02-0.1 % over the LP's price bound on
the default, regions and tiers families, +2.5 % on few-suppliers (winner limits bind), and
few-suppliers' vehicle bound 15,177 -> 15,135. Every phase runs on work limits: deterministic.

The LP's duals are not the best multipliers of this relaxation (its best bound lies above: the
lots' integrality is in it). The price bound (improved_bound) then takes STEPS subgradient steps
on the package multipliers, each a pass over the lots like the first: at 2,000 bids, seed 1,
+0.054 % on regions (1,092,808,083.07 -> 1,093,400,367.79), +0.046 % on arbitrary, +0.084 % on
default, +0.107 % on few-suppliers after two (regions and arbitrary after five: +0.13 % and
+0.12 %, still rising by about 0.025 % a step). Each lot's CP-SAT runs without presolve
(PRESOLVE): the same bounds there and on few-suppliers' vehicle bound, at 0.6-0.7x the CPU of a
pass on regions, arbitrary and default.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from solver.award.dualbound import Duals
from solver.award.instance import Instance
from solver.award.lpbound import LpModel
from solver.award.prep import ItemOpt, PackageOpt, Prepared, TierOpt

# CP-SAT deterministic work each lot's subproblem may spend; a lot stopped by it gives its proven
# bound. On the 2,000-bid families a whole pass over 100-400 lots took 7-14 s of CPU.
WORK_PER_LOT = 0.5
# CP-SAT's presolve on each lot's subproblem (small models: off, 0.6x the CPU on 40 lots of the
# regions and arbitrary 2,000-bid rounds, the same minima).
PRESOLVE = False
# Subgradient steps after the LP's multipliers (improved_bound), and each step's first length as
# a share of the bound (halved after a step that does not raise it).
STEPS = 10
# Each lot's exact minimum by dynamic programming over its line subsets (solver.award.lotdp)
# where it applies (whole line service, no delivery quarters), CP-SAT elsewhere.
EXACT_DP = True
STEP_SHARE = 0.0025


@dataclass
class LotPart:
    lot: int
    tiers: list[TierOpt]
    packages: list[PackageOpt]  # per package, its items in this lot only


def part_suppliers(inst: Instance, part: LotPart) -> set[int]:
    """The suppliers with a bid or a package's item in the lot."""
    return {inst.bids[t.bid].supplier for t in part.tiers} | {p.supplier for p in part.packages}


# The last round's parts: an award asks for them many times (every Lagrangian pass, the vehicle caps,
# vehmaster, chains, polyak), about 0.4 s each at 25,000 bids on a 10 s limit.
_parts_of: tuple[Instance, Prepared, list[LotPart]] | None = None


def lot_parts(inst: Instance, prep: Prepared) -> list[LotPart]:
    """Each lot's own options: its bids' tiers and, per package, the package's items in it. The
    list is shared by every caller of the same round: read it, never change it."""
    global _parts_of
    memo = _parts_of
    if memo is not None and memo[0] is inst and memo[1] is prep:
        return memo[2]
    parts: dict[int, LotPart] = {}

    def part(lot: int) -> LotPart:
        return parts.setdefault(lot, LotPart(lot, [], []))

    for t in prep.tiers:
        part(inst.bids[t.bid].lot).tiers.append(t)
    for p in prep.packages:
        by_lot: dict[int, list[ItemOpt]] = {}
        for it in p.items:
            by_lot.setdefault(it.lot, []).append(it)
        for lot, items in by_lot.items():
            part(lot).packages.append(PackageOpt(p.package, p.supplier, tuple(items)))
    result = [parts[k] for k in sorted(parts)]
    _parts_of = (inst, prep, result)
    return result


def pass_size(inst: Instance, parts: list[LotPart]) -> int:
    """One pass over the lots as a count: each lot's bids, package copies and suppliers (the work
    of a lot's minimum grows with them, solver.award.lotdp)."""
    n = 0
    for part in parts:
        n += len({t.bid for t in part.tiers}) + len(part.packages) + len(part_suppliers(inst, part))
    return n


@dataclass
class Multipliers:
    """Integer multipliers of a Lagrangian of `goal`: "price" minimizes cents; "vehicles" minimizes
    -VEHICLE_SCALE x vehicles (so its bound, divided by -VEHICLE_SCALE, bounds vehicles from above)."""

    goal: str
    mu: dict[int, int]  # supplier -> per vehicle (>= 0)
    pi: int  # per vehicle (>= 0; price only: awards with at least V vehicles)
    lam: dict[tuple[int, int], int]  # (package, lot) -> per copy; per package they sum to 0

    def per_vehicle(self, supplier: int) -> int:
        base = -VEHICLE_SCALE if self.goal == "vehicles" else -self.pi
        return base + self.mu.get(supplier, 0)


# Vehicles are counted in units of 1/VEHICLE_SCALE so that fractional duals round finely.
VEHICLE_SCALE = 1_000_000


def from_lp(inst: Instance, prep: Prepared, lp: LpModel, goal: str, duals: Duals | None = None) -> Multipliers:
    """Integer multipliers from the LP's duals: `duals` (e.g. PDLP's, lpbound.ApproxDuals), by
    default its last optimal LP's (lpbound.LpModel: `price_bound` for "price", `vehicle_bound`
    for "vehicles"): the capacity rows' duals, the vehicle row's, and per package a split of its
    cost over its lots that leaves each lot's copy the same share of the package's reduced cost.
    Any multipliers give a valid bound; the optimal duals make it the LP's."""
    y: Duals = lp if duals is None else duals
    # the duals in the Lagrangian's units (the vehicle LP maximizes: its duals change sign)
    f = 1.0 if goal == "price" else -float(VEHICLE_SCALE)
    mu = {s: max(0, round(-f * y.dual(r))) for s, r in lp.capacity_rows.items()}
    vr = y.vehicles_row
    pi = max(0, round(y.dual(vr))) if goal == "price" and vr is not None else 0
    mult = Multipliers(goal, mu, pi, {})
    for p in prep.packages:
        z = lp.package_vars[p.package]
        rc = f * y.reduced_cost(z)
        share: dict[int, float] = {}
        for r, c, lot in lp.package_rows[p.package]:
            share[lot] = share.get(lot, 0.0) + f * y.dual(r) * c
        lots = sorted({it.lot for it in p.items})
        raw: dict[int, float] = {}
        for lot in lots:
            items = [it for it in p.items if it.lot == lot]
            natural = _copy_cost(mult, p.supplier, items)
            raw[lot] = share.get(lot, 0.0) + rc / len(lots) - natural
        mean = sum(raw.values()) / len(lots)
        ints = [round(raw[lot] - mean) for lot in lots]
        ints[-1] -= sum(ints)  # exactly zero over the package's lots
        for lot, v in zip(lots, ints, strict=True):
            mult.lam[p.package, lot] = v
    return mult


def _copy_cost(mult: Multipliers, supplier: int, items: list[ItemOpt] | tuple[ItemOpt, ...]) -> int:
    cents = sum(it.quantity * it.cents for it in items) if mult.goal == "price" else 0
    return cents + mult.per_vehicle(supplier) * sum(it.quantity for it in items)


def lower_bound(
    inst: Instance, prep: Prepared, mult: Multipliers, *, deadline: float, work_per_lot: float = WORK_PER_LOT
) -> int | None:
    """sum over lots of the lot's proven minimum - sum_s mu_s x capacity_s: for "price", plus
    pi x V it bounds the price of every award with at least V vehicles (for_vehicles); for
    "vehicles", vehicles_bound turns it into a bound on vehicles. None when the deadline came
    first or a lot's objective could overflow CP-SAT's integers."""
    done = _pass(inst, prep, mult, deadline, work_per_lot)
    return None if done is None else done[0]


def steps_for(per_pass: int, budget: int, most: int) -> int | None:
    """Subgradient steps after the first pass when each pass costs `per_pass` of `budget` (a count,
    so the same on every machine), at most `most`; None: not even the first pass fits."""
    if per_pass > budget:
        return None
    return min(most, budget // max(1, per_pass) - 1)


def improved_bound(
    inst: Instance,
    prep: Prepared,
    mult: Multipliers,
    *,
    deadline: float,
    steps: int = STEPS,
    work_per_lot: float = WORK_PER_LOT,
    target: int | None = None,
) -> int | None:
    """lower_bound's base for `mult`, then `steps` subgradient steps on the package multipliers
    (mu and pi stay, so the best base still bounds every count V as base + pi x V): each step
    moves each package copy's lam by its difference to the package's mean copy in the lots' own
    optima, times STEP_SHARE x the bound / the subgradient's squared norm, rounded to integers
    (the copies' lam still summing to zero); a step that does not raise the bound goes back to the
    best multipliers with half the length. With a `target` (an award's price - pi x its vehicles:
    no base exceeds it) the length is Polyak's instead, target - the best bound so far (times a
    factor halved the same way) / the squared norm. The capacity multipliers are left at the LP's: steps
    on them too (by each supplier's excess) lowered the bound on few-suppliers and default at
    every length tried (0.05-0.25 % of the bound). `mult` ends as the best multipliers. None as
    lower_bound (all or nothing)."""
    cache: dict[int, Any] = {}  # per lot what the steps (on lam only) do not change (solver.award.lotdp)
    memo: dict[int, Any] = {}  # per lot its last minimum, for the lots a step leaves alone
    done = _pass(inst, prep, mult, deadline, work_per_lot, cache, memo)
    if done is None:
        return None
    best, copies = done
    kept = dict(mult.lam)
    theta = STEP_SHARE * abs(best)
    factor = 1.0  # Polyak's (with a target)
    for _ in range(steps):
        if target is not None:
            theta = factor * (target - best)
        by_package, g_lam = subgradient(copies)
        norm = sum(g * g for g in g_lam.values())
        if norm == 0 or theta < 1:
            break  # the lots' optima agree with every relaxed row: no step raises the bound
        move(mult, by_package, g_lam, theta / norm)
        done = _pass(inst, prep, mult, deadline, work_per_lot, cache, memo)
        if done is None:
            return None  # all or nothing: the bound never depends on how far the clock let it go
        if done[0] > best:
            best, copies = done
            kept = dict(mult.lam)
        else:
            theta /= 2
            factor /= 2
        mult.lam = dict(kept)
    return best


def subgradient(
    copies: dict[tuple[int, int], int],
) -> tuple[dict[int, list[int]], dict[tuple[int, int], float]]:
    """The package multipliers' subgradient from a pass's copies (per (package, lot): the copy
    chosen or not in the lot's own optimum): each copy's difference to its package's mean copy,
    with each package's lots in order."""
    by_package: dict[int, list[int]] = {}
    for p, lot in sorted(copies):
        by_package.setdefault(p, []).append(lot)
    g: dict[tuple[int, int], float] = {}
    for p, lots in by_package.items():
        mean = sum(copies[p, lot] for lot in lots) / len(lots)
        for lot in lots:
            g[p, lot] = copies[p, lot] - mean
    return by_package, g


def move(mult: Multipliers, by_package: dict[int, list[int]], g: dict[tuple[int, int], float], t: float) -> None:
    """One step of length t along g on the package multipliers, rounded to integers so that each
    package's copies still sum to exactly zero (any such multipliers give a valid bound)."""
    for p, lots in by_package.items():
        ints = [round(mult.lam.get((p, lot), 0) + t * g[p, lot]) for lot in lots]
        ints[-1] -= sum(ints)
        for lot, v in zip(lots, ints, strict=True):
            mult.lam[p, lot] = v


def _pass(
    inst: Instance,
    prep: Prepared,
    mult: Multipliers,
    deadline: float,
    work: float,
    cache: dict[int, Any] | None = None,
    memo: dict[int, tuple[tuple[int, ...], int, dict[tuple[int, int], int]]] | None = None,
) -> tuple[int, dict[tuple[int, int], int]] | None:
    """lower_bound's base, with per (package, lot) its copy chosen or not in the lot's own best
    award (the subgradient). `memo` keeps each lot's minimum and copies with its copies' lam: a
    later pass whose step left them alone (mu and pi stay: improved_bound) takes them as they are."""
    total = -sum(m * inst.capacity[s] for s, m in mult.mu.items())
    copies: dict[tuple[int, int], int] = {}
    for part in lot_parts(inst, prep):
        if time.monotonic() >= deadline:
            return None
        lam = tuple(mult.lam.get((p.package, part.lot), 0) for p in part.packages)
        if memo is not None and part.lot in memo and memo[part.lot][0] == lam:
            _, b, mine = memo[part.lot]
        else:
            mine = {}
            got = _lot_min(inst, part, mult, deadline - time.monotonic(), work, mine, cache)
            if got is None:
                return None
            b = got
            if memo is not None:
                memo[part.lot] = (lam, b, mine)
        copies.update(mine)
        total += b
    return total, copies


def price_for(base: int, mult: Multipliers, vehicles: int) -> int:
    """The price bound for awards with at least `vehicles` vehicles (any count: pi x V is the only
    term that depends on it)."""
    return max(0, base + mult.pi * vehicles)


def vehicles_bound(base: int) -> int:
    """Most vehicles of any award: every award has -VEHICLE_SCALE x vehicles >= base."""
    return (-base) // VEHICLE_SCALE


def _lot_min(
    inst: Instance,
    part: LotPart,
    mult: Multipliers,
    time_limit: float,
    work: float,
    copies: dict[tuple[int, int], int] | None = None,
    cache: dict[int, Any] | None = None,
) -> int | None:
    """A proven lower bound on the lot's Lagrangian subproblem (its exact minimum when proven).
    Adds the best award found there to `copies` (per (package, lot), 1 when its copy is chosen);
    none found: nothing added."""
    if EXACT_DP:
        from solver.award.lotdp import lot_min

        exact = lot_min(inst, part, mult, cache)
        if exact is not None:
            if copies is not None:
                copies.update(exact[1])
            return exact[0]
    from ortools.sat.python import cp_model

    from solver.award.cpsat import INT_LIMIT, AwardModel

    sub = Prepared(part.tiers, {}, part.packages)
    for t in part.tiers:
        sub.tiers_of_bid.setdefault(t.bid, []).append(t)
    model = AwardModel(inst, sub)
    f = model.families
    xs: list[cp_model.IntVar] = []
    cs: list[int] = []
    floor = 0  # the objective's least possible value (every negative term at its bound)
    for tv in f.tiers:
        s = inst.bids[tv.opt.bid].supplier
        per_vehicle = (tv.opt.cents if mult.goal == "price" else 0) + mult.per_vehicle(s)
        for a in tv.lines:
            c = a.unit * per_vehicle
            xs.append(a.var)
            cs.append(c)
            floor += min(0, c * a.ub)
    for pv in f.packages:
        p = pv.opt
        c = _copy_cost(mult, p.supplier, p.items) + mult.lam.get((p.package, part.lot), 0)
        xs.append(pv.chosen)
        cs.append(c)
        floor += min(0, c)
    if sum(abs(c) for c in cs) * max(1, max((line.quantity for line in inst.lines), default=1)) >= INT_LIMIT:
        return None
    if all(c >= 0 for c in cs):
        if copies is not None:  # awarding nothing in the lot is feasible and costs 0
            copies.update(((pv.opt.package, part.lot), 0) for pv in f.packages)
        return 0
    model.model.minimize(cp_model.LinearExpr.weighted_sum(xs, cs))
    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers = 1
    prm.random_seed = 0
    prm.max_time_in_seconds = max(0.01, time_limit)
    prm.max_deterministic_time = work
    prm.linearization_level = 2
    prm.cp_model_presolve = PRESOLVE
    status = solver.solve(model.model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and copies is not None:
        for pv in f.packages:
            copies[pv.opt.package, part.lot] = int(solver.value(pv.chosen))
    if status == cp_model.OPTIMAL:
        return round(solver.objective_value)
    if status == cp_model.FEASIBLE:
        b = solver.best_objective_bound
        # float of an integer objective: exact below 2^53; beyond, step one unit of precision down
        return max(floor, math.ceil(b) - (0 if abs(b) < 2**52 else int(abs(b) * 2**-50) + 1))
    return floor
