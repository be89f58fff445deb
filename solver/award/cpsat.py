"""The exact award model in CP-SAT, solved in lexicographic phases.

Variables (only for the pairs that pre-processing kept):
- per reachable tier t of a bid: y[t] (the bid is awarded at tier t) and, per eligible line l,
  x[t,l]: a boolean (whole line service: line l goes whole to this bid) or an integer in
  [0, quantity] (split service). The bid's quantity is q[t] = sum over l, with
  lo[t]*y[t] <= q[t] <= hi[t]*y[t], priced linearly at tier t's unit price: the convex
  hull form of an all-units discount (one (chosen, quantity) pair per tier, at most one
  tier per bid);
- per package: z[p], and per item the same line variables with sum = quantity * z[p];
- per lot with a winner limit: w[s,lot] >= every y/z of supplier s in the lot,
  sum_s w[s,lot] <= max winners; the share cap is sum <= cap * w[s,lot].
Capacity is one linear constraint per supplier. Reserve prices and exclusions are not
constraints: the pairs they forbid do not exist.

With `serve_all`, every line that some source can serve must be served (whole: exactly one
source; split: its full quantity). When that is feasible it is exactly the awards with the
most vehicles possible, and CP-SAT proves the lowest price there 1.4-7 times faster than
through the vehicles x W objective (measured on 200-bid rounds, whole and split service: the
per-line equalities propagate and cut far better than one global vehicles constraint, which
presolve does not turn into them).

Phases: (1) maximize vehicles x W - cents (W above any award's price: most vehicles, then the
lowest price, in one exact integer objective), hinted with the greedy award, or minimize
cents when every line is served; (2) only when (1) is proven: minimize the canonical
tie-break with vehicles and cents fixed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from solver.award import race
from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.award.solution import Solution

if TYPE_CHECKING:  # ortools loads with the model, not with `import solver`
    from ortools.sat.python import cp_model

    from solver.award.rules.variables import LineAlloc, Var


@dataclass
class PhaseResult:
    solution: Solution | None  # best solution of the phase (None if none found)
    optimal: bool
    bound: int | None  # proven bound of the phase's objective (upper for max, lower for min), if known
    deterministic_time: float
    infeasible: bool = False  # proven: the model has no solution at all
    timed_out: bool = False  # the wall clock stopped it before its work limit (not reproducible)


class AwardModel:
    """The CP-SAT model in the compact (y, x) form above. (A pattern form, one boolean per
    feasible line subset of a bid tier, was measured slower to prove on 200-bid rounds.)"""

    # Called with every solver of the tie-break before its solve (solver.award.race: its parameters
    # and its stop); None: the solvers as they are.
    tie_hook: Callable[[cp_model.CpSolver], None] | None = None

    def __init__(self, inst: Instance, prep: Prepared, *, serve_all: bool = False, symmetry: bool = False):
        from solver import cpsat_import

        cpsat_import.load()  # the first import of the process: without pandas (0.28 s of CPU less)
        from ortools.sat.python import cp_model

        from solver.award.rules import capacity, line_service, packages, quarters, tiers, winners
        from solver.award.rules import symmetry as sym
        from solver.award.rules.variables import Families

        self.cp_model = cp_model
        self.serve_all = serve_all
        # Interchangeable lines ordered (rules.symmetry): only for the price and vehicle proofs,
        # never for the tie-break, which must see every optimum.
        self.symmetry = symmetry
        self.inst = inst
        self.prep = prep
        self.model = cp_model.CpModel()
        # The rules in this order create the variables and constraints in a fixed order: the
        # model, and so every result, is the same byte for byte whatever changes elsewhere.
        f = self.families = Families(self.model, inst, prep)
        tiers.add(f)
        packages.add(f)
        line_service.add(f, serve_all=serve_all)
        capacity.add(f)
        winners.add(f)
        if symmetry:
            sym.add(f)
        # How late the deliveries come (None without delivery quarters: the model is today's).
        self.earliness = quarters.add(f)

        # The objectives' terms: every line allocation of a tier (vehicles, cents), then per
        # package its items' allocations (no terms of their own) and its `chosen` (the package).
        obj: list[tuple[Var, int, int, int]] = []  # (variable, vehicles, cents, upper bound)
        for t in f.tiers:
            obj += [(a.var, a.unit, a.unit * t.opt.cents, a.ub) for a in t.lines]
        for p in f.packages:
            obj += [(a.var, 0, 0, a.ub) for it in p.items for a in it.lines]
            obj.append((p.chosen, p.opt.quantity, sum(it.quantity * it.cents for it in p.opt.items), 1))
        self.vehicles = cp_model.LinearExpr.weighted_sum([v for v, *_ in obj], [veh for _, veh, _, _ in obj])
        self.price = cp_model.LinearExpr.weighted_sum([v for v, *_ in obj], [c for _, _, c, _ in obj])
        # the canonical order of the line allocations: (line, source rank, tier or item)
        self.allocation_order: list[LineAlloc] = sorted(f.allocations(), key=lambda a: (a.line, a.rank, a.option))
        ranked = sorted(inst.source_rank.items(), key=lambda kv: kv[1])
        self.source_ids = [sid for sid, _ in ranked]
        self.lex_weight = 1 + sum(line.quantity * line.max_cents for line in inst.lines)
        # CP-SAT refuses (MODEL_INVALID) a linear expression whose terms could sum past 64 bits;
        # these are the largest values the objectives' terms can sum to.
        self.price_potential = sum(c * ub for _, _, c, ub in obj)
        vehicle_potential = sum(veh * ub for _, veh, _, ub in obj)
        self.price_fits = self.price_potential < INT_LIMIT
        # One objective holds both criteria only while vehicles x W stays far from 64 bits
        # (IDR- or VND-like prices of 10^11 minor units overflow it on a few lots): otherwise
        # the criteria are solved one after the other ("vehicles", then "price"), still exact.
        self.lex_fits = self.price_fits and self.lex_weight * vehicle_potential + self.price_potential < INT_LIMIT

    # -- hints and solutions ------------------------------------------------------------
    def hint(self, sol: Solution) -> None:
        """`sol` as the search's hint, every variable in creation order."""
        inst, f = self.inst, self.families
        if self.symmetry:
            from solver.award.rules import symmetry

            sol = symmetry.canonical_hint(inst, symmetry.options_of(f), sol)
        m = self.model
        m.clear_hints()
        wins = {(inst.bids[bi].supplier, inst.bids[bi].lot) for bi, a in sol.bids.items() if sum(a.values())}
        for pi in sol.packages:
            wins.update((inst.packages[pi].supplier, it.lot) for it in inst.packages[pi].items)

        def alloc(a: LineAlloc, given: dict[int, int]) -> int:
            got = given.get(a.line, 0)
            return int(bool(got)) if inst.whole else got

        for t in f.tiers:
            q = sol.bid_quantity(t.opt.bid)
            on = bool(q) and inst.bids[t.opt.bid].tier_at(q) == t.opt.tier
            m.add_hint(t.chosen, int(on))
            for a in t.lines:
                m.add_hint(a.var, alloc(a, sol.bids[t.opt.bid]) if on else 0)
        for p in f.packages:
            items = sol.packages.get(p.opt.package)
            m.add_hint(p.chosen, int(items is not None))
            for iv in p.items:
                for a in iv.lines:
                    m.add_hint(a.var, alloc(a, items[iv.opt.item]) if items is not None else 0)
        for w in f.winners:
            m.add_hint(w.var, int((w.supplier, w.lot) in wins))
        from solver.award.rules import quarters

        quarters.hint(f, sol)  # the award's earliest deliveries

    def extract(self, value: Callable[[Var], int]) -> Solution:
        inst, f = self.inst, self.families
        sol = Solution()

        def vehicles(a: LineAlloc) -> int:
            return inst.lines[a.line].quantity if inst.whole else value(a.var)

        for t in f.tiers:
            for a in t.lines:
                if value(a.var):
                    sol.bids.setdefault(t.opt.bid, {})[a.line] = vehicles(a)
        for p in f.packages:
            if value(p.chosen):
                sol.packages[p.opt.package] = [
                    dict(sorted((a.line, vehicles(a)) for a in iv.lines if value(a.var))) for iv in p.items
                ]
        sol.packages = dict(sorted(sol.packages.items()))
        sol.bids = {bi: dict(sorted(a.items())) for bi, a in sorted(sol.bids.items())}
        return sol

    # -- one phase ------------------------------------------------------------------------
    def solve_phase(
        self,
        *,
        objective: Literal["lex", "vehicles", "price"],
        time_limit: float,
        work_limit: float | None,
        workers: int,
        on_solution: Callable[[Solution], None] | None = None,
        on_bound: Callable[[int], None] | None = None,
        proof: bool = False,
        first_solution_only: bool = False,
    ) -> PhaseResult:
        """One phase: "lex" maximizes vehicles x lex_weight - cents (most vehicles, then the lowest
        price; only when `lex_fits`); "vehicles" maximizes vehicles; "price" minimizes cents (for
        the serve_all model, or once vehicles are fixed by a constraint)."""
        from ortools.sat.python import cp_model

        m = self.model
        m.clear_objective()
        maximize = objective in ("lex", "vehicles")
        if objective == "lex":
            m.maximize(self.vehicles * self.lex_weight - self.price)
        elif objective == "vehicles":
            m.maximize(self.vehicles)
        else:
            m.minimize(self.price)

        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = max(1, workers)
        prm.random_seed = 0
        prm.max_time_in_seconds = max(0.01, time_limit)
        if work_limit is not None:
            prm.max_deterministic_time = max(0.001, work_limit)
        prm.linearization_level = 2  # the LP with all constraints: the bounds that certify gaps
        if proof:
            # The whole round's model, to be proven (measured on 200-bid rounds): symmetry
            # detection costs more than it prunes (9.5 -> 5.5 s to the proof), probing pays.
            prm.symmetry_level = 0
            if not first_solution_only:  # the probe for a first award keeps its trajectory
                for name, value in PROOF_PARAMS.items():
                    setattr(prm, name, value)
        else:
            # Tie-break and neighbourhood sub-models: probing did not pay there (the 2,000-bid
            # benchmark's gap was no better with it; its runs vary between 0.95 and 1.04 %).
            prm.cp_model_probing_level = 0
        if workers > 1:
            prm.interleave_search = True  # deterministic multi-subsolver search
            prm.num_workers = workers
        hook = race.phase_hook()  # a raced price proof's parameters and stop (solver.award.race)
        if hook is not None:
            hook(solver)
        error: list[BaseException] = []
        outer = self

        class _CB(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                if error:
                    return
                try:
                    if on_solution is not None:
                        on_solution(outer.extract(self.value))
                except BaseException as exc:  # e.g. Cancelled from the caller's progress callback
                    error.append(exc)
                    self.stop_search()
                if first_solution_only:
                    self.stop_search()

        if on_bound is not None:

            def _bound(b: float) -> None:
                if error:
                    return
                try:
                    on_bound(round(b))
                except BaseException as exc:
                    error.append(exc)
                    solver.stop_search()

            solver.best_bound_callback = _bound
        status = solver.solve(m, _CB())
        if error:
            raise error[0]
        dt = solver.deterministic_time
        timed_out = (
            status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
            and not first_solution_only
            and _clock_stopped(dt, work_limit)
        )
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            sol = self.extract(solver.value)
            bound = solver.best_objective_bound
            bound_i = _floor(bound) if maximize else _ceil(bound)
            return PhaseResult(sol, status == cp_model.OPTIMAL, bound_i, dt, timed_out=timed_out)
        return PhaseResult(None, False, None, dt, infeasible=status == cp_model.INFEASIBLE, timed_out=timed_out)

    # -- the canonical tie-break ----------------------------------------------------------
    def canonical(
        self,
        vehicles: int,
        cents: int,
        hint: Solution,
        *,
        time_limit: float,
        work_limit: float,
        by_class: bool = True,
    ) -> Canonical:
        """The canonical award among those with `vehicles` vehicles and a price of at most `cents`:
        the one of least T = sum of allocation x w(line, source) (tie_weights), the rule stated in
        solver.award.TIE_BREAK_RULE. The search starts from `hint` (an optimum) and only its work
        limit stops it: a proven T minimum is the same award whatever search found the optimum."""
        from ortools.sat.python import cp_model

        by_class = by_class and not (self.inst.prefer_early and self.earliness is not None)
        if self.symmetry and not by_class:
            # T over the optima must see every optimum: a model without the lines' ordering
            return self._plain().canonical(
                vehicles, cents, hint, time_limit=time_limit, work_limit=work_limit, by_class=False
            )
        m = self.model
        m.clear_objective()
        m.clear_hints()
        # serve_all already holds exactly the awards with the most vehicles; the class proof of the
        # other models puts them in its objective instead (_canonical_by_classes)
        if not (self.serve_all or (by_class and self.lex_fits)):
            m.add(self.vehicles >= vehicles)
        m.add(self.price <= cents)
        early: bool | None = None
        if by_class:
            t0 = time.monotonic()
            r = self._canonical_by_classes(vehicles, cents, hint, time_limit=time_limit, work_limit=work_limit)
            if (r.solution is not None and r.proven) or work_limit - r.deterministic_time <= 0.001:
                return r
            # Many optimal classes (prices equal across sources): T over all the optima at once,
            # from the least T seen, on a fresh model with the work left.
            rest = self._plain().canonical(
                vehicles,
                cents,
                r.solution or hint,
                time_limit=time_limit - (time.monotonic() - t0),
                work_limit=work_limit - r.deterministic_time,
                by_class=False,
            )
            rest.deterministic_time += r.deterministic_time
            return rest
        if self.inst.prefer_early and self.earliness is not None:
            # rules.prefer_early_delivery: the earliest deliveries among the optima come first,
            # then the tie-break among those (half the work each).
            work_limit /= 2
            m.minimize(self.earliness)
            self.hint(hint)
            solver = self._tie_solver(time_limit, work_limit)
            status = solver.solve(m)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                return Canonical(
                    None, False, solver.deterministic_time, _clock_stopped(solver.deterministic_time, work_limit), False
                )
            early = status == cp_model.OPTIMAL
            m.add(self.earliness <= round(solver.objective_value))
            hint = self.extract(solver.value)
            m.clear_objective()
        pairs = self.allocation_order
        weights = tie_weights(self.inst, [(a.line, a.rank) for a in pairs], self.source_ids)
        if sum(w * a.ub for w, a in zip(weights, pairs, strict=True)) >= INT_LIMIT:
            # T could overflow 64 bits: no tie-break
            return Canonical(hint if early is not None else None, False, 0.0, False, early)
        xs = [a.var for a in pairs]
        t_expr = cp_model.LinearExpr.weighted_sum(xs, weights)
        m.minimize(t_expr)
        self.hint(hint)
        solver = self._tie_solver(time_limit, work_limit)
        status = solver.solve(m)
        dt = solver.deterministic_time
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Canonical(hint if early is not None else None, False, dt, _clock_stopped(dt, work_limit), early)
        sol = self.extract(solver.value)
        if status != cp_model.OPTIMAL:
            return Canonical(sol, False, dt, _clock_stopped(dt, work_limit), early)
        return Canonical(sol, True, dt, False, early)

    def _canonical_by_classes(
        self, vehicles: int, cents: int, hint: Solution, *, time_limit: float, work_limit: float
    ) -> Canonical:
        """The least-T optimum, found class by class. An award's class is what fixes its price and
        vehicles: each bid tier's quantity (0 when not chosen) and each package chosen or not.
        Within a class only which lines go where changes (equal-quantity lines trading places
        between sources), so the least T of a class is a small search with the class fixed. That
        no other class is optimal is proven on the model of the optima (`self`, vehicles and price
        bounded) by minimizing 2 x price - `other`, where `other` may be 1 only for an award of a
        class not seen yet: hinted with the optimum (2 x price), it finds another optimal class
        (2 x price - 1; the search stops at the first) if there is one, else proves there is none.
        On the default 200-bid round (seed 1) that took 1.1-1.2 units of work where proving "no
        award of another class within the price" infeasible took 3.2 (and minimizing T over all
        the optima at once 15-20). When
        prices are equal across sources the classes are many: after MAX_TIE_CLASSES the caller
        minimizes T over all the optima at once instead.

        Without serve_all (not every line can be served, e.g. few-suppliers), the vehicles are
        not a constraint of that model but a term of its objective, 2 x price - `other` - 2 x W x
        vehicles (W = lex_weight, above any award's price, so an award with fewer vehicles than
        the optimum's scores above it; `below` keeps a first award of fewer vehicles from passing
        for another optimal class): the same proof in less work. From the proven optimum of
        few-suppliers' 200-bid rounds, seeds 1, 2, 3, 5: 12.65 / 31.25 / 21.07 / 2.97 -> 5.59 /
        11.53 / 17.30 / 1.56 units (67.9 -> 36.0) against `vehicles >= optimum` as a constraint;
        on 14 such rounds of 60 and 90 bids 23.7 -> 14.1 (bench/results/award_exact.md)."""
        from ortools.sat.python import cp_model

        pairs = self.allocation_order
        weights = tie_weights(self.inst, [(a.line, a.rank) for a in pairs], self.source_ids)
        if sum(w * a.ub for w, a in zip(weights, pairs, strict=True)) >= INT_LIMIT:
            return Canonical(None, False, 0.0, False)  # T could overflow 64 bits: no tie-break
        t0 = time.monotonic()
        m = self.model
        other = m.new_bool_var("")  # the award's class is none of those in `found`
        lex = not self.serve_all and self.lex_fits  # canonical() left out `vehicles >= optimum`
        # `other` is another optimal class only in an award scoring below the optimum's 2 x price
        # (- 2 W vehicles): with the price bounded, that is always so when the vehicles are fixed
        below = 2 * cents - 1
        if lex:
            m.minimize(2 * self.price - other - 2 * self.lex_weight * self.vehicles)
            below -= 2 * self.lex_weight * vehicles
        else:
            m.minimize(2 * self.price - other)
        found: list[tuple[int, tuple[int, ...], Solution]] = []  # (least T, class, award)
        aux: list[cp_model.IntVar] = []  # the literals the classes seen add (_differs_from)
        proven = True
        dt = 0.0
        cur = hint
        while True:
            cls = self._class_of(cur)
            best, ok, used = self._least_t_in_class(cls, cur, weights, t0 + time_limit, work_limit - dt)
            dt += used
            if best is None:
                return Canonical(self._pick(found), False, dt, _clock_stopped(dt, work_limit))
            proven = proven and ok
            found.append((_t_value(best, self, weights), cls, best))
            m.add_implication(other, self._differs_from(cls, aux))
            # A complete hint (the class literals all 0 fit any award): CP-SAT takes it as its first
            # solution in presolve; an incomplete one was only repaired in the search, after the root LP.
            self.hint(cur)
            for v in (other, *aux):
                m.add_hint(v, 0)
            left = work_limit - dt
            if left <= 0.001:
                return Canonical(self._pick(found), False, dt, False)
            solver = self._tie_solver(t0 + time_limit - time.monotonic(), left, proof=True)
            status = solver.solve(m, _stop_at_other(other, below))
            dt += solver.deterministic_time
            solved = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            if status == cp_model.OPTIMAL and not solver.value(other):  # every optimal class is in `found`
                return Canonical(self._pick(found), proven, dt, False)
            if not (solved and solver.value(other) and solver.objective_value <= below):
                return Canonical(self._pick(found), False, dt, _clock_stopped(dt, work_limit))
            if len(found) >= MAX_TIE_CLASSES:
                return Canonical(self._pick(found), False, dt, False)
            cur = self.extract(solver.value)  # an award of another class within the price

    def _plain(self) -> AwardModel:
        """A fresh model of the same round without the lines' ordering, with the same `tie_hook`."""
        plain = AwardModel(self.inst, self.prep, serve_all=self.serve_all)
        plain.tie_hook = self.tie_hook
        return plain

    @staticmethod
    def _pick(found: list[tuple[int, tuple[int, ...], Solution]]) -> Solution | None:
        return min(found, key=lambda f: (f[0], f[1]))[2] if found else None

    def _class_of(self, sol: Solution) -> tuple[int, ...]:
        """Each tier's quantity (0 unless it is the bid's awarded tier), then each package's 0/1."""
        inst, f = self.inst, self.families
        out = []
        for t in f.tiers:
            q = sol.bid_quantity(t.opt.bid)
            out.append(q if q and inst.bids[t.opt.bid].tier_at(q) == t.opt.tier else 0)
        out += [int(p.opt.package in sol.packages) for p in f.packages]
        return tuple(out)

    def _differs_from(self, cls: tuple[int, ...], aux: list[cp_model.IntVar]) -> cp_model.IntVar:
        """A literal that may be true only for an award whose class is not `cls`: some tier's
        quantity or some package's choice differs. Every literal it adds is appended to `aux`."""
        m, f = self.model, self.families
        differs: list[cp_model.LiteralT] = []
        for t, q in zip(f.tiers, cls, strict=False):
            if q:
                d = m.new_bool_var("")
                aux.append(d)
                m.add(t.quantity != q).only_enforce_if(d)
                differs.append(d)
            else:
                differs.append(t.chosen)
        for p, on in zip(f.packages, cls[len(f.tiers) :], strict=True):
            differs.append(~p.chosen if on else p.chosen)
        lit = m.new_bool_var("")
        aux.append(lit)
        m.add_bool_or(differs).only_enforce_if(lit)
        return lit

    def _least_t_in_class(
        self, cls: tuple[int, ...], hint: Solution, weights: list[int], deadline: float, work_limit: float
    ) -> tuple[Solution | None, bool, float]:
        """The least-T award of class `cls` (on a fresh model with the class fixed): (award, proven, work)."""
        from ortools.sat.python import cp_model

        sub = AwardModel(self.inst, self.prep)
        f = sub.families
        for t, q in zip(f.tiers, cls, strict=False):
            sub.model.add(t.quantity == q)
            sub.model.add(t.chosen == int(q > 0))
        for p, on in zip(f.packages, cls[len(f.tiers) :], strict=True):
            sub.model.add(p.chosen == on)
        sub.model.minimize(cp_model.LinearExpr.weighted_sum([a.var for a in sub.allocation_order], weights))
        sub.hint(hint)
        if work_limit <= 0.001:
            return None, False, 0.0
        solver = self._tie_solver(deadline - time.monotonic(), work_limit)
        status = solver.solve(sub.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, False, solver.deterministic_time
        return sub.extract(solver.value), status == cp_model.OPTIMAL, solver.deterministic_time

    def _tie_solver(self, time_limit: float, work_limit: float, *, proof: bool = False) -> cp_model.CpSolver:
        """One worker on a work limit. `proof`: the solve proving that no other optimal class exists,
        a proof like the price phase's, with its parameters (probing on, symmetry off): on the
        200-bid default rounds (seeds 1-5, serve_all model) it proved seeds 1-3 in 1.0-3.5 units of
        work where the sub-models' parameters proved seeds 1-2 only, in 1.5-4.3."""
        from ortools.sat.python import cp_model

        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = 1
        prm.random_seed = 0
        prm.linearization_level = 2
        if proof:
            prm.symmetry_level = 0
            for name, value in PROOF_PARAMS.items():
                setattr(prm, name, value)
        else:
            prm.cp_model_probing_level = 0
        prm.max_time_in_seconds = max(0.01, time_limit)
        prm.max_deterministic_time = max(0.001, work_limit)
        if self.tie_hook is not None:
            self.tie_hook(solver)
        return solver


@dataclass
class Canonical:
    solution: Solution | None  # the least-T award found (None if none)
    proven: bool  # T's minimum is proven: the award is the rule's
    deterministic_time: float
    timed_out: bool
    early: bool | None = None  # prefer_early_delivery: whether the earliest deliveries are proven


def _stop_at_other(other: cp_model.IntVar, below: int) -> cp_model.CpSolverSolutionCallback:
    """A solution callback that stops the search at the first award with `other` true and an
    objective of at most `below`: an optimal award of a class not seen yet is all the
    class-by-class search needs to go on."""
    from ortools.sat.python import cp_model

    class _Stop(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            if self.value(other) and self.objective_value <= below:
                self.stop_search()

    return _Stop()


def _t_value(sol: Solution, model: AwardModel, weights: list[int]) -> int:
    """T of an award (TIE_BREAK_RULE): its line allocations x their weights."""
    inst = model.inst
    got: dict[tuple[int, int, int], int] = {}  # (source rank, option, line) -> units of the variable
    for bi, alloc in sol.bids.items():
        rank = inst.source_rank[inst.bids[bi].id]
        tier = inst.bids[bi].tier_at(sol.bid_quantity(bi))
        for li, v in alloc.items():
            got[rank, tier, li] = 1 if inst.whole else v
    for pi, items in sol.packages.items():
        rank = inst.source_rank[inst.packages[pi].id]
        for ii, alloc in enumerate(items):
            for li, v in alloc.items():
                got[rank, ii, li] = 1 if inst.whole else v
    return sum(w * got.get((a.rank, a.option, a.line), 0) for w, a in zip(weights, model.allocation_order, strict=True))


# Extra CP-SAT parameters of the price and vehicle proofs (not of the serve-all probe). The whole
# LP from the start instead of its rows added as they are violated: on the 200-bid default rounds
# (seeds 1-6, the price proof alone) 0.40-1.44x the work, median 0.81, the rounds that cost most
# gaining most (6.25 -> 2.50, more than 6.4 -> 2.66); few-suppliers seed 1 0.56x, tiers-1-15 0.70x
# (bench/results/award_proof.md). bench.award_proof's variants change them to compare.
PROOF_PARAMS: dict[str, object] = {"add_lp_constraints_lazily": False}

TIE_HASH_BITS = 24
# Optimal classes the tie-break enumerates before it minimizes T over all the optima at once.
MAX_TIE_CLASSES = 3


def tie_weights(inst: Instance, pairs: list[tuple[int, int]], source_ids: list[str]) -> list[int]:
    """w(line, source) = (source rank + 1) x (L + 1 + line rank) x 2^24 + h: lower sources are
    preferred, earlier lines first, and the product (not a sum) makes two awards that swap two
    lines between two sources differ. h is the first 24 bits of BLAKE2b-64(line id, NUL, source
    id): by the isolation lemma (Mulmuley, Vazirani and Vazirani, 1987) the least T is then
    reached by a single award except with a probability below (allocation variables) / 2^24,
    about 10^-4 on a 200-bid round."""
    import hashlib

    n = len(inst.lines)
    k = TIE_HASH_BITS
    out = []
    for li, rank in pairs:
        digest = hashlib.blake2b(f"{inst.lines[li].id}\x00{source_ids[rank]}".encode(), digest_size=8).digest()
        out.append((((rank + 1) * (n + 1 + li)) << k) + (int.from_bytes(digest, "big") >> (64 - k)))
    return out


# Largest magnitude an objective or constraint of the model may reach (CP-SAT checks 2^63 - 1;
# a margin for the sums its presolve forms).
INT_LIMIT = 1 << 60


def _clock_stopped(work_done: float, work_limit: float | None) -> bool:
    """A search that ended unfinished with work left was stopped by the wall clock."""
    return work_limit is None or work_done < 0.98 * work_limit


def _floor(x: float) -> int:
    import math

    return math.floor(x + 1e-6)


def _ceil(x: float) -> int:
    import math

    return math.ceil(x - 1e-6)


def model_size(inst: Instance, prep: Prepared) -> int:
    """Number of line-allocation variables the model would have (its main size driver)."""
    return sum(len(t.lines) for t in prep.tiers) + sum(len(it.lines) for p in prep.packages for it in p.items)


def now() -> float:
    return time.monotonic()
