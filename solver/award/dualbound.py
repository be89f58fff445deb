"""Proven price bounds from approximate LP duals (weak duality with bounded variables).

The price LP of solver.award.lpbound is min c.x subject to lo_i <= a_i.x <= hi_i (its rows),
veh.x >= V (at least V vehicles) and 0 <= x <= u. For ANY row multipliers y and any pi >= 0,
every x of the LP (so every award with at least V vehicles) satisfies

    c.x >= sum_i g_i(y_i) + pi x V + sum_j min(0, d_j) x u_j,   d = c - A^T y - pi x veh,

with g_i(y) = y x lo_i when y > 0, y x hi_i when y < 0 (a multiplier whose bound is infinite
counts as 0). At the LP's optimal duals the right-hand side is the LP optimum; at approximate
duals (an LP solver stopped early) it is a little less, but still a proven bound. Every
variable of the price LP has a finite upper bound, every coefficient, bound and price is an
integer, and the multipliers are rounded to multiples of 2^-SCALE_BITS, so the bound is
computed in exact integer arithmetic: no floating point error can make it invalid.

Used where the price LP does not finish on its work limit (10,000 bids, arbitrary bundles): the
duals come from PDLP (first-order, deterministic on an iteration limit, one thread).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from solver.award.lpbound import LpModel

# The multipliers are rounded to multiples of 2^-SCALE_BITS (cents per unit of a row).
SCALE_BITS = 32

Row = tuple[float, float, list[int], list[float]]


@dataclass(frozen=True)
class DualBound:
    """bound(V) = ceil((base + slope x V) / 2^SCALE_BITS) for awards with at least V vehicles."""

    base: int
    slope: int

    def at(self, vehicles: int) -> int:
        return max(0, -((-(self.base + self.slope * vehicles)) >> SCALE_BITS))

    @property
    def per_vehicle(self) -> float:
        """The slope in cents per vehicle (exact up to float rounding)."""
        return self.slope / (1 << SCALE_BITS)


def _int(x: float) -> int | None:
    return int(x) if math.isfinite(x) and float(x).is_integer() else None


def bound_from_duals(
    rows: Sequence[Row],
    upper: Sequence[float],
    cost: dict[int, float],
    veh: dict[int, float],
    duals: Sequence[float],
    pi: float,
) -> DualBound | None:
    """The proven bound of the multipliers `duals` (one per row, in cents per unit of the row)
    and `pi` (cents per vehicle; a negative one counts as 0). None when the data is not all
    integers or a variable without an upper bound would make the bound minus infinity."""
    one = 1 << SCALE_BITS
    d = [0] * len(upper)
    for v, c in cost.items():
        ci = _int(c)
        if ci is None:
            return None
        d[v] += ci * one
    p = max(0, round(pi * one)) if math.isfinite(pi * one) else 0
    for v, c in veh.items():
        ci = _int(c)
        if ci is None:
            return None
        d[v] -= ci * p
    base = 0
    for (lo, hi, idx, val), y in zip(rows, duals, strict=True):
        if not math.isfinite(y * one):
            continue
        m = round(y * one)
        side = lo if m > 0 else hi
        if m == 0 or not math.isfinite(side):
            continue
        rhs = _int(side)
        if rhs is None:
            return None
        base += m * rhs
        for v, c in zip(idx, val, strict=True):
            ci = _int(c)
            if ci is None:
                return None
            d[v] -= ci * m
    for dj, u in zip(d, upper, strict=True):
        if dj < 0:
            ui = _int(u)
            if ui is None:
                return None
            base += dj * ui
    return DualBound(base, p)


class Duals(Protocol):
    """Duals of a price or vehicle LP as lagrange.from_lp reads them: lpbound.LpModel's (its
    last optimal LP, GLOP's) or ApproxDuals (PDLP's)."""

    @property
    def vehicles_row(self) -> int | None: ...

    def dual(self, row: int) -> float: ...

    def reduced_cost(self, var: int) -> float: ...


@dataclass
class ApproxDuals:
    """Approximate duals of the price LP (LpModel.approx_duals): one per row of the LP, in cents
    per unit of the row, and the vehicle row's (`pi`, the row after the LP's rows). Any such duals
    give a proven bound (bound) and the Lagrangian's first multipliers (lagrange.from_lp)."""

    lp: LpModel
    duals: list[float]
    pi: float

    @property
    def vehicles_row(self) -> int:
        return len(self.duals)

    def dual(self, row: int) -> float:
        return self.pi if row == len(self.duals) else self.duals[row]

    def reduced_cost(self, var: int) -> float:
        """c - A^T y - pi x veh of a variable at these duals."""
        d = self.lp.price.get(var, 0.0) - self.pi * self.lp.veh.get(var, 0.0)
        return d - sum(c * self.duals[r] for r, c in self.lp.columns().get(var, []))

    def bound(self) -> DualBound | None:
        """The proven price bound of these duals, linear in the count (bound_from_duals)."""
        lp = self.lp
        return bound_from_duals(lp._rows, lp._upper, lp.price, lp.veh, self.duals, self.pi)


def pdlp_duals(
    proto: Any, veh: dict[int, float], cost: dict[int, float], vehicles: int, iterations: int
) -> tuple[list[float], float] | None:
    """Approximate duals of the price LP for at least `vehicles` vehicles (the LP's rows in
    `proto`, an MPModelProto without objective): PDLP on one thread, stopped after `iterations`
    iterations (deterministic). The row duals (cents per unit of each row) and the vehicle row's."""
    from ortools.pdlp import solvers_pb2
    from ortools.pdlp.python import pdlp

    model = type(proto)()
    model.CopyFrom(proto)
    row = model.constraint.add()
    row.lower_bound = float(vehicles)
    row.upper_bound = math.inf
    for v, c in sorted(veh.items()):
        row.var_index.append(v)
        row.coefficient.append(c)
    # the objective scaled to coefficients of at most 1 (as GLOP's in lpbound), the duals back
    scale = max((abs(c) for c in cost.values()), default=1.0) or 1.0
    for v, c in cost.items():
        model.variable[v].objective_coefficient = c / scale
    params = solvers_pb2.PrimalDualHybridGradientParams()
    params.termination_criteria.iteration_limit = iterations
    params.num_threads = 1
    result = pdlp.primal_dual_hybrid_gradient(pdlp.qp_from_mpmodel_proto(model, True), params)
    duals = [float(y) * scale for y in result.dual_solution]
    if len(duals) != len(model.constraint):
        return None
    return duals[:-1], duals[-1]
