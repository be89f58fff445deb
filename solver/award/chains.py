"""More vehicles on large rounds by package moves, each lot re-solved exactly by dynamic programming.

With whole line service and no delivery quarters, once it is decided which packages are awarded
the lots are independent of each other but for the suppliers' capacities (which do not bind on
few-suppliers, bench.award_families): each lot's most vehicles under that decision is one call of
solver.award.lotdp (every package copy forced in or out by its Lagrangian multiplier). So a
package move is scored exactly and cheaply on the lots it touches: around each lot served below
its own maximum (vehicles.exact_lot_caps), awarding a package with an item there (the awarded
packages in its lots may then be ejected where that serves more there, and leave their other
lots too), or dropping an awarded one; then, in the lots it touched, packages not awarded that
serve more in all their lots come in (_refill). The best move of a lot that gains vehicles is made by a
sub-round on the lots it touches with every package fixed as decided (solver.award.lns's
sub-rounds: CP-SAT, the capacities and every rule checked), and kept when that sub-round reaches
its vehicles. vehicles.more_vehicles' neighbourhoods cannot make the moves whose packages reach
beyond their 12-30 lots (those stay as awarded there), and at 10,000 bids their work runs out
before one pass over the short lots. few-suppliers, 10,000 bids, seed 1, the whole award beside
main 4d81d5e's: 74,103 -> 74,212 of 75,083 vehicles, gap 2.027 -> 1.966 %, the main process's
CPU 69.8 -> 71.8 s (python -m bench.award_cpu --sizes 10000 --families few-suppliers, with
--solver-path); with the sub-rounds on the most vehicles only (LEX False) 74,247 vehicles, but
gap 2.060 %.

Deterministic: lots and packages in a fixed order, the DP exact, each lot solved counts
WORK_PER_LOT of work, the sub-rounds CP-SAT's work (one worker) and their model building
(lns.WORK_PER_VAR); the clock only cuts it short.
"""

from __future__ import annotations

import time
from typing import Any

from solver.award.instance import Instance
from solver.award.prep import Prepared
from solver.award.solution import Solution, objective
from solver.award.vehicles import optimum_packages

# Work counted per lot the DP solves (one solve of a 10,000-bid few-suppliers lot: about 1 ms of
# CPU, as a sub-round's model building per 5 variables).
WORK_PER_LOT = 0.001
# Forces a package copy in (-BIG) or out (+BIG); far above any lot's vehicles x VEHICLE_SCALE.
BIG = 10**13
# Work of one realizing sub-round (CP-SAT deterministic seconds, besides its model building).
SUB_WORK = 0.5
# Besides single packages, the move to the packages of the lot's own optimum (exact_lot_caps).
WANTED = True
# The sub-round making a move takes the lowest price among its most vehicles (False: any award
# with the most vehicles there).
LEX = True
# After a move, packages that serve more where it touched come in too (_refill).
REFILL = True


