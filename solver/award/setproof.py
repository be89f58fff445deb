"""An exact proof of a whole-model round's optimum (most vehicles, then the least cents) by the
package-set program, before the CP-SAT price proof.

With the packages' choices fixed, a round's lots are independent but for the suppliers'
capacities across lots (every other rule is within a lot: solver.award.lotdp keeps them). So per
lot and per set S of its packages that can be chosen together, lotdp gives the lot's best,
f(lot, S) = (most vehicles, least cents at them) (solver.award.vehmaster.tables), and a 0-1
program (one S per lot, each package chosen in all its lots or none) gives the best over the
round without the cross-lot capacities: a relaxation, so its optimum (V, C) bounds every award
lexicographically. The program is solved by CP-SAT on a work limit, with one objective V x W - C
(W above any award's cents) where its coefficients fit in 64 bits, else in two stages (the most
vehicles, then the least cents at them: prices of 10^9 minor units). Its optimum is then built
lot by lot (vehmaster.build, each lot re-solved with its packages fixed and the capacity the lots
before it left): when that award reaches (V, C) and keeps every capacity, it IS the round's proven
optimum. Otherwise (a capacity binds, or the limits below) nothing is proven and the CP-SAT proof
runs as before.

Its cost is bounded by estimates and work, never the clock: the tables' estimated work at most
MAX_TABLE_WORK (table_work, from the sets listed, before any DP), at most MAX_PROGRAM_SETS sets in the
program and MASTER_WORK for it,
vehmaster.LOT_WORK per lot's build. Measured on the 200-bid families: see README "The optimization
core".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.award.solution import Solution, objective

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from solver.award.lagrange import LotPart
    from solver.award.setcaps import Entries
    from solver.award.settables import Table

# The tables' cost per lot (solver.award.settables: a min-plus step over 3^n mask pairs per set,
# supplier and winner layer; vehsets.package_sets: a fit check per set and package), in DP cells:
# sets x (suppliers x layers x 3^n + LIST_CELLS x packages). Fitted on the 200-bid families (seeds
# 1-2, many-suppliers 1-5, arbitrary 4-5: 371 lots; listing + tables' CPU under load): 33 ps per
# cell, a set's listing 0.36 us per package; per round 0.06-0.9 s of CPU.
LIST_CELLS = 10_000
# ... charged as work (its CPU per unit like the program's CP-SAT: 1.3-2.1 s per unit measured)
WORK_PER_CELL = 1.6e-11
# The most estimated work the tables may take; more: no proof here (the CP-SAT proof, as before).
# About 5 s of CPU, 5 x the dearest benchmark round's tables (many-suppliers, seed 1: 0.45 units,
# 0.9 s), far below the CP-SAT proofs they replace there: it keeps out only shapes such as lots of
# 12 lines and 30 suppliers with packages (4,090 sets, 4.2 units).
MAX_TABLE_WORK = 2.5
# The most sets the program may take (after settables.useful); more: no proof here. The package-heavy
# families have the most (regions, arbitrary: 7,540-27,922 useful sets at 200 bids, seeds 1-3).
MAX_PROGRAM_SETS = 40_000
# The program's CP-SAT solves (here and in solver.award.settie) without presolve: arbitrary, 200 bids,
# seed 1: 5.0 -> 1.1 units of work (6.8 -> 1.4 s of CPU), regions 3.2 -> 1.9, many-suppliers and
# idr-prices 0.0 / 0.45 -> 0.0 / 0.65; settie's proof that no other choice is optimal, arbitrary seeds
# 1-2: 11.3 / 11.8 -> 4.0 / 1.1 units, regions 3.7 / 1.1 -> 1.3 / 0.45. True: with presolve, as before.
PROOF_PRESOLVE = False
# Work of the 0-1 program's CP-SAT solve (both stages): without presolve, 200 bids, seeds 1-3, arbitrary
# needs 1.1 / 4.1 / 2.8, regions 1.9 / - / 1.6, the others below 1: twice the dearest seen.
MASTER_WORK = 8.0
# Where the program's optimum breaks a capacity, the program again with the capacities that bind
# (solver.award.setcaps). False: nothing proven there (the CP-SAT proof), as before.
CAPACITIES = True


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
    # the suppliers whose capacities the program kept and its entries per lot (solver.award.setcaps);
    # () and None for the tables' program
    binding: tuple[int, ...] = ()
    entries: Entries | None = None


def table_work(inst: Instance, part: LotPart, lot_sets: list[tuple[int, ...]]) -> float:
    """The estimated work of listing and tabling `lot_sets` (see LIST_CELLS)."""
    from solver.award.lagrange import part_suppliers

    suppliers = len(part_suppliers(inst, part))
    layers = 1 if inst.max_winners is None else min(inst.max_winners, suppliers) + 1
    pairs: int = 3 ** len(inst.lots[part.lot].lines)  # (disjoint mask pairs of the lot's lines)
    per_set = suppliers * layers * pairs + LIST_CELLS * len(part.packages)
    return len(lot_sets) * per_set * WORK_PER_CELL


def master(
    parts: list[LotPart], tabs: list[Table], current: set[int], work_limit: float, one_objective: bool = True
) -> tuple[set[int], int, int, float] | None:
    """The program's proven optimum: (the packages chosen, V, C, work), or None when CP-SAT does
    not prove it within `work_limit`. `current`: an award's packages (the hint). `one_objective`:
    V x W - C in one solve (its coefficients must fit in 64 bits: prove checks), else two stages."""
    from solver.award.vehmaster import choice_program

    m, y, terms = choice_program(parts, tabs, current, current)
    # W above the most cents of any choice: then V x W - C orders (V, -C) lexicographically
    W = 1 + sum(max(c for _, c in tab.values()) for tab in tabs)
    found = solve(m, y, terms, W, work_limit, one_objective)
    return None if found is None else found[:4]


def solve(
    m: cp_model.CpModel,
    y: dict[int, cp_model.IntVar],
    terms: list[tuple[cp_model.IntVar, tuple[int, int]]],
    W: int,
    work_limit: float,
    one_objective: bool,
) -> tuple[set[int], int, int, float, Callable[[cp_model.IntVar], bool]] | None:
    """master's solve of a choice program (vehmaster.choice_program, or setcaps' with capacities):
    its terms (variable, (vehicles, cents)), W above any choice's cents. Also each variable's value."""
    from ortools.sat.python import cp_model  # (loaded by choice_program)

    from solver.award.vehmaster import choice_solver

    vehicles = sum(v * x for x, (v, _) in terms)
    if one_objective:
        m.maximize(sum((v * W - c) * x for x, (v, c) in terms))
    else:
        m.maximize(vehicles)
    solver = choice_solver(work_limit, PROOF_PRESOLVE)
    status = solver.solve(m)
    work = solver.deterministic_time
    if status != cp_model.OPTIMAL:
        return None
    if not one_objective:  # then the least cents at the most vehicles, from the first stage's choice
        m.clear_hints()
        for x, _ in terms:
            m.add_hint(x, solver.value(x))
        m.add(vehicles == sum(v for x, (v, _) in terms if solver.value(x)))
        m.minimize(sum(c * x for x, (_, c) in terms))
        solver = choice_solver(work_limit - work, PROOF_PRESOLVE)
        status = solver.solve(m)
        work += solver.deterministic_time
        if status != cp_model.OPTIMAL:
            return None
    # (V, C) summed from the choice: exact where the objective's value is past a double's 2^53
    V = sum(v for x, (v, _) in terms if solver.value(x))
    C = sum(c for x, (_, c) in terms if solver.value(x))
    chosen = {p for p, v in y.items() if solver.value(v)}
    return chosen, V, C, work, solver.boolean_value


def prove(inst: Instance, prep: Prepared, sol: Solution, *, deadline: float) -> Proof | None:
    """The round's proven optimum, or None (nothing proven: the caller proves as before). `sol`:
    the best award so far (its packages hint the program)."""
    from solver.award import vehmaster
    from solver.award.lagrange import lot_parts
    from solver.award.settables import useful
    from solver.award.vehicles import used_per_supplier
    from solver.award.vehsets import package_sets

    W = 1 + sum(line.quantity * line.max_cents for line in inst.lines)  # above any award's cents
    if not inst.whole or inst.with_quarters or W >= 1 << 62:
        return None
    # the sets, lot by lot until the tables' estimated work passes the limit (before any DP), and
    # the program's objective coefficients at most (CP-SAT needs their sums in 64 bits): per set,
    # its lot's cents and, in the one objective, its vehicles x W
    listed: vehmaster.Listed = {}
    work, cents, vehicles = 0.0, 0, 0
    for part in lot_parts(inst, prep):
        listed[part.lot] = package_sets(inst, part)
        work += table_work(inst, part, listed[part.lot])
        if work > MAX_TABLE_WORK:
            return None
        lines = [inst.lines[li] for li in inst.lots[part.lot].lines]
        cents += len(listed[part.lot]) * sum(line.quantity * line.max_cents for line in lines)
        vehicles += len(listed[part.lot]) * sum(line.quantity for line in lines)
    if cents >= 1 << 62:
        return None
    got = vehmaster.tables(inst, prep, sum(map(len, listed.values())), listed)
    if got is None:
        return None
    parts, full, _ = got
    tabs = useful(parts, full, set(sol.packages))  # (the sets in no optimum left out: exact)
    if sum(map(len, tabs)) > MAX_PROGRAM_SETS:
        return None
    found = master(parts, tabs, set(sol.packages), MASTER_WORK, vehicles * W + cents < 1 << 62)
    if found is None:
        return None
    chosen, V, C, spent = found
    work += spent
    if time.monotonic() >= deadline:
        return None
    built, spent = vehmaster.build(inst, Solution(), parts, tabs, chosen, deadline=deadline)
    work += spent
    # the capacities across lots: the one rule the program leaves out (build keeps them; checked)
    if (
        built is not None
        and objective(inst, built) == (V, C)
        and all(u <= cap for u, cap in zip(used_per_supplier(inst, built), inst.capacity, strict=True))
    ):
        return Proof(built, work, parts, tabs, chosen, V, C)
    if not CAPACITIES:
        return None
    # a capacity binds: the program again with the capacities the optimum breaks (solver.award.setcaps)
    from solver.award import setcaps

    found_caps = setcaps.prove(inst, parts, full, listed, chosen, (V, C), sol, deadline=deadline)
    if found_caps is None:
        return None
    built, chosen, (V, C), binding, entries, spent = found_caps
    return Proof(built, work + spent, parts, tabs, chosen, V, C, binding, entries)
