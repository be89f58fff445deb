"""The most vehicles exactly, over the packages' choices: a proven vehicle bound and an award that
reaches it, on rounds whose vehicles are limited inside the lots (few-suppliers).

Each lot's vehicles depend on the rest of the round only through which packages are chosen (and
the suppliers' capacities, which are left out here, so what follows bounds every award). So per
lot and per set S of the packages with an item there that can be chosen together (a winner place
each supplier, its share cap, their items on disjoint lines: checked here without a DP), the most
vehicles with exactly S chosen (lotdp's DP with S forced, the others out; all of a lot's sets in
one DP: solver.award.settables): f(lot, S), and its least cents at those vehicles. The round's
maximum without capacities is then a small 0-1 program, one S per lot and the same choice of each
package in all its lots; CP-SAT solves it with its LP (linearization 2) on a work limit, then the
least cents at that maximum.
Its bound bounds every award's vehicles; its optimum, capacities allowing, is built lot by lot
(each re-solved with its packages fixed: solver.award.lns's sub-rounds).

few-suppliers, 2,000 bids, seed 1: 9,398 sets over 400 lots; the program's optimum 15,087 proven
in 1.1 units (the LP's bound was 15,131, the best award seen before 15,086), the least cents at it
in 1.6 more (the award built from it 1.1 % cheaper than from the first choice at 15,087), and the
award's gap 1.096 -> 0.601 % (python -m bench.award_cpu --sizes 2000 --families few-suppliers).
Deterministic: DP counts and CP-SAT work, never the clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.award.settables import Table, set_table
from solver.award.solution import Solution, objective
from solver.award.vehsets import CLOCK, OutOfTime, package_sets

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

    from solver.award.lagrange import LotPart

# The most DP solves the tables may take (a count; more: no tables, the search as before).
MAX_CALLS = 20_000
# Work charged per DP solve (few-suppliers, 2,000 bids: 9,398 solves in ~6 s CPU, ~4.5 units' CPU).
WORK_PER_CALL = 0.0005
# The most of the search's work the tables may take (their count of sets decides, before any DP).
TABLE_SHARE = 0.5
# Work of the 0-1 program over the package choices (both solves).
MASTER_WORK = 4.0
PRICE_STAGE = True  # the program's second solve: least cents at the most vehicles; False: any
# Past MAX_CALLS, tables only for the lots that need them (lazy_program: on its own count and
# work limit, not the search's: 10,000 bids); False: none, as before.
LAZY = True
# The lazy program's own limits, per unit of the search's work limit: DP solves (sets tabled) and
# work (WORK_PER_CALL per set and the program's solves). few-suppliers, 10,000 bids (10 units), seed
# 1: solved exactly (74,405 vehicles, 7 solves) after 19,561 sets and 10.9 units; with 10,000 sets
# (the search's TABLE_SHARE, as before) it stopped at a bound of 74,531.
LAZY_CALLS = 2_400
LAZY_WORK = 1.4
LOT_WORK = 0.2  # work of one lot's re-solve in the build


Listed = dict[int, list[tuple[int, ...]]]  # lot -> its sets (vehsets.package_sets), once per round


def _sets(inst: Instance, part: LotPart, listed: Listed) -> list[tuple[int, ...]]:
    if part.lot not in listed:
        listed[part.lot] = package_sets(inst, part)
    return listed[part.lot]


def tables(
    inst: Instance, prep: Prepared, max_calls: int = MAX_CALLS, listed: Listed | None = None
) -> tuple[list[LotPart], list[Table], int] | None:
    """Per lot (lagrange.lot_parts) f(lot, S) for every set S of its packages that can be chosen
    together, and the DP solves taken (one per set); None where lotdp does not apply or the sets
    are more than `max_calls` (counted before any DP; those listed kept in `listed`)."""
    from solver.award.lagrange import lot_parts

    if not inst.whole or inst.with_quarters:
        return None
    parts = lot_parts(inst, prep)
    sets: list[list[tuple[int, ...]]] = []
    listed = {} if listed is None else listed
    for part in parts:
        sets.append(_sets(inst, part, listed))
        if sum(map(len, sets)) > max_calls:
            return None
    out: list[Table] = []
    for part, lot_sets in zip(parts, sets, strict=True):
        tab = set_table(inst, part, lot_sets)
        if tab is None:
            return None
        out.append(tab)
    return parts, out, sum(map(len, sets))


def choice_program(
    parts: list[LotPart], tabs: list[Table], hint: set[int], current: set[int]
) -> tuple[cp_model.CpModel, dict[int, cp_model.IntVar], list[tuple[cp_model.IntVar, tuple[int, int]]]]:
    """The 0-1 program over the package choices, without its objective: per lot exactly one of its
    table's sets, each package chosen in all its lots or none. Returns the model, each package's
    variable and, per lot and set, (its variable, (vehicles, cents)). Hinted at the packages of
    `hint` (of `current` in a lot where `hint`'s set has no entry)."""
    from solver import cpsat_import

    cpsat_import.load()
    from ortools.sat.python import cp_model

    m = cp_model.CpModel()
    y: dict[int, cp_model.IntVar] = {}
    terms = []
    for part, tab in zip(parts, tabs, strict=True):
        pk = part.packages
        for p in pk:
            if p.package not in y:
                y[p.package] = m.new_bool_var("")
                m.add_hint(y[p.package], p.package in hint)
        xs = {s: m.new_bool_var("") for s in tab}
        m.add_exactly_one(xs.values())
        for i, p in enumerate(pk):
            m.add(sum(x for s, x in xs.items() if i in s) == y[p.package])
        have = tuple(i for i, p in enumerate(pk) if p.package in hint)
        have = have if have in tab else tuple(i for i, p in enumerate(pk) if p.package in current)
        for s, x in xs.items():
            m.add_hint(x, s == have)
            terms.append((x, tab[s]))
    return m, y, terms


def choice_solver(work_limit: float, presolve: bool = True) -> cp_model.CpSolver:
    """CP-SAT for the program: one worker, its LP at level 2 (the program's bound), no probing;
    without presolve where `presolve` is False (solver.award.setproof and settie: see PROOF_PRESOLVE)."""
    from solver import cpsat_import

    cpsat_import.load()
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    prm = solver.parameters
    prm.num_workers = 1
    prm.random_seed = 0
    prm.linearization_level = 2
    prm.cp_model_probing_level = 0
    prm.cp_model_presolve = presolve
    prm.max_deterministic_time = max(0.001, work_limit)
    return solver


def best_choice(
    parts: list[LotPart],
    tabs: list[Table],
    current: set[int],
    *,
    work_limit: float,
    check: Callable[[set[int]], bool] | None = None,
    keep: frozenset[int] = frozenset(),
    hint: set[int] | None = None,
) -> tuple[int | None, set[int] | None, float]:
    """The 0-1 program over the package choices: (its proven bound, the packages of the best
    choice found or None, the work spent). `current`: the award's packages (the hint). Once the
    most vehicles are proven, a second solve (on what is left of `work_limit`) takes the least
    cents among the choices that reach them (each lot at its least cents for its vehicles), unless
    `check` rejects the first choice. `hint`: the packages of the choice to start from (default
    `current`; the lazy program passes its previous choice: the next solve is cheaper)."""
    m, y, terms = choice_program(parts, tabs, current if hint is None else hint, current)
    from ortools.sat.python import cp_model  # (loaded by choice_program)

    vehicles = sum(v * x for x, (v, _) in terms)
    # then the fewest packages of `keep` changed from `current`: weight k above every such count
    moved = [1 - y[p] if p in current else y[p] for p in sorted(keep) if p in y]
    k = len(moved) + 1
    m.maximize(k * vehicles - sum(moved))
    solver = choice_solver(work_limit)
    solver.parameters.max_time_in_seconds = max(0.01, min(1e9, CLOCK[0] - time.monotonic()))  # its bound holds when cut
    status = solver.solve(m)
    work = solver.deterministic_time
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, None, work
    bound = (int(solver.best_objective_bound + 1e-6) + len(moved)) // k
    chosen = {p for p, v in y.items() if solver.value(v)}
    if status != cp_model.OPTIMAL or not PRICE_STAGE or work >= work_limit or (check and not check(chosen)):
        return bound, chosen, work
    m.clear_hints()
    for x, _ in terms:
        m.add_hint(x, solver.value(x))
    for q in sorted(keep & y.keys()):
        m.add(y[q] == solver.value(y[q]))
    m.add(vehicles == bound)
    m.minimize(sum(c * x for x, (_, c) in terms))
    solver.parameters.max_deterministic_time = max(0.001, work_limit - work)
    status = solver.solve(m)
    work += solver.deterministic_time
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = {p for p, v in y.items() if solver.value(v)}
    return bound, chosen, work


def lazy_program(
    inst: Instance, prep: Prepared, sol: Solution, *, max_calls: int, work_limit: float, listed: Listed | None = None
) -> tuple[int | None, set[int] | None, list[LotPart], list[Table], float]:
    """The program on the tables of only the lots that need them: first those `sol` serves below
    their exact cap (vehicles.exact_lot_caps); every other lot counts its cap whatever the packages
    (a relaxation: its bound holds); when the choice changes a package of such a lot, that lot's
    table is added and the program solved again, until it changes none (then its optimum is exact).
    (bound, the choice or None: DP solves past `max_calls` or work out, the lots tabled, tables, work.)"""
    from solver.award.lagrange import lot_parts
    from solver.award.vehicles import exact_lot_caps, served_per_lot

    if not inst.whole or inst.with_quarters:
        return None, None, [], [], 0.0
    parts = lot_parts(inst, prep)
    served = served_per_lot(inst, sol)
    caps = exact_lot_caps(inst, prep, served)
    current = set(sol.packages)
    todo = {i for i, part in enumerate(parts) if served[part.lot] < caps[part.lot]}
    listed = {} if listed is None else listed
    tabs: dict[int, Table] = {}
    calls, work, master, best, full = 0, 0.0, 0.0, None, False
    last: set[int] | None = None  # the previous solve's choice (the next one's hint)
    of_package: dict[int, list[int]] = {}
    for i, part in enumerate(parts):
        for p in part.packages:
            of_package.setdefault(p.package, []).append(i)
    while True:
        # the lots with the fewest sets first; those past `max_calls` keep their caps (a bound, no choice)
        for n, i, lot_sets in sorted((len(ss), j, ss) for j in todo for ss in [_sets(inst, parts[j], listed)]):
            tab = None if calls + n > max_calls else set_table(inst, parts[i], lot_sets)
            if tab is None:
                full = True
                continue
            calls, work, tabs[i] = calls + n, work + n * WORK_PER_CALL, tab
        keys = sorted(tabs)
        rest = sum(caps[part.lot] for i, part in enumerate(parts) if i not in tabs)
        free = {x.package for i in keys for x in parts[i].packages}
        changed: set[int] = set()

        def check(chosen: set[int], free: set[int] = free, changed: set[int] = changed) -> bool:
            moved = {p for p in free if (p in chosen) != (p in current)}
            changed.update(i for p in moved for i in of_package[p] if i not in tabs)
            return not changed

        bound, chosen, spent = best_choice(
            [parts[i] for i in keys],
            [tabs[i] for i in keys],
            current,
            work_limit=max(0.001, min(MASTER_WORK - master, work_limit - work)),
            check=check,
            keep=frozenset(p for p in free if any(i not in tabs for i in of_package[p])),
            hint=None if last is None else last | {p for p in current if p not in free},
        )
        last = chosen
        master += spent
        work += spent
        if bound is not None:
            best = bound + rest if best is None else min(best, bound + rest)
        if chosen is None or work >= work_limit or full:
            return best, None, [], [], work
        if not changed:
            out = chosen | {p for p in current if all(i not in tabs for i in of_package.get(p, []))}
            return best, out, [parts[i] for i in keys], [tabs[i] for i in keys], work
        todo = changed


def build(
    inst: Instance,
    sol: Solution,
    parts: list[LotPart],
    tabs: list[Table],
    chosen: set[int],
    *,
    deadline: float,
    caps: Mapping[int, list[int]] | None = None,
) -> tuple[Solution | None, float]:
    """An award with exactly the packages `chosen` and each lot's f(lot, S) vehicles, the lots
    that differ from `sol` re-solved one by one (None when a lot fails: the capacities), and the
    work spent. `caps`: per lot, the suppliers' capacities its re-solve takes instead of what the
    lots before it left (solver.award.setcaps: each lot on its own, the award then checked)."""
    from solver.award.cpsat import AwardModel, model_size
    from solver.award.lns import WORK_PER_VAR, _merge, _sub_instance
    from solver.award.prep import prepare
    from solver.award.vehicles import served_per_lot

    served = served_per_lot(inst, sol)
    todo: list[tuple[int, tuple[int, ...], tuple[int, int]]] = []  # (lot, its chosen packages, f)
    for part, tab in zip(parts, tabs, strict=True):
        want = tuple(i for i, p in enumerate(part.packages) if p.package in chosen)
        had = tuple(i for i, p in enumerate(part.packages) if p.package in sol.packages)
        if want != had or served[part.lot] < tab[want][0]:
            todo.append((part.lot, want, tab[want]))
    # the lots to re-solve start empty, so only the lots kept and those done use capacity
    redo = {lot for lot, _, _ in todo}
    cur = Solution(
        {bi: dict(a) for bi, a in sol.bids.items() if inst.bids[bi].lot not in redo},
        {
            pi: ([dict(a) for a in sol.packages[pi]] if pi in sol.packages else [{} for _ in inst.packages[pi].items])
            for pi in sorted(chosen)
        },
    )
    work = 0.0
    for lot, want, f in todo:
        sub = _sub_instance(inst, cur, [lot])
        if caps is not None:
            sub.inst.capacity[:] = caps[lot]
        sub_prep = prepare(sub.inst)
        model = AwardModel(sub.inst, sub_prep)
        work += model_size(sub.inst, sub_prep) * WORK_PER_VAR
        # every package there fixed: those chosen taken (sub.forced: those reaching outside), the others not
        fixed = 0
        for p in model.families.packages:
            take = sub.pkg_map[p.opt.package][0] in chosen
            fixed += take
            model.model.add(p.chosen == int(take))
        if fixed < len(want) or time.monotonic() >= deadline:
            return None, work
        r = model.solve_phase(
            objective="lex" if model.lex_fits else "vehicles",
            time_limit=max(0.01, deadline - time.monotonic()),
            work_limit=LOT_WORK,
            workers=1,
        )
        work += r.deterministic_time
        if r.timed_out or r.solution is None or objective(sub.inst, r.solution)[0] < f[0]:
            return None, work
        cur = _merge(inst, cur, sub, r.solution)
    return cur, work


# the last round's program: (round, its prep, (its proven bound, the best choice) or None)
_Program = tuple[int | None, set[int] | None, "list[LotPart]", list[Table]]  # bound, choice, lots tabled, tables
_last: tuple[Instance, Prepared, _Program | None] | None = None


def proven_bound(inst: Instance) -> int | None:
    """The program's proven vehicle bound for `inst` when most_vehicles solved it last."""
    if _last is None or _last[0] is not inst or _last[2] is None:
        return None
    return _last[2][0]


def _program(inst: Instance, prep: Prepared, sol: Solution, work_limit: float) -> tuple[_Program | None, float]:
    """The tables on at most TABLE_SHARE of the work and the program on them, else the lazy program
    (on its own count and work), else none (the search as before); and the search's work spent."""
    max_calls = min(MAX_CALLS, int(TABLE_SHARE * work_limit / WORK_PER_CALL))
    listed: Listed = {}
    got = tables(inst, prep, max_calls, listed)
    if got is None:
        if not LAZY:
            return None, 0.0
        bound, chosen, parts, tabs, _ = lazy_program(
            inst, prep, sol, max_calls=int(LAZY_CALLS * work_limit), work_limit=LAZY_WORK * work_limit, listed=listed
        )
        return (bound, chosen, parts, tabs), 0.0
    parts, tabs, calls = got
    work = calls * WORK_PER_CALL
    bound, chosen, spent = best_choice(
        parts, tabs, set(sol.packages), work_limit=max(0.001, min(MASTER_WORK, work_limit - work))
    )
    return (bound, chosen, parts, tabs), work + spent


def most_vehicles(
    inst: Instance, prep: Prepared, sol: Solution, *, deadline: float, work_limit: float
) -> tuple[Solution | None, int | None, float]:
    """The program's best award built from `sol` (None: not built, or not better than `sol`),
    its proven bound, and the work spent. The tables and the program are solved once per round
    (later starts only build)."""
    global _last
    work = 0.0
    if _last is None or _last[0] is not inst or _last[1] is not prep:
        CLOCK[0] = deadline
        try:
            program, work = _program(inst, prep, sol, work_limit)
        except OutOfTime:
            program = None
        finally:
            CLOCK[0] = math.inf
        _last = (inst, prep, program)  # (not tried again on the round's other starts)
    if _last[2] is None:
        return None, None, work
    bound, chosen, parts, tabs = _last[2]
    if chosen is None or work >= work_limit:
        return None, bound, work
    if LAZY:  # the lots without tables keep the first start's packages: built only where `sol` has them too
        lots = {part.lot for part in parts}
        if any(
            (p in chosen) != (p in sol.packages) and any(it.lot not in lots for it in inst.packages[p].items)
            for p in chosen | set(sol.packages)
        ):
            return None, bound, work
    built, spent = build(inst, sol, parts, tabs, chosen, deadline=deadline)
    work += spent
    if built is None or objective(inst, built)[0] <= objective(inst, sol)[0]:
        return None, bound, work
    return built, bound, work
