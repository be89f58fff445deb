"""The exact phases: CP-SAT on one component, lexicographically.

Aggregate model (default): x[c,s] items of class c in slot s, n[s] lots in slot s,
    min*n[s] <= sum_c unit_c * x[c,s] <= max*n[s],   sum_s x[c,s] <= cap_c.
It is a relaxation of the real problem (it ignores how whole lines pack into a slot's
lots) and all three objectives depend on it alone, so its lexicographic optimum is the
real one as soon as the slots pack (solver.pooling.packing). When they do not, the
explicit model (a copy per possible lot, whole lines counted per lot) solves the component.

Phases: (1) max vehicles, (2) min lots with vehicles >= the best found, (3) min spread with
lots <= the best found. Each phase starts from the best solution so far (hint) and keeps
it if it times out, so a later phase never loses an earlier phase's result. A phase is
skipped when a combinatorial bound already proves the incumbent (everything pooled;
lots == ceil(pooled / max); spread 0).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from solver.pooling.components import Component
from solver.pooling.packing import Assignment, pack_all

SEED = 20270401
BUILD_SECONDS_PER_PAIR = 1.2e-4  # measured: MathOpt model building from Python, per (class, slot) pair


@dataclass
class Budget:
    """What one component may spend: wall seconds, and deterministic work (None = no limit)."""

    seconds: float
    work: float | None


@dataclass
class Outcome:
    assignment: Assignment  # packed (bins set)
    objective: tuple[int, int, int]
    proven: bool
    bound: int  # proven upper bound on pooled vehicles
    lots_bound: int  # proven lower bound on lots (given the pooled vehicles)
    spread_bound: int  # proven lower bound on spread (given pooled vehicles and lots)
    work_used: float


Report = Callable[[str, tuple[int, int, int], int], None]  # phase, objective, vehicle bound


def _better(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return (-a[0], a[1], a[2]) < (-b[0], b[1], b[2])


class _Model:
    def __init__(self, comp: Component, lo: int, hi: int, explicit: bool, start: Assignment):
        from ortools.sat.python import cp_model

        self.cp_model = cp_model
        self.comp, self.lo, self.hi, self.explicit = comp, lo, hi, explicit
        m = self.model = cp_model.CpModel()
        classes = comp.classes
        p_vars: list[Any] = []
        p_coef: list[int] = []
        s_coef: list[int] = []
        n_vars: list[Any] = []
        by_class: list[list[Any]] = [[] for _ in classes]
        self.x: dict[tuple[int, int, int], Any] = {}  # (class, slot, copy) -> var
        self.u: dict[tuple[int, int], Any] = {}  # (slot, copy) -> lots there (copy 0 only if aggregate)
        for si, slot in enumerate(comp.slots):
            copies = 1
            if explicit:
                copies = max(1, slot.total // lo)
            else:
                ub = max(-(-slot.total // hi), start.n.get(si, 0))
            prev = None
            for k in range(copies):
                if explicit:
                    u = m.new_bool_var("")
                    if prev is not None:
                        m.add_implication(u, prev)
                    prev = u
                else:
                    u = m.new_int_var(0, ub, "")
                self.u[(si, k)] = u
                n_vars.append(u)
                vs, cs = [], []
                for ci, lev in slot.members:
                    cl = classes[ci]
                    top = cl.cap if not explicit else min(cl.cap, hi // cl.unit)
                    v = m.new_int_var(0, top, "")
                    # At most `top` items of the class per lot: links items to lots, which makes the
                    # LP relaxation a set-cover bound on lots instead of the weak pooled / max.
                    m.add(v <= min(cl.cap, hi // cl.unit) * u)
                    self.x[(ci, si, k)] = v
                    by_class[ci].append(v)
                    vs.append(v)
                    cs.append(cl.unit)
                    p_vars.append(v)
                    p_coef.append(cl.unit)
                    s_coef.append(cl.unit * lev)
                t = cp_model.LinearExpr.weighted_sum(vs, cs)
                m.add(t >= lo * u)
                m.add(t <= hi * u)
        for ci, vs in enumerate(by_class):
            if len(vs) > 1:
                m.add(cp_model.LinearExpr.sum(vs) <= classes[ci].cap)
        self.P = cp_model.LinearExpr.weighted_sum(p_vars, p_coef)
        self.N = cp_model.LinearExpr.sum(n_vars)
        self.S = cp_model.LinearExpr.weighted_sum(p_vars, s_coef)

    def at_least(self, expr: Any, value: int) -> None:
        self.model.add(expr >= value)

    def at_most(self, expr: Any, value: int) -> None:
        self.model.add(expr <= value)

    def hint(self, a: Assignment) -> None:
        m = self.model
        m.clear_hints()
        if self.explicit and a.bins is not None:
            for (si, k), u in self.u.items():
                bins = a.bins.get(si, [])
                m.add_hint(u, k < len(bins))
            for (ci, si, k), v in self.x.items():
                bins = a.bins.get(si, [])
                m.add_hint(v, bins[k].get(ci, 0) if k < len(bins) else 0)
        elif not self.explicit:
            for (si, _), u in self.u.items():
                m.add_hint(u, a.n.get(si, 0))
            for (ci, si, _), v in self.x.items():
                m.add_hint(v, a.x.get((ci, si), 0))

    def decode(self, value: Callable[[Any], int]) -> Assignment:
        a = Assignment()
        bins: dict[int, list[dict[int, int]]] = {}
        for (ci, si, k), v in self.x.items():
            val = value(v)
            if val:
                a.x[(ci, si)] = a.x.get((ci, si), 0) + val
                if self.explicit:
                    bl = bins.setdefault(si, [])
                    while len(bl) <= k:
                        bl.append({})
                    bl[k][ci] = val
        for (si, _), u in self.u.items():
            val = value(u)
            if val:
                a.n[si] = a.n.get(si, 0) + int(val)
        if self.explicit:
            a.bins = {si: [b for b in bl if b] for si, bl in bins.items()}
        return a


class _MipModel:
    """The aggregate model for HiGHS through OR-Tools MathOpt (same rows as _Model, aggregate only)."""

    explicit = False

    def __init__(self, comp: Component, lo: int, hi: int, start: Assignment):
        from ortools.math_opt.python import mathopt

        self.mathopt = mathopt
        self.comp = comp
        m = self.model = mathopt.Model()
        classes = comp.classes
        p_terms: list[Any] = []
        s_terms: list[Any] = []
        by_class: list[list[Any]] = [[] for _ in classes]
        self.x: dict[tuple[int, int, int], Any] = {}
        self.u: dict[tuple[int, int], Any] = {}
        for si, slot in enumerate(comp.slots):
            ub = max(-(-slot.total // hi), start.n.get(si, 0))
            u = m.add_integer_variable(lb=0, ub=ub)
            self.u[(si, 0)] = u
            terms = []
            for ci, lev in slot.members:
                cl = classes[ci]
                v = m.add_integer_variable(lb=0, ub=cl.cap)
                self.x[(ci, si, 0)] = v
                by_class[ci].append(v)
                terms.append(cl.unit * v)
                p_terms.append(cl.unit * v)
                if lev:
                    s_terms.append(cl.unit * lev * v)
                m.add_linear_constraint(v - min(cl.cap, hi // cl.unit) * u <= 0)
            t = mathopt.fast_sum(terms)
            m.add_linear_constraint(t - lo * u >= 0)
            m.add_linear_constraint(t - hi * u <= 0)
        for ci, vs in enumerate(by_class):
            if len(vs) > 1:
                m.add_linear_constraint(mathopt.fast_sum(vs) <= classes[ci].cap)
        self.P = mathopt.fast_sum(p_terms)
        self.N = mathopt.fast_sum(list(self.u.values()))
        self.S = mathopt.fast_sum(s_terms)
        self.hint_values: dict[Any, float] = {}

    def at_least(self, expr: Any, value: int) -> None:
        self.model.add_linear_constraint(expr >= value)

    def at_most(self, expr: Any, value: int) -> None:
        self.model.add_linear_constraint(expr <= value)

    def hint(self, a: Assignment) -> None:
        values = {u: float(a.n.get(si, 0)) for (si, _), u in self.u.items()}
        values.update({v: float(a.x.get((ci, si), 0)) for (ci, si, _), v in self.x.items()})
        self.hint_values = values

    def decode(self, value: Callable[[Any], float]) -> Assignment:
        a = Assignment()
        for (ci, si, _), v in self.x.items():
            val = round(value(v))
            if val:
                a.x[(ci, si)] = val
        for (si, _), u in self.u.items():
            val = round(value(u))
            if val:
                a.n[si] = val
        return a


class _Callback:
    """Reports each better solution; an exception from the progress callback stops the search."""

    def __init__(self, cp_model: Any, mdl: _Model, phase: str, report: Report, bound: int):
        outer = self

        class CB(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                if outer.error is not None:
                    return
                try:
                    a = mdl.decode(self.value)
                    report(phase, a.objective(mdl.comp), bound)
                except BaseException as exc:  # re-raised after the solve
                    outer.error = exc
                    self.stop_search()

        self.error: BaseException | None = None
        self.cb = CB()


def solve_component(
    comp: Component,
    lo: int,
    hi: int,
    start: Assignment,
    budget: Budget,
    workers: int,
    report: Report,
    explicit: bool = False,
) -> Outcome:
    """Improve `start` (a packed assignment) lexicographically within the budget."""
    deadline = time.monotonic() + 0.9 * budget.seconds  # solvers overrun their limits a little
    work_left = budget.work
    best = start
    best_obj = start.objective(comp)
    total = comp.quantity
    bound = total
    lots_bound = -(-best_obj[0] // hi)
    spread_bound = 0
    proven = [best_obj[0] == total, best_obj[1] == lots_bound, best_obj[2] == 0]
    if all(proven):
        return Outcome(best, best_obj, True, bound, best_obj[1], 0, 0.0)

    # HiGHS (through MathOpt) proves these set-cover-like phases far faster than CP-SAT; CP-SAT
    # runs when a deterministic work limit is asked for (max_deterministic_time) and for the
    # explicit model.
    engine = "cp-sat" if explicit or budget.work is not None else "highs"
    # Building the model costs Python time per (class, slot) pair; a component whose model
    # cannot even be built and searched within its budget keeps its start solution.
    if budget.seconds < BUILD_SECONDS_PER_PAIR * comp.size() * (3 if engine == "highs" else 1.5):
        return Outcome(best, best_obj, False, bound, lots_bound, spread_bound, 0.0)
    mdl: Any = _Model(comp, lo, hi, explicit, start) if engine == "cp-sat" else _MipModel(comp, lo, hi, start)
    cp_model = getattr(mdl, "cp_model", None)
    work_used = 0.0
    packed_fail = False

    def adopt(a: Assignment) -> bool:
        """Keep a better solution if it packs; False if it is better but does not pack."""
        nonlocal best, best_obj, packed_fail
        obj = a.objective(comp)
        if not _better(obj, best_obj):
            return True
        if mdl.explicit or pack_all(comp, a, lo, hi):
            best, best_obj = a, obj
            return True
        packed_fail = True  # the aggregate solution does not pack: the explicit model must decide
        return False

    def run(phase: str, objective: Any, maximize: bool, share: float) -> tuple[bool, float | None]:
        """One phase: (proven optimal, bound on the objective or None)."""
        nonlocal work_left, work_used
        seconds = max(0.0, (deadline - time.monotonic()) * share)
        if seconds < 0.005 or (work_left is not None and work_left <= 1e-6):
            return False, None
        if maximize:
            mdl.model.maximize(objective)
        else:
            mdl.model.minimize(objective)
        mdl.hint(best)
        if engine == "highs":
            return run_highs(seconds)
        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = max(1, workers)
        if workers > 1:
            prm.interleave_search = True
        prm.random_seed = SEED
        # The LP with every linking row is what proves lots and spread (level 1 leaves most of it out).
        prm.linearization_level = 2
        prm.max_time_in_seconds = seconds
        if work_left is not None:
            prm.max_deterministic_time = work_left * share
        cb = _Callback(cp_model, mdl, phase, report, bound)
        status = solver.solve(mdl.model, cb.cb)
        used = solver.response_proto.deterministic_time
        work_used += used
        if work_left is not None:
            work_left -= used
        if cb.error is not None:
            raise cb.error
        found = True
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = adopt(mdl.decode(solver.value))
        if status == cp_model.OPTIMAL:
            return found, solver.objective_value
        if status == cp_model.FEASIBLE:
            return False, solver.best_objective_bound
        return False, None

    def run_highs(seconds: float) -> tuple[bool, float | None]:
        import datetime
        import math

        from ortools.math_opt.solvers import highs_pb2

        mathopt = mdl.mathopt
        opts = highs_pb2.HighsOptionsProto()
        opts.bool_options["output_flag"] = False
        params = mathopt.SolveParameters(
            time_limit=datetime.timedelta(seconds=seconds),
            relative_gap_tolerance=0.0,
            absolute_gap_tolerance=0.5,  # objectives are integers: a gap below 1 proves the optimum
            random_seed=SEED,
            highs=opts,
        )
        hints = mathopt.ModelSolveParameters(solution_hints=[mathopt.SolutionHint(variable_values=mdl.hint_values)])
        result = mathopt.solve(mdl.model, mathopt.SolverType.HIGHS, params=params, model_params=hints)
        found = True
        if result.has_primal_feasible_solution():
            values = result.variable_values()
            found = adopt(mdl.decode(values.__getitem__))
        reason = result.termination.reason
        if reason == mathopt.TerminationReason.OPTIMAL:
            return found, result.objective_value()
        b = result.termination.objective_bounds.dual_bound
        return False, b if math.isfinite(b) else None

    # (1) most vehicles
    if not proven[0]:
        ok, b = run("max-vehicles", mdl.P, True, 0.34)
        proven[0] = ok
        if b is not None:
            bound = min(bound, int(b + 1e-6))
    report("max-vehicles", best_obj, bound)
    mdl.at_least(mdl.P, best_obj[0])
    # (2) fewest lots
    lots_bound = max(lots_bound, -(-best_obj[0] // hi)) if proven[0] else lots_bound
    if best_obj[1] == lots_bound and proven[0]:
        proven[1] = True
    else:
        ok, b = run("min-lots", mdl.N, False, 0.6)
        proven[1] = ok and proven[0]
        if b is not None and proven[0]:
            lots_bound = max(lots_bound, int(-(-(b - 1e-6) // 1)))
        if proven[1]:
            lots_bound = best_obj[1]
    report("min-lots", best_obj, bound)
    mdl.at_most(mdl.N, best_obj[1])
    # (3) least spread
    if best_obj[2] == 0:
        proven[2] = True
    else:
        ok, b = run("min-spread", mdl.S, False, 1.0)
        proven[2] = ok and proven[0] and proven[1]
        if b is not None and proven[0] and proven[1]:
            spread_bound = int(-(-(b - 1e-6) // 1))
        if proven[2]:
            spread_bound = best_obj[2]
    report("min-spread", best_obj, bound)
    out = Outcome(best, best_obj, all(proven), bound, lots_bound, spread_bound, work_used)
    if packed_fail and not explicit and time.monotonic() < deadline:
        rest = Budget(deadline - time.monotonic(), None if work_left is None else work_left)
        again = solve_component(comp, lo, hi, best, rest, workers, report, explicit=True)
        again.work_used += work_used
        return again
    return out
