"""Proven bounds from the LP relaxation of the award model (GLOP, built through OR-Tools' model builder).

Used on rounds too large for CP-SAT to prove anything: the LP of the compact model (per
tier: y in [0,1], line allocations, lo*y <= q <= hi*y; at most one tier per bid; lines;
capacity; winners w in [0,1] with share cap * w) gives an upper bound on vehicles and,
with vehicles >= the best count found, a lower bound on price. LP values are floating
point: the bounds are rounded outward with a relative safety margin of 1e-9.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TypeVar

from solver.award.dualbound import ApproxDuals, DualBound
from solver.award.instance import Instance
from solver.award.prep import Prepared

K = TypeVar("K")

SAFETY = 1e-9
# GLOP's parameters for the price LPs: dual simplex without presolve solved them 2.5-3x faster
# than the defaults (2,000 bids, CPU: default family 6.1 -> 2.0 s, few-suppliers 12.5 -> 4.8 s;
# same optimum and duals), so they arrive in time on a loaded machine. The vehicle LP keeps the
# defaults (dual simplex was slower there: 1.6 -> 10.5 s). Given in full each time: GLOP keeps the
# parameters of the previous solve otherwise.
PRICE_LP_PARAMS = "use_dual_simplex: true, use_preprocessing: false"
VEHICLE_LP_PARAMS = "use_dual_simplex: false, use_preprocessing: true"


@dataclass
class LpBounds:
    vehicles: int | None = None
    cents: int | None = None  # lower bound on price for awards with >= `for_vehicles` vehicles
    for_vehicles: int | None = None


class LpModel:
    """The LP relaxation as plain rows, built through OR-Tools' model builder (fast to build) and
    solved by one GLOP solver that keeps its basis from LP to LP."""

    def __init__(self, inst: Instance, prep: Prepared):
        whole = inst.whole
        Q = [line.quantity for line in inst.lines]
        lb: list[float] = []
        ub: list[float] = []
        rows: list[tuple[float, float, list[int], list[float]]] = []
        inf = math.inf
        # For the Lagrangian bound (solver.award.lagrange): each supplier's capacity row, each
        # package's `chosen` variable, and the lot of every row that belongs to one lot only.
        self.capacity_rows: dict[int, int] = {}
        self.package_vars: dict[int, int] = {}
        row_lot: dict[int, int] = {}

        def var(hi: float) -> int:
            lb.append(0.0)
            ub.append(float(hi))
            return len(ub) - 1

        veh: dict[int, float] = {}
        price: dict[int, float] = {}
        line_terms: list[list[int]] = [[] for _ in inst.lines]
        sup_terms: dict[int, tuple[list[int], list[float]]] = {}
        lot_terms: dict[tuple[int, int], tuple[list[int], list[float]]] = {}
        lot_sel: dict[tuple[int, int], list[int]] = {}
        bid_sel: dict[int, list[int]] = {}
        # (variable, vehicles per unit, supplier, line, source quarters): for the quarterly capacities
        allocs: list[tuple[int, float, int, int, frozenset[int] | None]] = []

        def add(d: dict[K, tuple[list[int], list[float]]], key: K, v: int, c: float) -> None:
            idx, val = d.setdefault(key, ([], []))
            idx.append(v)
            val.append(c)

        for t in prep.tiers:
            bid = inst.bids[t.bid]
            y = var(1)
            xs, cs = [], []
            for li in t.lines:
                if whole:
                    x = var(1)
                    rows.append((-inf, 0.0, [x, y], [1.0, -1.0]))
                    c = float(Q[li])
                else:
                    cap = min(Q[li], t.hi)
                    x = var(cap)
                    rows.append((-inf, 0.0, [x, y], [1.0, -float(cap)]))
                    c = 1.0
                xs.append(x)
                cs.append(c)
                line_terms[li].append(x)
                veh[x] = c
                price[x] = c * t.cents
                add(sup_terms, bid.supplier, x, c)
                add(lot_terms, (bid.supplier, bid.lot), x, c)
                allocs.append((x, c, bid.supplier, li, bid.quarters))
            rows.append((0.0, inf, [*xs, y], [*cs, -float(t.lo)]))
            rows.append((-inf, 0.0, [*xs, y], [*cs, -float(t.hi)]))
            lot_sel.setdefault((bid.supplier, bid.lot), []).append(y)
            bid_sel.setdefault(t.bid, []).append(y)
        for ys in bid_sel.values():
            if len(ys) > 1:
                rows.append((-inf, 1.0, ys, [1.0] * len(ys)))
        for p in prep.packages:
            z = var(1)
            self.package_vars[p.package] = z
            for it in p.items:
                xs, cs = [], []
                for li in it.lines:
                    x = var(1 if whole else min(Q[li], it.quantity))
                    xs.append(x)
                    cs.append(float(Q[li]) if whole else 1.0)
                    line_terms[li].append(x)
                    allocs.append((x, cs[-1], p.supplier, li, inst.packages[p.package].quarters))
                row_lot[len(rows)] = it.lot
                rows.append((0.0, 0.0, [*xs, z], [*cs, -float(it.quantity)]))
                add(lot_terms, (p.supplier, it.lot), z, float(it.quantity))
                lot_sel.setdefault((p.supplier, it.lot), []).append(z)
            veh[z] = float(p.quantity)
            price[z] = float(sum(it.quantity * it.cents for it in p.items))
            add(sup_terms, p.supplier, z, float(p.quantity))
        for li, xs in enumerate(line_terms):
            if len(xs) > 1:
                rows.append((-inf, 1.0 if whole else float(Q[li]), xs, [1.0] * len(xs)))
        for s, (idx, val) in sup_terms.items():
            self.capacity_rows[s] = len(rows)
            rows.append((-inf, float(inst.capacity[s]), idx, val))
        by_lot: dict[int, list[int]] = {}
        for (s, lot), (idx, val) in sorted(lot_terms.items()):
            most = float(min(inst.lots[lot].share_cap, inst.capacity[s]))
            if inst.max_winners is not None:
                w = var(1)
                for v in lot_sel[s, lot]:
                    row_lot[len(rows)] = lot
                    rows.append((-inf, 0.0, [v, w], [1.0, -1.0]))
                row_lot[len(rows)] = lot
                rows.append((-inf, 0.0, [*idx, w], [*val, -most]))
                by_lot.setdefault(lot, []).append(w)
            else:
                row_lot[len(rows)] = lot
                rows.append((-inf, most, idx, val))
        if inst.max_winners is not None:
            for ws in by_lot.values():
                if len(ws) > inst.max_winners:
                    rows.append((-inf, float(inst.max_winners), ws, [1.0] * len(ws)))
        if inst.span is not None and any(inst.quarterly):
            from solver.award.deliveries import lp_rows

            rows += lp_rows(inst, allocs, var)  # the quarterly capacities (delivery quarters)

        # Built through the model builder (fast from Python), then solved by GLOP solvers kept
        # across the LPs (pywraplp): a price LP that only moves the vehicle row's right-hand side
        # restarts from the previous price LP's optimal basis (dual simplex) instead of from
        # scratch. 2,000 bids, arbitrary, CPU: the second price LP 19.4 -> 0.2 s, the further ones
        # 17 -> 0.1 s (python -m bench.award_cpu --lp). The vehicle LP has a solver of its own, so
        # the first price LP starts cold as before: same duals, same Lagrangian multipliers
        # (from the vehicle LP's basis they were other optimal duals, 0.08 % weaker there).
        from ortools.linear_solver.python import model_builder as mb

        model = mb.Model()
        h = model.helper
        for lo, hi in zip(lb, ub, strict=True):
            v = h.add_var()
            h.set_var_lower_bound(v, lo)
            h.set_var_upper_bound(v, hi)
        for lo, hi, idx, val in rows:
            ct = h.add_linear_constraint()
            h.set_constraint_lower_bound(ct, lo)
            h.set_constraint_upper_bound(ct, hi)
            for v, c in zip(idx, val, strict=True):
                h.add_term_to_constraint(ct, v, c)
        self._proto = model.export_to_proto()
        del model
        self._rows = rows  # for bounds from approximate duals (approx_price_bound)
        self._upper = ub
        self._glop: dict[str, _Glop] = {}
        self._last: _Glop | None = None  # the solver of the last LP, when it ended optimal
        self._columns: dict[int, list[tuple[int, float]]] | None = None  # per variable, its (row, coefficient)
        self.veh = veh
        self.price = price
        self._vehicles_row: int | None = None
        # per package variable, its (row, coefficient, lot) in rows of one lot
        zs = {z: p for p, z in self.package_vars.items()}
        self.package_rows: dict[int, list[tuple[int, float, int]]] = {p: [] for p in self.package_vars}
        for r, lot in row_lot.items():
            for v, c in zip(rows[r][2], rows[r][3], strict=True):
                if v in zs:
                    self.package_rows[zs[v]].append((r, c, lot))

    def _solver(self, goal: str) -> _Glop:
        if goal not in self._glop:
            self._glop[goal] = _Glop(self._proto)
        return self._glop[goal]

    def _solve(
        self, glop: _Glop, coefs: dict[int, float], maximize: bool, time_limit: float, params: str
    ) -> float | None:
        self._last = None
        if self.max_work is not None:
            params += f", max_deterministic_time: {self.max_work}"
        value = glop.solve(coefs, maximize, time_limit, params)
        self.infeasible = glop.infeasible
        self.iterations = glop.iterations
        self.capped = value is None and self.max_work is not None and glop.stopped and not glop.timed_out
        if value is not None:
            self._last = glop
        return value

    def dual(self, row: int) -> float:
        """The last optimal LP's dual value of a row (in the objective's units)."""
        assert self._last is not None
        return float(self._last.rows[row].dual_value()) * self._last.scale

    def reduced_cost(self, var: int) -> float:
        """The last optimal LP's reduced cost of a variable (in the objective's units)."""
        assert self._last is not None
        return float(self._last.vars[var].reduced_cost()) * self._last.scale

    @property
    def vehicles_row(self) -> int | None:
        """The price LPs' vehicle row (after the first price_bound)."""
        return self._vehicles_row

    def columns(self) -> dict[int, list[tuple[int, float]]]:
        """Each variable's (row, coefficient) in the LP's rows (built once)."""
        if self._columns is None:
            self._columns = {}
            for r, (_, _, idx, val) in enumerate(self._rows):
                for v, c in zip(idx, val, strict=True):
                    self._columns.setdefault(v, []).append((r, c))
        return self._columns

    def vehicle_bound(self, time_limit: float) -> int | None:
        v = self._solve(self._solver("vehicles"), self.veh, True, time_limit, VEHICLE_LP_PARAMS)
        return None if v is None else math.floor(v * (1 + SAFETY) + 1e-6)

    def price_bound(self, vehicles: int, time_limit: float) -> int | None:
        """Lower bound on the price of any award with at least `vehicles` vehicles (one
        constraint, its right-hand side changed from call to call: any order of calls)."""
        glop = self._solver("price")
        if self._vehicles_row is None:
            self._vehicles_row = glop.add_row(self.veh)
        glop.rows[self._vehicles_row].SetLb(float(vehicles))
        cents = self._solve(glop, self.price, False, time_limit, PRICE_LP_PARAMS)
        dual = 0.0 if cents is None else self.dual(self._vehicles_row)
        self.slope = max(0.0, dual * (1 - SAFETY) - 1e-6)
        self.slope_up = max(0.0, dual * (1 + SAFETY) + 1e-6)
        return None if cents is None else max(0, math.ceil(cents * (1 - SAFETY) - 1e-6))

    def approx_duals(self, vehicles: int, iterations: int) -> ApproxDuals | None:
        """Approximate duals of the price LP for at least `vehicles` vehicles: PDLP stopped after
        `iterations` iterations (solver.award.dualbound), for a price LP GLOP does not finish."""
        from solver.award.dualbound import pdlp_duals

        duals = pdlp_duals(self._proto, self.veh, self.price, vehicles, iterations)
        return None if duals is None else ApproxDuals(self, *duals)

    def approx_price_bound(self, vehicles: int, iterations: int) -> DualBound | None:
        """A proven lower bound on the price of any award with at least `vehicles` vehicles (for
        every count: DualBound.at) from approx_duals."""
        duals = self.approx_duals(vehicles, iterations)
        return None if duals is None else duals.bound()

    # The vehicle row's dual of the last price LP, rounded down (slope) and up (slope_up): for any
    # count v, price_bound(v) >= price_bound(vehicles) + slope x (v - vehicles) above `vehicles`,
    # and - slope_up x (vehicles - v) below it (see tangent_bound).
    slope = 0.0
    slope_up = 0.0
    # The last LP was proven infeasible (e.g. a price LP asked for more vehicles than the LP holds).
    infeasible = False
    # Simplex iterations of the last LP (a price LP after another restarts from its basis: few).
    iterations = 0
    # Each LP stops after this much of GLOP's deterministic time (None: no such limit), a limit
    # that stops it on every machine alike, unlike the clock; capped: it stopped the last LP.
    max_work: float | None = None
    capped = False


