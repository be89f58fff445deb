"""An exact proof of a whole-model round's optimum (most vehicles, then the least cents) by the
package-set program, before the CP-SAT price proof.

With the packages' choices fixed, a round's lots are independent but for the suppliers'
capacities across lots (every other rule is within a lot: solver.award.lotdp keeps them). So per
lot and per set S of its packages that can be chosen together, lotdp gives the lot's best,
f(lot, S) = (most vehicles, least cents at them) (solver.award.vehmaster.tables), and a 0-1
program (one S per lot, each package chosen in all its lots or none) gives the best over the
round without the cross-lot capacities: a relaxation, so its optimum (V, C) bounds every award
lexicographically. The program is solved by CP-SAT with one objective, V x W - C (W above any
award's cents), on a work limit. Its optimum is then built lot by lot (vehmaster.build, each lot
re-solved with its packages fixed and the capacity the lots before it left): when that award
reaches (V, C) and keeps every capacity, it IS the round's proven optimum. Otherwise (a capacity
binds, or the limits below) nothing is proven and the CP-SAT proof runs as before.

Its cost is bounded by counts and work, never the clock: at most MAX_SETS sets over the round
(counted before any DP), MASTER_WORK for the program, vehmaster.LOT_WORK per lot's build.
Measured on the 200-bid families (seed 1): see README "The optimization core".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.award.solution import Solution, objective

if TYPE_CHECKING:
    from solver.award.lagrange import LotPart
    from solver.award.settables import Table

# The most sets (one DP solve each) the tables may take over the round; more: no proof here.
MAX_SETS = 1_000
# ... and on rounds whose bids' tiers are close in price (the CP-SAT price proof is long there:
# solver.award.PRICE_RACE_MAX_TIER_STEP) and whose prices keep the program's one objective small
# (all demand x all lines' price caps below 2^53; else its CP-SAT objective overflowed, idr-prices):
# default, 200 bids, seed 1: 3,982 sets, proven in 0.96 s of CPU.
MAX_SETS_CLOSE = 5_000
# Work of the 0-1 program's CP-SAT solve.
MASTER_WORK = 2.0


@dataclass
class Proof:
    """A proven optimum: the award, the work spent, and the program it was proven on (its lots'
    parts and tables, the packages of its optimal choice, its optimum (vehicles, cents))."""

    award: Solution
    work: float
    parts: list[LotPart]
    tables: list[Table]
    chosen: set[int]
    vehicles: int
    cents: int


def master(
    parts: list[LotPart], tabs: list[Table], current: set[int], work_limit: float
) -> tuple[set[int], int, int, float] | None:
    """The program's proven optimum: (the packages chosen, V, C, work), or None when CP-SAT does
    not prove it within `work_limit`. `current`: an award's packages (the hint)."""
    from solver.award.vehmaster import choice_program, choice_solver

    # W above the most cents of any choice: then V x W - C orders (V, -C) lexicographically
    W = 1 + sum(max(c for _, c in tab.values()) for tab in tabs)
    top = sum(max(v for v, _ in tab.values()) for tab in tabs)
    if (top + 1) * W >= 1 << 62:
        return None
    m, y, terms = choice_program(parts, tabs, current, current)
    from ortools.sat.python import cp_model  # (loaded by choice_program)

    m.maximize(sum((v * W - c) * x for x, (v, c) in terms))
    solver = choice_solver(work_limit)
    status = solver.solve(m)
    work = solver.deterministic_time
    if status != cp_model.OPTIMAL:
        return None
    chosen = {p for p, v in y.items() if solver.value(v)}
    value = round(solver.objective_value)
    V, C = -(-value // W), -value % W
    return chosen, V, C, work


def prove(inst: Instance, prep: Prepared, sol: Solution, *, deadline: float, max_sets: int = MAX_SETS) -> Proof | None:
    """The round's proven optimum, or None (nothing proven: the caller proves as before). `sol`:
    the best award so far (its packages hint the program)."""
    from solver.award import vehmaster
    from solver.award.settables import useful
    from solver.award.vehicles import used_per_supplier

    got = vehmaster.tables(inst, prep, max_sets)
    if got is None:
        return None
    parts, tabs, calls = got
    tabs = useful(parts, tabs, set(sol.packages))  # (the sets in no optimum left out: exact)
    work = calls * vehmaster.WORK_PER_CALL
    found = master(parts, tabs, set(sol.packages), MASTER_WORK)
    if found is None:
        return None
    chosen, V, C, spent = found
    work += spent
    if time.monotonic() >= deadline:
        return None
    built, spent = vehmaster.build(inst, Solution(), parts, tabs, chosen, deadline=deadline)
    work += spent
    if built is None or objective(inst, built) != (V, C):
        return None
    # the capacities across lots: the one rule the program leaves out (build keeps them; checked)
    if any(u > cap for u, cap in zip(used_per_supplier(inst, built), inst.capacity, strict=True)):
        return None
    return Proof(built, work, parts, tabs, chosen, V, C)
