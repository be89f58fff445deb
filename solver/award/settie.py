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
    from ortools.sat.python import cp_model

    from solver.award import lotlex
    from solver.award.setcaps import Entry
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
    if proof.binding:
        return _with_capacities(inst, proof, work_limit)
    from solver.award import lotlex, setfix
    from solver.award.lotlex_way import to_solution
    from solver.award.vehmaster import choice_program

    statics = [lotlex.static(inst, part) for part in proof.parts]
    if any(st is None for st in statics):
        return None, 0.0
    # (only the sets that can be in an optimal choice: the listing's proofs on a much smaller program)
    tables = setfix.fix(proof.parts, proof.tables, proof.vehicles, proof.cents) or proof.tables
    m, y, terms = choice_program(proof.parts, tables, proof.chosen, proof.chosen)

    _reaching(m, terms, proof)
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
        solver, complete, work = _list_next(m, work_limit, work)
        if solver is None:
            if complete:
                break
            return None, work
        choice = {p for p in packages if solver.value(y[p])}
    return _claim(inst, proof, found), work


def _list_next(m: cp_model.CpModel, work_limit: float, work: float) -> tuple[cp_model.CpSolver | None, bool, float]:
    """The listing's next solve, on what is left of its work limit: (the solver where it found a
    choice, else None; whether none is left, proven; the work spent so far)."""
    from ortools.sat.python import cp_model

    from solver.award.setproof import PROOF_PRESOLVE
    from solver.award.vehmaster import choice_solver

    solver = choice_solver(work_limit - work, PROOF_PRESOLVE)
    status = solver.solve(m)
    work += solver.deterministic_time
    if status == cp_model.OPTIMAL:
        return solver, False, work
    return None, status == cp_model.INFEASIBLE, work


def _reaching(m: cp_model.CpModel, terms: list[tuple[cp_model.IntVar, tuple[int, int]]], proof: Proof) -> None:
    """The listing's program: the choices with at least the optimum's vehicles and at most its
    cents (no objective that could overflow: least cents, which are at most C)."""
    m.add(sum(v * x for x, (v, _) in terms) >= proof.vehicles)
    cents = sum(c * x for x, (_, c) in terms)
    m.add(cents <= proof.cents)
    m.minimize(cents)


def _claim(inst: Instance, proof: Proof, found: list[tuple[int, tuple[int, ...], Solution]]) -> Solution | None:
    """The least (T, packages) of the listed choices' awards, where it is an optimum that keeps every
    capacity (the one rule the tables leave out: its T is then the least over a superset of the
    optima); else None."""
    from solver.award.vehicles import used_per_supplier

    if not found:
        return None
    _, _, sol = min(found, key=lambda f: (f[0], f[1]))
    if objective(inst, sol) != (proof.vehicles, proof.cents):
        return None
    if any(u > cap for u, cap in zip(used_per_supplier(inst, sol), inst.capacity, strict=True)):
        return None
    return sol


def _with_capacities(inst: Instance, proof: Proof, work_limit: float) -> tuple[Solution | None, float]:
    """canonical() where the program kept the capacities of `proof.binding` (solver.award.setcaps).

    An optimal award maps to a choice of the program's entries that reaches (V, C): per lot, the
    entry of its set at the largest k at or below the named supplier's vehicles u there (that entry's
    best is the lot's best with at most u, so each lot is at its entry's value, and the k sum within
    the capacity). So u lies from the entry's k to below its set's next k, and the least T per choice
    is, per named supplier, a knapsack over its lots: u from k up, within its capacity, the lot's T
    at most u (lotlex with the supplier's room u: a step function, each step found by one DP from
    the top). The listing, the cut-offs and the claim are canonical()'s."""
    from solver.award import lotlex, setcaps, setfix
    from solver.award.lotlex_way import to_solution

    assert proof.entries is not None
    statics = [lotlex.static(inst, part) for part in proof.parts]
    if any(st is None for st in statics):
        return None, 0.0
    # (only the entries that can be in an optimal choice, as in canonical)
    capacity = {b: inst.capacity[b] for b in proof.binding}
    entries = setfix.fix_entries(proof.parts, proof.entries, capacity, proof.vehicles, proof.cents) or proof.entries
    m, _, terms, xs = setcaps.program(inst, proof.parts, entries, proof.binding, proof.award)

    _reaching(m, terms, proof)
    steps: dict[tuple[int, tuple[int, ...], int], list[tuple[int, lotlex.LotBest]]] = {}
    work = 0.0
    found: list[tuple[int, tuple[int, ...], Solution]] = []
    while True:
        if len(found) >= MAX_CHOICES or work >= work_limit:
            return None, work
        solver, complete, work = _list_next(m, work_limit, work)
        if solver is None:
            if complete:
                break
            return None, work
        picked = [next(j for j, x in enumerate(lot_xs) if solver.value(x)) for lot_xs in xs]
        chosen_entries = [lot[j] for lot, j in zip(entries, picked, strict=True)]
        least = _least_t(inst, proof, statics, chosen_entries, steps)  # type: ignore[arg-type]
        if least is None:
            return None, work
        bests = least
        chosen = tuple(sorted({p for b in bests for p in b.packages}))
        found.append((sum(b.t for b in bests), chosen, to_solution(inst, bests)))
        m.add_bool_or([~lot_xs[j] for lot_xs, j in zip(xs, picked, strict=True)])
    return _claim(inst, proof, found), work


