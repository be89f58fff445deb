"""The tie-break (solver.award.TIE_BREAK_RULE) of a round whose optimum the package-set program
proved (solver.award.setproof), on that program's tables instead of the whole-round model.

With the packages' choice fixed, the lots are independent but for the suppliers' capacities, and an
award is optimal only if every lot is at its table's (most vehicles, least cents) for its set: the
program's optimum (V, C) is the round's, and a choice with sum v < V or sum c > C leaves some lot
short of it. So the optima are exactly, per choice of packages that reaches (V, C) in the program,
the awards whose every lot is at its table's best, and the least T among them is, per such choice,
the sum over lots of solver.award.lotlex's least T with the lot's set forced. Here:

1. every choice that reaches (V, C) is listed: CP-SAT on the program with sum v = V and sum c = C
   (two constraints, no objective: nothing to overflow), each found choice then cut off, until it
   proves none is left (at most MAX_CHOICES choices, on the work limit);
2. per choice, per lot, lotlex's best (exact, in integers);
3. the least (T, packages) wins. It is the rule's award when it keeps every capacity (the one rule
   the program leaves out): its T is the least over a superset of the optima. Otherwise, or when
   the listing is cut short, nothing is claimed and the class search runs as before.

default family, 200 bids, seed 1: see README "The optimization core".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.solution import Solution, objective

if TYPE_CHECKING:
    from solver.award.setproof import Proof

# The most package choices reaching the optimum listed before giving up (the class search then).
MAX_CHOICES = 64
# Its own work limit (CP-SAT's, for the listing): not the class search's share (tie_break_work),
# which the tables' charge (vehmaster.WORK_PER_CALL per set) leaves small on rounds of many sets:
# arbitrary, 200 bids, seed 1: 11.3 units to prove that no other choice is optimal after 14.3 + 5.0
# for the tables and the program, where the class search would have had 10.7.
WORK = 20.0


def canonical(inst: Instance, proof: Proof, work_limit: float) -> tuple[Solution | None, float]:
    """The rule's award among the proven optima of `proof`, and the CP-SAT work spent; None for
    the award when it cannot be told here."""
    from solver.award import lotlex, setfix
    from solver.award.lotlex_way import to_solution
    from solver.award.setproof import PROOF_PRESOLVE
    from solver.award.vehicles import used_per_supplier
    from solver.award.vehmaster import choice_program, choice_solver

    statics = [lotlex.static(inst, part) for part in proof.parts]
    if any(st is None for st in statics):
        return None, 0.0
    # (only the sets that can be in an optimal choice: the listing's proofs on a much smaller program)
    tables = setfix.fix(proof.parts, proof.tables, proof.vehicles, proof.cents) or proof.tables
    m, y, terms = choice_program(proof.parts, tables, proof.chosen, proof.chosen)
    from ortools.sat.python import cp_model  # (loaded by choice_program)

    m.add(sum(v * x for x, (v, _) in terms) >= proof.vehicles)
    cents = sum(c * x for x, (_, c) in terms)
    m.add(cents <= proof.cents)
    m.minimize(cents)
    packages = sorted(y)  # (none: the one choice is the empty one)
    choice, work = set(proof.chosen), 0.0
    found: list[tuple[int, tuple[int, ...], Solution]] = []
    while True:
        bests = []
        for st, part, tab in zip(statics, proof.parts, proof.tables, strict=True):
            assert st is not None
            lot_set = tuple(i for i, p in enumerate(part.packages) if p.package in choice)
            best = lotlex.best(inst, st, lot_set)
            if best is None or (best.vehicles, best.cents) != tab.get(lot_set):
                return None, work  # (the two programs disagree: claim nothing)
            bests.append(best)
        found.append((sum(b.t for b in bests), tuple(sorted(choice)), to_solution(inst, bests)))
        if not packages:
            break
        if len(found) >= MAX_CHOICES or work >= work_limit:
            return None, work
        m.add_bool_or([~y[p] if p in choice else y[p] for p in packages])
        solver = choice_solver(work_limit - work, PROOF_PRESOLVE)
        status = solver.solve(m)
        work += solver.deterministic_time
        if status == cp_model.INFEASIBLE:
            break
        if status != cp_model.OPTIMAL:
            return None, work
        choice = {p for p in packages if solver.value(y[p])}
    _, _, sol = min(found, key=lambda f: (f[0], f[1]))
    if objective(inst, sol) != (proof.vehicles, proof.cents):
        return None, work
    if any(u > cap for u, cap in zip(used_per_supplier(inst, sol), inst.capacity, strict=True)):
        return None, work
    return sol, work
