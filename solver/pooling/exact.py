"""The exact phases on one component, lexicographically, on CP-SAT within a deterministic work
budget (the clock only as a safety cap), so a result is the same on any machine.

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
BUILD_SECONDS_PER_PAIR = 1.2e-4  # measured: model building from Python, per (class, slot) pair, with room
# CP-SAT deterministic time a (class, slot) pair needs before a search is worth starting: presolve
# alone spends about 1.1 on 18,000-34,000 pairs (3-6e-5 each) before the search sees the model, and
# searches given 2-4 there improved nothing (twice presolve, then); far less per pair on small
# models (0.1 on 3,000 pairs, nothing to speak of on 100).
WORK_PER_PAIR = 1.2e-4
PRESOLVE_PAIRS = 10_000  # below this many pairs presolve's work per pair shrinks in proportion


def presolve_work(pairs: int) -> float:
    """The work a search on a model of `pairs` (class, slot) pairs needs before it can achieve
    anything; a smaller limit would be overrun by presolve alone and leave the solution as it was."""
    return WORK_PER_PAIR * pairs * min(1.0, pairs / PRESOLVE_PAIRS)


@dataclass
class Budget:
    """What one component may spend: deterministic work, and wall seconds as a safety cap."""

    seconds: float
    work: float


@dataclass
class Outcome:
    assignment: Assignment  # packed (bins set)
    objective: tuple[int, int, int]
    proven: bool
    bound: int  # proven upper bound on pooled vehicles
    lots_bound: int  # proven lower bound on lots (given the pooled vehicles)
    spread_bound: int  # proven lower bound on spread (given pooled vehicles and lots)
    work_used: float
    stops: frozenset[str]  # what cut a phase short: "work", "time"; empty if nothing did


Report = Callable[[str, tuple[int, int, int], int], None]  # phase, objective, vehicle bound


def _better(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return (-a[0], a[1], a[2]) < (-b[0], b[1], b[2])


def load_engine() -> None:
    """Import CP-SAT before any component's deadline is set: the first import costs 0.4 s of CPU,
    which the smallest component's share (a fraction of a second) could not absorb, so its
    vehicles stayed unproven. Without pandas (solver.cpsat_import): 0.28 s of that CPU less."""
    from solver import cpsat_import

    cpsat_import.load()


class _Model:
    """The CP-SAT model: aggregate (one lot-count variable per slot) or explicit (one copy per possible lot)."""

    def __init__(self, comp: Component, lo: int, hi: int, explicit: bool, start: Assignment):
        from ortools.sat.python import cp_model

        from solver.pooling.rules import lot_size, supply
        from solver.pooling.rules.variables import LotCopy, new_copy

        self.cp_model = cp_model
        self.comp, self.lo, self.hi, self.explicit = comp, lo, hi, explicit
        m = self.model = cp_model.CpModel()
        copies: list[LotCopy] = []
        for si, slot in enumerate(comp.slots):
            prev = None
            for k in range(max(1, slot.total // lo) if explicit else 1):
                if explicit:
                    lots = m.new_bool_var("")
                    if prev is not None:  # lots used in order: no symmetric copies
                        m.add_implication(lots, prev)
                    prev = lots
                else:
                    lots = m.new_int_var(0, max(-(-slot.total // hi), start.n.get(si, 0)), "")
                c = new_copy(m, comp, si, k, lots, hi, explicit)
                lot_size.add(m, c, lo, hi)
                copies.append(c)
        supply.add(m, comp, copies)
        self.copies = copies
        self.x: dict[tuple[int, int, int], Any] = {(it.klass, c.slot, c.copy): it.var for c in copies for it in c.items}
        self.u: dict[tuple[int, int], Any] = {(c.slot, c.copy): c.lots for c in copies}  # copy 0 only if aggregate
        items = [it for c in copies for it in c.items]
        self.P = cp_model.LinearExpr.weighted_sum([it.var for it in items], [it.unit for it in items])
        self.N = cp_model.LinearExpr.sum([c.lots for c in copies])
        self.S = cp_model.LinearExpr.weighted_sum([it.var for it in items], [it.unit * it.level for it in items])

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


class _Callback:
    """Reports each better solution; an exception from the progress callback stops the search."""

    def __init__(self, cp_model: Any, mdl: _Model, phase: str, report: Report, bound: int):
        from ortools.sat.python.cp_model import CpSolverSolutionCallback

        outer = self

        class CB(CpSolverSolutionCallback):
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


class Search:
    """The exact phases on one component, in two stages so the caller can give every component
    its vehicles phase before any component spends time on lots and spread:
    `vehicles(budget)` runs phase 1, `finish(budget)` phases 2 and 3 (and the explicit fallback).
    The model is built once, on first use, and kept between the stages."""

    def __init__(self, comp: Component, lo: int, hi: int, start: Assignment, workers: int, report: Report):
        self.comp, self.lo, self.hi, self.workers, self.report = comp, lo, hi, workers, report
        self.best = start
        self.best_obj = start.objective(comp)
        self.bound = comp.quantity
        self.lots_bound = -(-self.best_obj[0] // hi)
        self.spread_bound = 0
        self.proven = [self.best_obj[0] == self.bound, False, False]
        self.work_used = 0.0
        self.packed_fail = False
        self.explicit = False
        self.stops: set[str] = set()  # what cut a phase short: "work" (reproducible) or "time" (the clock)
        self.mdl: Any = None
        self.restricted = False  # the model carries finish()'s rows (vehicles >= best, lots <= best)

    # -- results
    def outcome(self) -> Outcome:
        return Outcome(
            self.best,
            self.best_obj,
            all(self.proven),
            self.bound,
            self.lots_bound,
            self.spread_bound,
            self.work_used,
            frozenset(self.stops),
        )

    def trivially_done(self) -> bool:
        """Proven by bounds alone: everything pooled in ceil(pooled / max) lots with no spread."""
        p, n, s = self.best_obj
        return p == self.bound and n == -(-p // self.hi) and s == 0

    # -- model
    def _model_size(self) -> int:
        if not self.explicit:
            return self.comp.size()
        return sum(max(1, s.total // self.lo) * len(s.members) for s in self.comp.slots)

    def _ensure_model(self, budget: Budget) -> bool:
        if self.mdl is not None:
            return True
        # Building costs Python time per (class, slot) pair; a component whose model cannot even be
        # built and searched within its budget keeps the solution it has. The work decides first
        # (the same everywhere); the clock only as the safety cap, and then says so (stops).
        if budget.work < presolve_work(self._model_size()):
            self.stops.add("work")
            return False
        if budget.seconds < BUILD_SECONDS_PER_PAIR * self._model_size() * 1.5:
            self.stops.add("time")
            return False
        self.mdl = _Model(self.comp, self.lo, self.hi, self.explicit, self.best)
        return True

    # -- stages
    def vehicles(self, budget: Budget) -> None:
        if self.proven[0] or self.trivially_done():
            self.proven = [True, True, True] if self.trivially_done() else self.proven
            return
        if self.restricted:  # finish() added rows that would make a vehicles bound invalid: start afresh
            self.mdl, self.restricted = None, False
        # Set before the model is built, so building counts in the component's time (it did not:
        # the last components overran the call's limit by their building time, 63 s on 60 s).
        deadline = time.monotonic() + 0.9 * budget.seconds  # solvers overrun their limits a little
        if not self._ensure_model(budget):
            return
        ok, b = self._run("max-vehicles", self.mdl.P, True, deadline, budget.work)
        self.proven[0] = ok
        if b is not None:
            self.bound = min(self.bound, int(b + 1e-6))
        self.report("max-vehicles", self.best_obj, self.bound)

    def finish(self, budget: Budget) -> None:
        if self.trivially_done():
            self.proven = [True, True, True]
            self.lots_bound, self.spread_bound = self.best_obj[1], 0
            return
        deadline = time.monotonic() + 0.9 * budget.seconds  # building included (see vehicles)
        if not self._ensure_model(budget):
            return
        work = budget.work
        mdl, best_p = self.mdl, self.best_obj[0]
        mdl.at_least(mdl.P, best_p)
        self.restricted = True
        # (2) fewest lots
        if self.proven[0]:
            self.lots_bound = max(self.lots_bound, -(-best_p // self.hi))
        if self.proven[0] and self.best_obj[1] == self.lots_bound:
            self.proven[1] = True
        else:
            used = self.work_used
            ok, b = self._run("min-lots", mdl.N, False, deadline, work * 0.6)
            work -= self.work_used - used
            self.proven[1] = ok and self.proven[0]
            if b is not None and self.proven[0]:
                self.lots_bound = max(self.lots_bound, int(-(-(b - 1e-6) // 1)))
            if self.proven[1]:
                self.lots_bound = self.best_obj[1]
        self.report("min-lots", self.best_obj, self.bound)
        mdl.at_most(mdl.N, self.best_obj[1])
        # (3) least spread
        if self.best_obj[2] == 0:
            self.proven[2] = self.proven[1]
            self.spread_bound = 0
        else:
            ok, b = self._run("min-spread", mdl.S, False, deadline, work, share=1.0)
            self.proven[2] = ok and self.proven[0] and self.proven[1]
            if b is not None and self.proven[0] and self.proven[1]:
                self.spread_bound = int(-(-(b - 1e-6) // 1))
            if self.proven[2]:
                self.spread_bound = self.best_obj[2]
        self.report("min-spread", self.best_obj, self.bound)
        if self.packed_fail and not self.explicit and time.monotonic() >= deadline:
            self.stops.add("time")
        elif self.packed_fail and not self.explicit:
            # The aggregate optimum does not pack into lots: solve with explicit lots instead.
            # The aggregate model's bounds stay valid (it is a relaxation); its proofs do not.
            self.explicit, self.mdl, self.packed_fail, self.restricted = True, None, False, False
            self.proven = [self.best_obj[0] == self.bound, False, False]
            rest = Budget(deadline - time.monotonic(), work)
            self.vehicles(rest)
            self.finish(Budget(deadline - time.monotonic(), work))

    # -- one solve
    def _adopt(self, a: Assignment) -> bool:
        """Keep a better solution if it packs; False if it is better but does not pack."""
        obj = a.objective(self.comp)
        if not _better(obj, self.best_obj):
            return True
        if self.explicit or pack_all(self.comp, a, self.lo, self.hi):
            self.best, self.best_obj = a, obj
            return True
        self.packed_fail = True  # the aggregate solution does not pack: the explicit model must decide
        return False

    def _run(
        self, phase: str, objective: Any, maximize: bool, deadline: float, work: float, share: float = 0.6
    ) -> tuple[bool, float | None]:
        """One phase: (proven optimal, bound on the objective or None)."""
        seconds = max(0.0, (deadline - time.monotonic()) * share)
        if work <= 1e-6 or work * share < presolve_work(self._model_size()):
            # Too little to get past presolve (which overruns small limits): the same everywhere.
            self.stops.add("work")
            return False, None
        if seconds < 0.005:
            self.stops.add("time")
            return False, None
        mdl = self.mdl
        if maximize:
            mdl.model.maximize(objective)
        else:
            mdl.model.minimize(objective)
        mdl.hint(self.best)
        cp_model = mdl.cp_model
        solver = cp_model.CpSolver()
        prm = solver.parameters
        prm.num_workers = max(1, self.workers)
        if self.workers > 1:
            prm.interleave_search = True
        prm.random_seed = SEED
        # The LP with every linking row is what proves lots and spread (level 1 leaves most of it out).
        prm.linearization_level = 2
        prm.max_time_in_seconds = seconds
        prm.max_deterministic_time = work * share
        cb = _Callback(cp_model, mdl, phase, self.report, self.bound)
        status = solver.solve(mdl.model, cb.cb)
        self.work_used += solver.response_proto.deterministic_time
        if cb.error is not None:
            raise cb.error
        found = True
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = self._adopt(mdl.decode(solver.value))
        if status not in (cp_model.OPTIMAL, cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
            # A limit ended it: the work one if it was reached, else the clock.
            spent = solver.response_proto.deterministic_time
            self.stops.add("work" if spent >= 0.99 * prm.max_deterministic_time else "time")
        if status == cp_model.OPTIMAL:
            return found, solver.objective_value
        if status == cp_model.FEASIBLE:
            return False, solver.best_objective_bound
        return False, None
