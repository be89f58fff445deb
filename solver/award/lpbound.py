"""Proven bounds from the LP relaxation of the award model (GLOP through OR-Tools' model builder).

Used on rounds too large for CP-SAT to prove anything: the LP of the compact model (per
tier: y in [0,1], line allocations, lo*y <= q <= hi*y; at most one tier per bid; lines;
capacity; winners w in [0,1] with share cap * w) gives an upper bound on vehicles and,
with vehicles >= the best count found, a lower bound on price. LP values are floating
point: the bounds are rounded outward with a relative safety margin of 1e-9.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

from solver.award.instance import Instance
from solver.award.prep import Prepared

K = TypeVar("K")

SAFETY = 1e-9
# GLOP's parameters for the price LPs: dual simplex without presolve solved them 2.5-3x faster
# than the defaults (2,000 bids, CPU: default family 6.1 -> 2.0 s, few-suppliers 12.5 -> 4.8 s;
# same optimum and duals), so they arrive in time on a loaded machine. The vehicle LP keeps the
# defaults (dual simplex was slower there: 1.6 -> 10.5 s).
PRICE_LP_PARAMS = "use_dual_simplex: true, use_preprocessing: false"


@dataclass
class LpBounds:
    vehicles: int | None = None
    cents: int | None = None  # lower bound on price for awards with >= `for_vehicles` vehicles
    for_vehicles: int | None = None


class LpModel:
    """The LP relaxation as plain rows, loaded through OR-Tools' model builder (fast to build)."""

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

        from ortools.linear_solver.python import model_builder as mb

        self.mb = mb
        self.model = mb.Model()
        h = self.model.helper
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
        self.veh = veh
        self.price = price
        self._vehicles_row: int | None = None
        self._solver: object | None = None
        self._scale = 1.0
        # per package variable, its (row, coefficient, lot) in rows of one lot
        zs = {z: p for p, z in self.package_vars.items()}
        self.package_rows: dict[int, list[tuple[int, float, int]]] = {p: [] for p in self.package_vars}
        for r, lot in row_lot.items():
            for v, c in zip(rows[r][2], rows[r][3], strict=True):
                if v in zs:
                    self.package_rows[zs[v]].append((r, c, lot))

    def _solve(self, coefs: dict[int, float], maximize: bool, time_limit: float, params: str = "") -> float | None:
        h = self.model.helper
        h.clear_objective()
        # GLOP ended ABNORMAL on 2,000-bid rounds with prices of 10^7 cents as coefficients (a
        # bound was lost); the objective scaled to coefficients of at most 1 solves to OPTIMAL.
        scale = max((abs(c) for c in coefs.values()), default=1.0) or 1.0
        for v, c in coefs.items():
            h.set_var_objective_coefficient(v, c / scale)
        h.set_maximize(maximize)
        solver = self.mb.Solver("glop")
        solver.set_time_limit_in_seconds(max(0.1, time_limit))
        if params:
            solver.set_solver_specific_parameters(params)
        status = solver.solve(self.model)
        self.infeasible = status == self.mb.SolveStatus.INFEASIBLE
        if status != self.mb.SolveStatus.OPTIMAL:
            self._solver = None
            return None
        self._solver, self._scale = solver, scale
        return solver.objective_value * scale

    def dual(self, row: int) -> float:
        """The last optimal LP's dual value of a row (in the objective's units)."""
        assert self._solver is not None
        ct = self.mb.LinearConstraint(self.model.helper, index=row)
        return float(self._solver.dual_value(ct)) * self._scale  # type: ignore[attr-defined]

    def reduced_cost(self, var: int) -> float:
        assert self._solver is not None
        v = self.mb.Variable(self.model.helper, var)
        return float(self._solver.reduced_cost(v)) * self._scale  # type: ignore[attr-defined]

    @property
    def vehicles_row(self) -> int | None:
        return self._vehicles_row

    def vehicle_bound(self, time_limit: float) -> int | None:
        v = self._solve(self.veh, True, time_limit)
        return None if v is None else math.floor(v * (1 + SAFETY) + 1e-6)

    def price_bound(self, vehicles: int, time_limit: float) -> int | None:
        """Lower bound on the price of any award with at least `vehicles` vehicles (one
        constraint, its right-hand side changed from call to call: any order of calls)."""
        h = self.model.helper
        if self._vehicles_row is None:
            self._vehicles_row = h.add_linear_constraint()
            h.set_constraint_upper_bound(self._vehicles_row, math.inf)
            for v, c in self.veh.items():
                h.add_term_to_constraint(self._vehicles_row, v, c)
        h.set_constraint_lower_bound(self._vehicles_row, float(vehicles))
        cents = self._solve(self.price, False, time_limit, PRICE_LP_PARAMS)
        dual = 0.0 if cents is None else self.dual(self._vehicles_row)
        self.slope = max(0.0, dual * (1 - SAFETY) - 1e-6)
        self.slope_up = max(0.0, dual * (1 + SAFETY) + 1e-6)
        return None if cents is None else max(0, math.ceil(cents * (1 - SAFETY) - 1e-6))

    # The vehicle row's dual of the last price LP, rounded down (slope) and up (slope_up): for any
    # count v, price_bound(v) >= price_bound(vehicles) + slope x (v - vehicles) above `vehicles`,
    # and - slope_up x (vehicles - v) below it (see tangent_bound).
    slope = 0.0
    slope_up = 0.0
    # The last LP was proven infeasible (e.g. a price LP asked for more vehicles than the LP holds).
    infeasible = False


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
