"""Reduced-cost fixing on the package-set program (solver.award.setproof's tables): the sets of each
lot that can be in a choice of the packages with at least V vehicles and at most C cents, the others
left out exactly.

Relax the program's links (a lot's set holds package p exactly when p is chosen, y_p) with
multipliers pi(lot, p), and "vehicles >= V" with mu >= 0: every choice with at least V vehicles has
    -cents <= sum over lots of pen(lot, S_lot) - mu x V + sum over p of max(0, -sum_lot pi(lot, p)) = L,
    pen(lot, S) = -c(lot, S) + mu x v(lot, S) + sum of pi(lot, p) over p in S,
with equality less the slack of each term. So a choice with at most C cents has every lot's set
within gap = L + C of its lot's best pen: a set further below its lot's best is in no such choice.
That holds for any multipliers; here they are the LP relaxation's duals (GLOP) rounded to integers,
and L, pen and the gap are computed in integers, so the fixing is exact whatever GLOP's precision
(a weaker dual only keeps more sets). With the optimum's (V, C), the gap is the LP's integrality gap
plus rounding, and the sets left are those of the optima and a few more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from solver.award.lagrange import LotPart
    from solver.award.setcaps import Entries
    from solver.award.settables import Table

# GLOP's limit for the LP (an iteration count: the same on every machine).
MAX_ITERATIONS = 200_000


def _duals(
    parts: list[LotPart], entries: Entries, capacity: Mapping[int, int], vehicles: int
) -> tuple[dict[tuple[int, int], float], float, dict[int, float]] | None:
    """The LP relaxation's duals: per (lot index, package) link, the vehicles row's and per kept
    capacity its row's; None when GLOP does not end optimal."""
    import ortools.linear_solver.pywraplp as pywraplp

    lp = pywraplp.Solver.CreateSolver("GLOP")
    lp.SetSolverSpecificParametersAsString(f"max_number_of_iterations: {MAX_ITERATIONS}")
    packages = sorted({p.package for part in parts for p in part.packages})
    y = {p: lp.NumVar(0.0, 1.0, "") for p in packages}
    veh = lp.RowConstraint(float(vehicles), lp.infinity(), "")
    caps = {b: lp.RowConstraint(-lp.infinity(), float(cap), "") for b, cap in capacity.items()}
    objective = lp.Objective()
    scale = max((c for lot in entries for _, (_, c), _ in lot), default=1) or 1
    links: dict[tuple[int, int], pywraplp.Constraint] = {}
    for k, (part, lot) in enumerate(zip(parts, entries, strict=True)):
        one = lp.RowConstraint(1.0, 1.0, "")
        rows = []
        for p in part.packages:
            row = lp.RowConstraint(0.0, 0.0, "")
            row.SetCoefficient(y[p.package], -1.0)
            links[k, p.package] = row
            rows.append(row)
        for s, (v, c), most in lot:
            x = lp.NumVar(0.0, lp.infinity(), "")
            one.SetCoefficient(x, 1.0)
            veh.SetCoefficient(x, float(v))
            objective.SetCoefficient(x, -c / scale)
            for i in s:
                rows[i].SetCoefficient(x, 1.0)
            for b, most_b in most.items():
                caps[b].SetCoefficient(x, float(most_b))
    objective.SetMaximization()
    if lp.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return (
        {key: row.dual_value() * scale for key, row in links.items()},
        veh.dual_value() * scale,
        {b: row.dual_value() * scale for b, row in caps.items()},
    )


def fix(parts: list[LotPart], tabs: list[Table], vehicles: int, cents: int) -> list[Table] | None:
    """Per lot the sets of `tabs` that can be in a choice with at least `vehicles` vehicles and at
    most `cents` cents (the rest fixed out, exactly); None when the LP does not solve."""
    kept = fix_entries(parts, [[(s, value, {}) for s, value in tab.items()] for tab in tabs], {}, vehicles, cents)
    return None if kept is None else [{s: value for s, value, _ in lot} for lot in kept]


def fix_entries(
    parts: list[LotPart], entries: Entries, capacity: Mapping[int, int], vehicles: int, cents: int
) -> Entries | None:
    """fix() on solver.award.setcaps' program: per lot its entries (a set, its (vehicles, cents),
    at most k of some suppliers' vehicles) that can be in a choice with the k summed within
    `capacity` (supplier -> its capacity), at least `vehicles` and at most `cents`. The capacity
    rows relaxed with multipliers lambda_b >= 0 too: pen less lambda_b x k, L plus lambda_b x
    capacity."""
    got = _duals(parts, entries, capacity, vehicles)
    if got is None:
        return None
    duals, veh, cap_duals = got
    best: list[tuple[int, Entries]] = []
    for sign in (1, -1):  # (the multipliers are valid with either sign: the one with the smaller gap)
        pi = {key: round(sign * d) for key, d in duals.items()}
        mu = max(0, round(sign * veh))
        lam = {b: max(0, round(-sign * d)) for b, d in cap_duals.items()}
        pens = []
        for k, (part, lot) in enumerate(zip(parts, entries, strict=True)):
            pk = part.packages
            pens.append(
                [
                    -c + mu * v + sum(pi[k, pk[i].package] for i in s) - sum(lam[b] * m for b, m in most.items())
                    for s, (v, c), most in lot
                ]
            )
        sigma: dict[int, int] = {}
        for (_, p), d in pi.items():
            sigma[p] = sigma.get(p, 0) + d
        bound = (
            sum(max(pen, default=0) for pen in pens)
            - mu * vehicles
            + sum(lam[b] * cap for b, cap in capacity.items())
            + sum(max(0, -s) for s in sigma.values())
        )
        gap = bound + cents
        if gap < 0:
            return [[] for _ in entries]  # no choice reaches (vehicles, cents)
        kept = []
        for pen, lot in zip(pens, entries, strict=True):
            top = max(pen, default=0)
            kept.append([e for e, value in zip(lot, pen, strict=True) if top - value <= gap])
        best.append((sum(map(len, kept)), kept))
    return min(best, key=lambda b: b[0])[1]
