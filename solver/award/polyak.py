"""The full plan's Lagrangian price bound (solver.award.lpchild, 2,000-bid rounds) pushed further
by many longer subgradient steps on the package multipliers: a Polyak-like rule.

lagrange.improved_bound's steps are short (a quarter of a percent of the bound, halved after
every step that does not raise it, then back to the best multipliers), so after its ten steps
the bound is still rising; it stops far below the relaxation's best. Here, from its best
multipliers, each step moves every package copy's multiplier along the same subgradient (the
copy chosen or not in its lot's own optimum, minus the package's mean copy) by

    t = f x (best - current + TARGET_SHARE x |best bound|) / |subgradient|^2

(Polyak's step towards a target TARGET_SHARE above the best bound so far, the bound taken at
the count of the LP whose duals the multipliers are), from the current multipliers, not the
best: a step that does not raise the bound only shrinks f (x DECAY). Each step's direction is
the subgradient plus MOMENTUM x the last step's (a heavy-ball step: the subgradients of successive
passes zigzag, their sum keeps the common part). The pass over the lots is
lagrange's (each lot exact by solver.award.lotdp, or CP-SAT on its work limit), so the bound is
valid for ANY multipliers (the copies of a package still sum to zero) and the same on every
machine: a fixed count of steps, float arithmetic in a fixed order, integer multipliers.

Measured at 2,000 bids, seed 1, 24 units of search (`python -m bench.award_cpu --sizes 2000`,
bench/results/award_cpu.md), certified gaps before -> after: arbitrary 1.428 -> 0.893 %, regions
0.779 -> 0.421 %, default 0.348 -> 0.185 %, few-suppliers 1.613 -> 1.169 %, idr-prices 0.609 ->
0.441 %, many-suppliers 0.084 -> 0.067 %, tiers-1-15 0.086 -> 0.085 %; a step (one pass) costs
0.1-0.17 s of CPU, the LP child's required plan 8-13 -> 20-25 s. More steps gain little (arbitrary
at the award's count: 0.93 / 0.89 / 0.88 % after 60 / 80 / 100; few-suppliers 1.15 % after 150).
"""

from __future__ import annotations

from typing import Any

from solver.award import lagrange
from solver.award.instance import Instance
from solver.award.prep import Prepared

# Steps after lagrange.improved_bound's (each one pass over the lots).
STEPS = 80
# ... and on rounds of at least MANY_LOTS lots (2,000 bids: few-suppliers' 400 lots, the other
# families 40-100), MANY_LOTS_STEPS: few-suppliers, seed 1, the bound at 15,076 vehicles after 80 /
# 110 / 150 / 190 steps 499.55e9 / 499.62e9 / 499.64e9 / 499.65e9 cents (0.2 s of CPU a step; its LP
# child 21-27 s of the 60 s limit before them).
MANY_LOTS = 300
MANY_LOTS_STEPS = 120
# The step's target above the best bound so far, as a share of it (the certified gaps it closes
# are 0.1-1.6 % at 2,000 bids).
TARGET_SHARE = 0.02
# f's factor after a step that does not raise the bound (f starts at 1).
DECAY = 0.85
# Each step's direction adds MOMENTUM x the last step's (0: the subgradient alone). Arbitrary,
# 2,000 bids, seed 1, 80 steps from the same LP duals, the bound for 3,454 vehicles (certified gap
# of the award 1,110,619,517): momentum 0 / 0.3 / 0.5 / 0.7: 1,100,696,311 / 1,100,869,197 /
# 1,100,945,162 / 1,101,002,978 (0.893 / 0.878 / 0.871 / 0.866 %). With 0.7, the same duals: regions
# +0.035 %, few-suppliers +0.033 %, many-suppliers -0.018 %, the others within 0.0002 %. Dropping the
# last direction after a miss: many-suppliers +0.003 %, but arbitrary 0.908 %.
MOMENTUM = 0.7
# toward_award (10,000 bids, from PDLP's duals, towards the greedy's award) takes these steps on
# rounds of at least MOMENTUM_LOTS lots, lagrange's on fewer. Seed 1, 40 steps, the bound at the
# award's count, lagrange's -> these: few-suppliers (1,998 small lots) 2,422.83e9 -> 2,423.61e9
# cents (60 steps: 2,423.82e9 -> 2,426.11e9); arbitrary (500 lots) 591.84e9 -> 591.53e9, with 4 %
# more lots solved (its LP child is near its CPU line): there lagrange's.
MOMENTUM_LOTS = 1_000


