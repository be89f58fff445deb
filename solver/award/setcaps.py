"""The package-set program with the capacities that bind: solver.award.setproof's proof where its
optimum breaks a supplier's capacity across lots.

setproof's program leaves the suppliers' capacities across lots out (a relaxation). Where its
optimum, built lot by lot with each lot on its own (each supplier's whole capacity there), breaks
some supplier's capacity, that supplier's vehicles per lot join the choice: per lot and set S of
its packages, f(lot, S) with at most k of the supplier's vehicles in the lot, for each k where that
best improves (settables.usage_table), one program entry per (S, k), and a row: the k summed over
the lots at most its capacity. Still a relaxation (the other suppliers' capacities left out), so
its optimum (V, C) bounds every award lexicographically. Built again lot by lot, each lot on its
own with the named suppliers at most their k there: when that award reaches (V, C) and breaks no
capacity, it is the round's proven optimum; when it breaks another supplier's, that one joins and
the program is solved again. At most MAX_SUPPLIERS suppliers, at most one of them per lot (a
usage table follows one supplier's lines); otherwise nothing is proven (the CP-SAT proof, as before).

200 bids, seeds 1-12 (bench.award_families), the rounds whose capacities bind: one supplier each
(default seed 5, few-suppliers seeds 5-6, many-suppliers seeds 2 and 6, idr-prices seed 5, regions
seed 9). The tie-break then runs on the entries (solver.award.settie). Deterministic: work
estimates and CP-SAT work, never the clock.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.solution import Solution, objective

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from solver.award.lagrange import LotPart
    from solver.award.settables import Table, UsageTable
    from solver.award.vehmaster import Listed

# The most suppliers whose capacities the program keeps; more: nothing proven here.
MAX_SUPPLIERS = 3
# The work of this proof in all (the usage tables' estimates, setproof.table_work, the program's
# solves and the builds); more: nothing proven here.
WORK = 8.0

# a lot's program entry: (a set of its packages, (vehicles, cents), {supplier: at most k of its vehicles})
Entry = tuple[tuple[int, ...], tuple[int, int], dict[int, int]]
Entries = list[list[Entry]]  # per lot, its entries


def prove(
    inst: Instance,
    parts: list[LotPart],
    tabs: list[Table],
    listed: Listed,
    chosen: set[int],
    optimum: tuple[int, int],
    current: Solution,
    *,
    deadline: float,
) -> tuple[Solution, set[int], tuple[int, int], tuple[int, ...], Entries, float] | None:
    """The round's proven optimum from setproof's program, whose optimum `optimum` with the packages
    `chosen` (on the full tables `tabs`) broke a capacity: (the award, its packages, its (vehicles,
    cents), the suppliers whose capacities the program kept, the program's entries, the work spent),
    or None. `current`: the best award so far (it hints the program)."""
    from solver.award.lagrange import part_suppliers
    from solver.award.setproof import table_work
    from solver.award.settables import usage_table
    from solver.award.vehicles import used_per_supplier
    from solver.award.vehmaster import build

    own = {p.lot: list(inst.capacity) for p in parts}  # each lot on its own: the capacities left out
    built, work = build(inst, Solution(), parts, tabs, chosen, deadline=deadline, caps=own)
    binding: list[int] = []
    entries: Entries = []
    usage: dict[tuple[int, int], UsageTable | None] = {}
    while built is not None and objective(inst, built) == optimum and work <= WORK:
        used = used_per_supplier(inst, built)
        over = [s for s, (u, cap) in enumerate(zip(used, inst.capacity, strict=True)) if u > cap]
        if not over:
            return built, chosen, optimum, tuple(binding), entries, work
        binding += over
        if len(binding) > MAX_SUPPLIERS:
            return None
        entries = []
        for part, tab in zip(parts, tabs, strict=True):
            here = [s for s in binding if s in part_suppliers(inst, part)]
            if len(here) > 1:
                return None
            if not here:
                entries.append([(S, value, {}) for S, value in tab.items()])
                continue
            if (part.lot, here[0]) not in usage:
                work += table_work(inst, part, listed[part.lot])
                usage[part.lot, here[0]] = usage_table(inst, part, listed[part.lot], here[0])
            ut = usage[part.lot, here[0]]
            if ut is None:
                return None
            entries.append([(S, value, {here[0]: k}) for S, steps in ut.items() for k, value in steps])
        if work > WORK or time.monotonic() >= deadline:
            return None
        found = _solve(inst, parts, entries, binding, current, WORK - work)
        if found is None:
            return None
        chosen, optimum, picked, spent = found
        work += spent
        lot_tabs = [{S: value} for S, value, _ in picked]
        caps = {}
        for part, (_, _, most) in zip(parts, picked, strict=True):
            caps[part.lot] = [min(cap, most.get(s, cap)) for s, cap in enumerate(inst.capacity)]
        built, spent = build(inst, Solution(), parts, lot_tabs, chosen, deadline=deadline, caps=caps)
        work += spent
    return None


def program(
    inst: Instance, parts: list[LotPart], entries: Entries, binding: Sequence[int], current: Solution
) -> tuple[
    cp_model.CpModel,
    dict[int, cp_model.IntVar],
    list[tuple[cp_model.IntVar, tuple[int, int]]],
    list[list[cp_model.IntVar]],
]:
    """vehmaster.choice_program's program, one variable per entry, with a capacity row per supplier
    of `binding`, without its objective; hinted at `current`'s packages and vehicles per lot. Returns
    the model, each package's variable, the terms (variable, (vehicles, cents)), per lot its
    entries' variables."""
    from solver import cpsat_import

    cpsat_import.load()
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    y: dict[int, cp_model.IntVar] = {}
    terms: list[tuple[cp_model.IntVar, tuple[int, int]]] = []
    xs: list[list[cp_model.IntVar]] = []
    rows: dict[int, list[tuple[int, cp_model.IntVar]]] = {s: [] for s in binding}
    have = _usage(inst, current)
    for part, lot_entries in zip(parts, entries, strict=True):
        pk = part.packages
        for p in pk:
            if p.package not in y:
                y[p.package] = m.new_bool_var("")
                m.add_hint(y[p.package], p.package in current.packages)
        lot_xs = [m.new_bool_var("") for _ in lot_entries]
        m.add_exactly_one(lot_xs)
        for i, p in enumerate(pk):
            m.add(sum(x for x, (S, _, _) in zip(lot_xs, lot_entries, strict=True) if i in S) == y[p.package])
        mine = tuple(i for i, p in enumerate(pk) if p.package in current.packages)
        # the hint: current's set, at the most vehicles per named supplier it takes at most
        hint = None
        for j, (S, _, most) in enumerate(lot_entries):
            if mine == S and all(k <= have.get((part.lot, s), 0) for s, k in most.items()):
                hint = j
        for j, (x, (_, value, most)) in enumerate(zip(lot_xs, lot_entries, strict=True)):
            m.add_hint(x, j == hint)
            terms.append((x, value))
            for s, k in most.items():
                rows[s].append((k, x))
        xs.append(lot_xs)
    for s, row in rows.items():
        m.add(sum(k * x for k, x in row) <= inst.capacity[s])
    return m, y, terms, xs


def _solve(
    inst: Instance,
    parts: list[LotPart],
    entries: Entries,
    binding: list[int],
    current: Solution,
    work_limit: float,
) -> tuple[set[int], tuple[int, int], list[Entry], float] | None:
    """The program's proven optimum: (its packages, (V, C), per lot the entry chosen, the work), or
    None."""
    from solver.award.setproof import MASTER_WORK, solve

    m, y, terms, xs = program(inst, parts, entries, binding, current)
    # W above the most cents of any choice: one objective V x W - C where its coefficients fit 64 bits
    W = 1 + sum(max((value[1] for _, value, _ in lot_entries), default=0) for lot_entries in entries)
    one = sum(abs(v * W - c) for _, (v, c) in terms) < 1 << 62
    found = solve(m, y, terms, W, min(MASTER_WORK, work_limit), one)
    if found is None:
        return None
    chosen, V, C, work, values = found
    picked = []
    for lot_xs, lot_entries in zip(xs, entries, strict=True):
        picked.append(next(e for x, e in zip(lot_xs, lot_entries, strict=True) if values(x)))
    return chosen, (V, C), picked, work


def _usage(inst: Instance, sol: Solution) -> dict[tuple[int, int], int]:
    """(lot, supplier) -> the supplier's vehicles in the lot in `sol` (bids and packages' items)."""
    out: dict[tuple[int, int], int] = {}
    for bi, alloc in sol.bids.items():
        key = (inst.bids[bi].lot, inst.bids[bi].supplier)
        out[key] = out.get(key, 0) + sum(alloc.values())
    for pi in sol.packages:
        pkg = inst.packages[pi]
        for it in pkg.items:
            out[it.lot, pkg.supplier] = out.get((it.lot, pkg.supplier), 0) + it.quantity
    return out