class _Lots:
    """Each lot's most vehicles under a decision of the packages touching it (memoized)."""

    def __init__(self, inst: Instance, prep: Prepared):
        from solver.award.lagrange import VEHICLE_SCALE, Multipliers, lot_parts

        self.inst = inst
        self.prep = prep
        self.scale = VEHICLE_SCALE
        self.parts = {p.lot: p for p in lot_parts(inst, prep)}
        self.mult = Multipliers("vehicles", {}, 0, {})
        self.cache: dict[int, Any] = {}
        self.memo: dict[tuple[int, frozenset[int], frozenset[int]], tuple[int, frozenset[int]] | None] = {}
        self.solved = 0

    def best(
        self, lot: int, chosen: frozenset[int], optional: frozenset[int] = frozenset()
    ) -> tuple[int, frozenset[int]] | None:
        """The lot's most vehicles with the packages `chosen` in and every other out, except those
        `optional` (kept where it costs nothing), and the optional ones kept; None: no award
        of the lot takes every chosen package."""
        from solver.award.lotdp import lot_min

        part = self.parts.get(lot)
        if part is None:
            return 0, frozenset()
        here = {p.package for p in part.packages}
        key = (lot, chosen & here, optional & here)
        if key in self.memo:
            return self.memo[key]
        lam = self.mult.lam
        lam.clear()
        for p in sorted(here):
            lam[p, lot] = -BIG if p in chosen else -1 if p in optional else BIG
        self.solved += 1
        found = lot_min(self.inst, part, self.mult, self.cache)
        out: tuple[int, frozenset[int]] | None
        if found is None:
            out = None
        else:
            value, copies = found
            took = {p for (p, _), c in copies.items() if c}
            if not (chosen & here) <= took:
                out = None
            else:
                kept = frozenset(took & optional)
                value += BIG * len(chosen & here) + len(kept)
                assert value <= 0 and value % self.scale == 0, value
                out = (-value // self.scale, kept)
        self.memo[key] = out
        return out


# the last round's lot values (solver.award.vehicles' far starts make the moves before this search's
# call: that call then solves only the decisions they did not)
_last: _Lots | None = None


def more_vehicles(
    inst: Instance, prep: Prepared, sol: Solution, caps: list[int], *, deadline: float, work_limit: float
) -> tuple[Solution, float, str]:
    """An award with at least `sol`'s vehicles, the work spent and what ended it ("done": a pass
    over the short lots gained nothing, "work", "time")."""
    from solver.award.vehicles import served_per_lot, short_lots

    global _last
    if not inst.whole or inst.with_quarters:
        return sol, 0.0, "done"
    if _last is None or _last.inst is not inst or _last.prep is not prep:
        _last = _Lots(inst, prep)
    lots = _last  # (a lot's value depends only on the packages: the round's later calls reuse it)
    pkgs_of_lot: list[list[int]] = [[] for _ in inst.lots]
    lots_of: list[list[int]] = []
    for pi, pkg in enumerate(inst.packages):
        ls = sorted({it.lot for it in pkg.items})
        lots_of.append(ls)
        for lot in ls:
            pkgs_of_lot[lot].append(pi)
    work = 0.0
    tried: set[tuple[int, ...]] = set()
    while True:
        served = served_per_lot(inst, sol)
        short = short_lots(served, caps)
        gained = False
        for lot in short:
            if work >= work_limit:
                return sol, work, "work"
            if time.monotonic() >= deadline:
                return sol, work, "time"
            chosen = frozenset(sol.packages)
            before = lots.solved
            move = _best_move(lots, pkgs_of_lot, lots_of, chosen, served, lot)
            work += (lots.solved - before) * WORK_PER_LOT
            if move is None:
                continue
            new_chosen, touched, gain = move
            key = (*sorted(new_chosen ^ chosen), -1, *touched)
            if key in tried:
                continue
            tried.add(key)
            new, spent, timed_out = realize(
                inst, sol, new_chosen, touched, gain, deadline, min(SUB_WORK, work_limit - work)
            )
            work += spent
            if timed_out:
                return sol, work, "time"
            if new is not None:
                sol, gained = new, True
                served = served_per_lot(inst, sol)
        if not gained:
            return sol, work, "done"


def _best_move(
    lots: _Lots,
    pkgs_of_lot: list[list[int]],
    lots_of: list[list[int]],
    chosen: frozenset[int],
    served: list[int],
    lot: int,
) -> tuple[frozenset[int], tuple[int, ...], int] | None:
    """Around `lot`: the move (new package decision, the lots it touches, vehicles gained) that
    gains the most, None when none gains."""
    best: tuple[frozenset[int], tuple[int, ...], int] | None = None
    wanted = frozenset(optimum_packages(lots.inst, lots.prep, lot)) if WANTED else frozenset()
    moves: list[int | None] = [*pkgs_of_lot[lot], *([None] if wanted - chosen else [])]
    for p in moves:
        if p is None:
            # the lot's own optimum's packages in, the others awarded there out
            here = frozenset(pkgs_of_lot[lot])
            scan = sorted({x for q in wanted - chosen for x in lots_of[q]} - {lot})
            ejected = _ejected(lots, pkgs_of_lot, lots_of, chosen, scan, wanted, here)
            if ejected is None:
                continue
            new = ((chosen - here) | wanted) - ejected
        elif p in chosen:
            new = chosen - {p}
        else:
            ejected = _ejected(lots, pkgs_of_lot, lots_of, chosen, lots_of[p], frozenset({p}), frozenset())
            if ejected is None:
                continue
            new = (chosen | {p}) - ejected
        touched = tuple(sorted({x for q in new ^ chosen for x in lots_of[q]}))
        gain = 0
        if REFILL:
            new, touched = _refill(lots, pkgs_of_lot, lots_of, new, touched)
        for x in touched:
            got = lots.best(x, new)
            if got is None:
                gain = -1
                break
            gain += got[0] - served[x]
        if gain > 0 and (best is None or gain > best[2]):
            best = (new, touched, gain)
    return best


def _refill(
    lots: _Lots,
    pkgs_of_lot: list[list[int]],
    lots_of: list[list[int]],
    chosen: frozenset[int],
    touched: tuple[int, ...],
) -> tuple[frozenset[int], tuple[int, ...]]:
    """The second chain link: in each lot the move touches, in order, a package not awarded that
    serves more in all its lots together (each re-solved, nothing ejected) comes in."""
    for y in touched:
        for r in pkgs_of_lot[y]:
            if r in chosen:
                continue
            delta = 0
            for x in lots_of[r]:
                was, now = lots.best(x, chosen), lots.best(x, chosen | {r})
                if was is None or now is None:
                    delta = -1
                    break
                delta += now[0] - was[0]
            if delta > 0:
                chosen = chosen | {r}
                touched = tuple(sorted({*touched, *lots_of[r]}))
    return chosen, touched


def _ejected(
    lots: _Lots,
    pkgs_of_lot: list[list[int]],
    lots_of: list[list[int]],
    chosen: frozenset[int],
    scan: list[int],
    taken: frozenset[int],
    dropped: frozenset[int],
) -> frozenset[int] | None:
    """The awarded packages that leave when those `taken` come in (and those `dropped` leave): in
    each lot `scan`ned, those its most vehicles with `taken` in do without (the first chain link:
    they leave their other lots too). None: a lot cannot take them."""
    out: set[int] = set()
    for x in scan:
        optional = frozenset(q for q in pkgs_of_lot[x] if q in chosen and q not in dropped and q not in taken)
        got = lots.best(x, frozenset(q for q in taken if x in lots_of[q]), optional)
        if got is None:
            return None
        out |= optional - got[1]
    return frozenset(out)


def realize(
    inst: Instance,
    sol: Solution,
    chosen: frozenset[int],
    touched: tuple[int, ...],
    gain: int,
    deadline: float,
    work_limit: float,
) -> tuple[Solution | None, float, bool]:
    """`sol` with the lots `touched` re-solved for the most vehicles with the packages decided
    (`chosen`), when that serves at least `gain` more; the work spent; whether the clock cut it."""
    from solver.award.cpsat import AwardModel, model_size
    from solver.award.lns import WORK_PER_VAR, _merge, _sub_instance
    from solver.award.prep import prepare
    from solver.award.vehicles import merged_tiers

    sub = _sub_instance(inst, sol, list(touched))
    sub_prep = merged_tiers(sub.inst, prepare(sub.inst), sub.cur)
    model = AwardModel(sub.inst, sub_prep)
    work = model_size(sub.inst, sub_prep) * WORK_PER_VAR
    for pv in model.families.packages:
        pi = sub.pkg_map[pv.opt.package][0]
        model.model.add(pv.chosen == int(pi in chosen))
    v0 = objective(sub.inst, sub.cur)[0]
    model.model.add(model.vehicles >= v0 + gain)
    r = model.solve_phase(
        objective="lex" if LEX and model.lex_fits else "vehicles",
        time_limit=max(0.01, deadline - time.monotonic()),
        work_limit=max(0.01, work_limit),
        workers=1,
    )
    work += r.deterministic_time
    if r.timed_out:
        return None, work, True
    if r.solution is None:
        return None, work, False
    new = _merge(inst, sol, sub, r.solution)
    if objective(inst, new)[0] < objective(inst, sol)[0] + gain:
        return None, work, False
    return new, work, False