def improved_bound(
    inst: Instance,
    prep: Prepared,
    mult: lagrange.Multipliers,
    at: int,
    *,
    deadline: float,
    steps: int | None = None,
    work_per_lot: float = lagrange.WORK_PER_LOT,
) -> int | None:
    """lagrange.improved_bound's base for `mult` (multipliers of a price Lagrangian, from the
    price LP for `at` vehicles), then `steps` (None: STEPS, or MANY_LOTS_STEPS on rounds of at
    least MANY_LOTS lots) Polyak-like steps on the package multipliers
    (module docstring): the best base, which bounds the price of any award with at least V
    vehicles as base + mult.pi x V; `mult` ends as the best multipliers. None when the deadline
    stopped a pass (all or nothing, as lagrange's)."""
    if steps is None:
        steps = MANY_LOTS_STEPS if len(lagrange.lot_parts(inst, prep)) >= MANY_LOTS else STEPS
    first = lagrange.improved_bound(inst, prep, mult, deadline=deadline, work_per_lot=work_per_lot)
    if first is None or steps <= 0:
        return first
    return _steps(inst, prep, mult, None, at, deadline, steps, work_per_lot)


def toward_award(
    inst: Instance,
    prep: Prepared,
    mult: lagrange.Multipliers,
    award: tuple[int, int] | None,
    *,
    deadline: float,
    steps: int,
    work_per_lot: float = lagrange.WORK_PER_LOT,
) -> int | None:
    """`steps` steps from `mult` (at 10,000 bids PDLP's duals: solver.award.lpchild) towards the
    target an `award` (vehicles, cents) gives, its price - pi x its vehicles (no base for these mu
    and pi exceeds it): with at least MOMENTUM_LOTS lots these steps (a first pass, then each from
    the current multipliers, with momentum), else lagrange.improved_bound's (back to the best
    multipliers after a miss, half the step); without an award, lagrange's without a target."""
    if award is None or len(lagrange.lot_parts(inst, prep)) < MOMENTUM_LOTS:
        target = None if award is None else award[1] - mult.pi * award[0]
        w = work_per_lot
        return lagrange.improved_bound(inst, prep, mult, deadline=deadline, steps=steps, work_per_lot=w, target=target)
    vehicles, cents = award
    return _steps(inst, prep, mult, cents - mult.pi * vehicles, vehicles, deadline, steps, work_per_lot)


def _steps(
    inst: Instance,
    prep: Prepared,
    mult: lagrange.Multipliers,
    target: int | None,
    at: int,
    deadline: float,
    steps: int,
    work_per_lot: float,
) -> int | None:
    """A first pass, then `steps` steps; each towards `target` (gain: target - the current base), or
    without one TARGET_SHARE above the best bound at `at` vehicles."""
    cache: dict[int, Any] = {}  # per lot what steps on lam do not change (solver.award.lotdp)
    memo: dict[int, Any] = {}  # per lot its last minimum, for the lots a step leaves alone
    done = lagrange._pass(inst, prep, mult, deadline, work_per_lot, cache, memo)
    if done is None:
        return None
    best, copies = done
    current = best
    kept = dict(mult.lam)
    f = 1.0
    last: dict[tuple[int, int], float] = {}  # the last step's direction
    for _ in range(steps):
        by_package, g = lagrange.subgradient(copies)
        for key in g:  # (both sum to zero over a package's lots, so their sum does)
            g[key] += MOMENTUM * last.get(key, 0.0)
        last = g
        norm = sum(v * v for v in g.values())
        gain = best - current + TARGET_SHARE * abs(best + mult.pi * at) if target is None else target - current
        t = f * gain / norm if norm else 0.0
        if not g or t * max(abs(v) for v in g.values()) < 1:
            break  # the lots' optima agree with every package row, or no step moves a multiplier
        lagrange.move(mult, by_package, g, t)
        done = lagrange._pass(inst, prep, mult, deadline, work_per_lot, cache, memo)
        if done is None:
            return None  # all or nothing: the bound never depends on how far the clock let it go
        current, copies = done
        if current > best:
            best, kept = current, dict(mult.lam)
        else:
            f *= DECAY
    mult.lam = kept
    return best
