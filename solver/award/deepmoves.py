"""Package moves chosen exactly over a neighbourhood: the package-set program (solver.award.vehmaster)
on the lots around one short lot, every package reaching outside them kept as awarded.

solver.award.chains scores one package in or out and its ejections one by one; past its last
gaining pass, moves that need several packages to change together are left. Here, around a lot
served below its exact maximum (vehicles.exact_lot_caps), the lots of its packages form the
neighbourhood; the packages wholly inside it are free, every other one stays as awarded. Per lot
there and per set of its packages that can be chosen together (vehsets.package_sets, those that
keep every fixed package as awarded), lotdp's most vehicles and least cents with exactly that set
(vehmaster's tables, memoized across neighbourhoods: a lot's value depends only on its packages);
the 0-1 program over the free packages (vehmaster.best_choice: most vehicles, then the fewest free
packages moved, then the least cents) is exact for the neighbourhood without the capacities. A
choice that serves more is made by chains' CP-SAT sub-round with every package fixed (the
capacities and every rule checked there) and kept when it reaches those vehicles.

Deterministic: lots and packages in a fixed order, each DP solve counts WORK_PER_DP, the program
and the sub-rounds CP-SAT's work (one worker); the clock only cuts it short.
"""

from __future__ import annotations

import time
from collections.abc import Container
from typing import TYPE_CHECKING

from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.award.solution import Solution

if TYPE_CHECKING:
    from solver.award.lagrange import LotPart
    from solver.award.settables import Table

# Work counted per lot DP solve (as chains.WORK_PER_LOT) and per set listed without a DP.
WORK_PER_DP = 0.001
WORK_PER_SET = 0.0001
# Work of the neighbourhood's 0-1 program (both its solves) and of the sub-round that makes a move.
MASTER_WORK = 0.2
SUB_WORK = 0.5
# The most sets one neighbourhood may table (more: the lot is left as it is).
MAX_SETS = 6_000
# The neighbourhood: the lots of the short lot's packages (1), and those of their packages (2), ...
DEPTH = 2
MAX_LOTS = 60


class _Tables:
    """Per lot, its sets (listed once) and their (most vehicles, least cents), memoized."""

    def __init__(self, inst: Instance, prep: Prepared):
        from solver.award.lagrange import lot_parts

        self.inst = inst
        self.parts = {p.lot: p for p in lot_parts(inst, prep)}
        self.sets: dict[int, list[tuple[int, ...]]] = {}
        self.values: dict[int, Table] = {}
        self.work = 0.0

    def table(self, lot: int, fixed: dict[int, bool]) -> Table | None:
        """The lot's table over the sets that keep each package in `fixed` (index in the lot's
        part -> awarded) as it is; None where lotdp does not solve the lot."""
        from solver.award.settables import set_table
        from solver.award.vehsets import package_sets

        part = self.parts[lot]
        if lot not in self.sets:
            self.sets[lot] = package_sets(self.inst, part)
            self.values[lot] = {}
            self.work += WORK_PER_SET * len(self.sets[lot])
        keep = [s for s in self.sets[lot] if all((i in s) == v for i, v in fixed.items())]
        known = self.values[lot]
        todo = [s for s in keep if s not in known]
        if todo:
            got = set_table(self.inst, part, todo)
            if got is None:
                return None
            self.work += WORK_PER_DP * len(todo)
            known.update(got)
        return {s: known[s] for s in keep if s in known}


def _set_of(part: LotPart, chosen: Container[int]) -> tuple[int, ...]:
    return tuple(i for i, p in enumerate(part.packages) if p.package in chosen)


def _around(
    tabs: _Tables, lots_of: list[list[int]], sol: Solution, lot: int, deadline: float
) -> tuple[list[LotPart], list[Table], set[int]] | None:
    """The neighbourhood of `lot`: its lots' parts and tables (the lot and those a free package
    touches), and the free packages; None: too many sets, a lot lotdp does not solve, the clock."""
    part = tabs.parts.get(lot)
    if part is None:
        return None
    near = {lot} | {x for p in part.packages for x in lots_of[p.package]}
    for _ in range(DEPTH - 1):
        wider = sorted(
            {x for y in sorted(near) if y in tabs.parts for p in tabs.parts[y].packages for x in lots_of[p.package]}
            - near
        )
        near |= set(wider[: max(0, MAX_LOTS - len(near))])
    free = {
        p.package for x in near if x in tabs.parts for p in tabs.parts[x].packages if set(lots_of[p.package]) <= near
    }
    parts, out, count = [], [], 0
    for x in sorted(near):
        px = tabs.parts.get(x)
        if px is None or (x != lot and not any(p.package in free for p in px.packages)):
            continue
        if time.monotonic() >= deadline:
            return None
        fixed = {i: p.package in sol.packages for i, p in enumerate(px.packages) if p.package not in free}
        tab = tabs.table(x, fixed)
        if tab is None or _set_of(px, sol.packages) not in tab:
            return None
        count += len(tab)
        if count > MAX_SETS:
            return None
        parts.append(px)
        out.append(tab)
    return parts, out, free


def more_vehicles(
    inst: Instance, prep: Prepared, sol: Solution, caps: list[int], *, deadline: float, work_limit: float
) -> tuple[Solution, float, str]:
    """An award with at least `sol`'s vehicles, the work spent and what ended it ("done": a pass
    over the short lots gained nothing, "work", "time")."""
    from solver.award.chains import realize
    from solver.award.vehicles import served_per_lot, short_lots
    from solver.award.vehmaster import best_choice

    if not inst.whole or inst.with_quarters:
        return sol, 0.0, "done"
    tabs = _Tables(inst, prep)
    lots_of = [sorted({it.lot for it in pkg.items}) for pkg in inst.packages]
    work = 0.0
    settled: dict[int, tuple[frozenset[int], tuple[int, ...]]] = {}
    while True:
        served = served_per_lot(inst, sol)
        short = short_lots(served, caps)
        gained = False
        for lot in short:
            if work + tabs.work >= work_limit:
                return sol, work + tabs.work, "work"
            if time.monotonic() >= deadline:
                return sol, work + tabs.work, "time"
            got = _around(tabs, lots_of, sol, lot, deadline)
            if got is None:
                continue
            parts, tables, free = got
            key = (frozenset(free & sol.packages.keys()), tuple(served[p.lot] for p in parts))
            if settled.get(lot) == key:
                continue
            current = set(sol.packages)
            _, chosen, spent = best_choice(parts, tables, current, work_limit=MASTER_WORK, keep=frozenset(free))
            work += spent
            if chosen is None:
                continue
            touched, gain = [], 0
            for part, tab in zip(parts, tables, strict=True):
                now = tab[_set_of(part, chosen)][0]
                if _set_of(part, chosen) != _set_of(part, current) or served[part.lot] < now:
                    touched.append(part.lot)
                    gain += now - served[part.lot]
            if gain <= 0:
                settled[lot] = key
                continue
            new_chosen = frozenset((current - free) | (chosen & free))
            new, spent, timed_out = realize(
                inst,
                sol,
                new_chosen,
                tuple(sorted(touched)),
                gain,
                deadline,
                min(SUB_WORK, max(0.01, work_limit - work)),
            )
            work += spent
            if timed_out:
                return sol, work + tabs.work, "time"
            if new is None:
                settled[lot] = key
                continue
            sol, gained = new, True
            served = served_per_lot(inst, sol)
        if not gained:
            return sol, work + tabs.work, "done"