class _Glop:
    """One GLOP solver on the LP (pywraplp keeps its state between solves: warm starts)."""

    def __init__(self, proto: object):
        import ortools.linear_solver.pywraplp as pywraplp

        self.pywraplp = pywraplp
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        error = self.solver.LoadModelFromProto(proto)
        if error:
            raise RuntimeError(f"the LP did not load: {error}")
        self.vars = self.solver.variables()
        self.rows = self.solver.constraints()
        self.scale = 1.0
        self.infeasible = False
        self.stopped = self.timed_out = False  # a limit stopped the last solve; the clock's
        self.iterations = 0  # simplex iterations of the last solve (deterministic)

    def add_row(self, coefs: dict[int, float]) -> int:
        """A row sum(coefs) >= its lower bound (set later); its index."""
        row = self.solver.RowConstraint(0.0, self.solver.infinity(), "vehicles")
        for v, c in coefs.items():
            row.SetCoefficient(self.vars[v], c)
        self.rows.append(row)
        return len(self.rows) - 1

    def solve(self, coefs: dict[int, float], maximize: bool, time_limit: float, params: str) -> float | None:
        objective = self.solver.Objective()
        objective.Clear()
        # GLOP ended ABNORMAL on 2,000-bid rounds with prices of 10^7 cents as coefficients (a
        # bound was lost); the objective scaled to coefficients of at most 1 solves to OPTIMAL.
        scale = max((abs(c) for c in coefs.values()), default=1.0) or 1.0
        for v, c in coefs.items():
            objective.SetCoefficient(self.vars[v], c / scale)
        if maximize:
            objective.SetMaximization()
        else:
            objective.SetMinimization()
        limit = max(0.1, time_limit)
        self.solver.SetTimeLimit(int(1000 * limit))
        self.solver.SetSolverSpecificParametersAsString(params)
        start = time.monotonic()
        status = self.solver.Solve()
        # NOT_SOLVED, FEASIBLE (a limit stopped it with a primal feasible point, as the vehicle
        # LP of few-suppliers at 10,000 bids does in its second phase) or ABNORMAL (regions' cold
        # price LP at 10,000 bids stopped on 15 units, after 45,388 iterations): a limit stopped
        # it, the clock when its time is (about) up, else the work
        s = self.pywraplp.Solver
        self.stopped = status not in (s.OPTIMAL, s.INFEASIBLE, s.UNBOUNDED)
        self.timed_out = self.stopped and time.monotonic() - start >= limit - 0.05
        self.iterations = int(self.solver.iterations())
        self.infeasible = status == self.pywraplp.Solver.INFEASIBLE
        if status != self.pywraplp.Solver.OPTIMAL:
            return None
        self.scale = scale
        return float(objective.Value()) * scale


def tangent_bound(bound: int, slope: float, at: int, vehicles: int) -> int:
    """Lower bound on the price of any award with at least `vehicles` vehicles, from the LP's
    bound for `at` vehicles and that LP's vehicle-row dual `slope`. The LP's optimal dual
    solution stays feasible when the vehicle row's right-hand side moves (only the dual objective
    changes, by slope x the move), so by weak duality the LP for `vehicles` costs at least
    bound + slope x (vehicles - at), on both sides of `at`: the bound of an award a few vehicles
    above a computed count grows with those vehicles instead of staying at the count's, and an
    award a few vehicles below the LP's count gets that count's bound minus the slope per vehicle
    (instead of waiting for its own LP). Above `at` a smaller slope stays valid (pass
    LpModel.slope), below it a larger one (LpModel.slope_up)."""
    if vehicles == at or slope <= 0:
        return bound
    if vehicles > at:
        return bound + math.floor(slope * (vehicles - at) * (1 - SAFETY))
    return max(0, bound - math.ceil(slope * (at - vehicles) * (1 + SAFETY)))