# The most lotlex solves for the steps of the lots' T against a named supplier's vehicles (a count:
# the same on every machine); more: nothing claimed (the class search).
MAX_STEP_SOLVES = 2_000


def _least_t(
    inst: Instance,
    proof: Proof,
    statics: list[lotlex.LotStatic],
    picked: list[Entry],
    steps: dict[tuple[int, tuple[int, ...], int], list[tuple[int, lotlex.LotBest]]],
) -> list[lotlex.LotBest] | None:
    """Per lot, its best (lotlex) in the award of least T among those whose lots are at the entries
    `picked` (one per lot), or None where it cannot be told. `steps`: per (lot, set, k) the lot's T
    steps against the named supplier's most vehicles (kept across choices)."""
    from solver.award import lotlex

    assert proof.entries is not None
    bests: list[lotlex.LotBest | None] = [None] * len(picked)
    # per named supplier, its lots: (lot index, k, the steps from k to below the set's next k)
    knap: dict[int, list[tuple[int, int, list[tuple[int, lotlex.LotBest]]]]] = {s: [] for s in proof.binding}
    for li, (st, lot_entries, (S, value, most)) in enumerate(zip(statics, proof.entries, picked, strict=True)):
        if not most:
            b = lotlex.best(inst, st, S)
            if b is None or (b.vehicles, b.cents) != value:
                return None  # (the program and lotlex disagree: claim nothing)
            bests[li] = b
            continue
        ((s, k),) = most.items()
        nxt = min((kk for SS, _, mm in lot_entries if SS == S for kk in mm.values() if kk > k), default=None)
        top = st.room[s] if nxt is None else min(st.room[s], nxt - 1)
        if (li, S, k) not in steps:
            got = _steps(inst, st, S, s, k, top, value, MAX_STEP_SOLVES - sum(map(len, steps.values())))
            if got is None:
                return None
            steps[li, S, k] = got
        knap[s].append((li, k, steps[li, S, k]))
    for s, lots in knap.items():
        slack = inst.capacity[s] - sum(k for _, k, _ in lots)
        if slack < 0:
            return None
        # least T by the vehicles past the k's used so far (ties: the first found, in lot order)
        table: dict[int, tuple[int, list[lotlex.LotBest]]] = {0: (0, [])}
        for _, k, lot_steps in lots:
            nxt_table: dict[int, tuple[int, list[lotlex.LotBest]]] = {}
            for extra, (t, chosen) in table.items():
                for u, b in lot_steps:
                    e = extra + u - k
                    if e <= slack and (e not in nxt_table or t + b.t < nxt_table[e][0]):
                        nxt_table[e] = (t + b.t, [*chosen, b])
            table = nxt_table
        _, (_, chosen) = min(table.items(), key=lambda kv: (kv[1][0], kv[0]))
        for (li, _, _), b in zip(lots, chosen, strict=True):
            bests[li] = b
    if any(b is None for b in bests):
        return None
    return [b for b in bests if b is not None]


def _steps(
    inst: Instance,
    st: lotlex.LotStatic,
    S: tuple[int, ...],
    s: int,
    k: int,
    top: int,
    value: tuple[int, int],
    solves: int,
) -> list[tuple[int, lotlex.LotBest]] | None:
    """The lot's T against supplier s's most vehicles u from k to `top`, its best at `value` with
    the set S: (the least u of each step, the best there), by increasing u. From the top down: the
    best with at most u uses some u' <= u, and is the best for every cap from u' to u. None past
    `solves` lotlex solves, or where the best is not at `value` (the program and lotlex disagree)."""
    from dataclasses import replace

    from solver.award import lotlex

    out: list[tuple[int, lotlex.LotBest]] = []
    u = top
    while u >= k:
        if solves <= 0:
            return None
        solves -= 1
        capped = replace(st, room={**st.room, s: u}, path=[], prefix=None)
        b = lotlex.best(inst, capped, S)
        if b is None or (b.vehicles, b.cents) != value:
            return None
        used = sum(sum(a.values()) for bi, a in b.bids.items() if inst.bids[bi].supplier == s)
        used += sum(
            sum(sum(a.values()) for a in items.values())
            for pi, items in b.packages.items()
            if inst.packages[pi].supplier == s
        )
        if used < k:
            return None  # (below the entry's k: the program and lotlex disagree)
        out.append((used, b))
        u = used - 1
    return out[::-1]
