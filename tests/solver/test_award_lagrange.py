"""The Lagrangian bounds over lots (solver.award.lagrange): on tiny rounds solved by exhaustive
enumeration, the vehicle bound is never below the most vehicles and the price bound never above
the lowest price for them; each is at least as tight as the LP's it starts from (up to the
rounding of its multipliers); and the check notices a Lagrangian whose package multipliers do
not cancel (an invalid bound)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

from solver.award import lagrange
from solver.award.instance import parse
from solver.award.lpbound import LpModel
from solver.award.prep import prepare
from tests.solver.award_helpers import brute_force, tiny_round

WORK = 2.0  # per lot: tiny lots are proven far below it, so the bounds are the exact minima


def _solved_rounds(seeds: range) -> Iterator[tuple[int, int, int, Any, Any, LpModel, int | None, float]]:
    """Per tiny round with an award: seed, the most vehicles and their lowest price (exhaustive),
    the parsed round, its preparation, its LP and the LP's vehicle bound, and a deadline for the passes."""
    for seed in seeds:
        doc = tiny_round(random.Random(seed))
        vehicles, cents = brute_force(doc)
        if not vehicles:
            continue
        inst = parse(doc)
        prep = prepare(inst)
        lp = LpModel(inst, prep)
        end = time.monotonic() + 60
        yield seed, vehicles, cents, inst, prep, lp, lp.vehicle_bound(60), end


def _check(seeds: range, skew: int = 0) -> tuple[int, int, int]:
    """(rounds checked, rounds where the Lagrangian is strictly tighter than the LP, violations).
    `skew` adds that much to every package copy's multiplier (no longer summing to zero)."""
    checked = tighter = broken = 0
    for seed, vehicles, cents, inst, prep, lp, lp_vb, end in _solved_rounds(seeds):
        mv = lagrange.from_lp(inst, prep, lp, "vehicles")
        base_v = lagrange.lower_bound(inst, prep, mv, deadline=end, work_per_lot=WORK)
        lp_pb = lp.price_bound(vehicles, 60)
        mp = lagrange.from_lp(inst, prep, lp, "price")
        mp.lam = {k: v + skew for k, v in mp.lam.items()}
        base_p = lagrange.lower_bound(inst, prep, mp, deadline=end, work_per_lot=WORK)
        assert lp_vb is not None and lp_pb is not None and base_v is not None and base_p is not None
        vb = lagrange.vehicles_bound(base_v)
        pb = lagrange.price_for(base_p, mp, vehicles)
        checked += 1
        broken += vb < vehicles or pb > cents
        if not skew:
            assert vb <= lp_vb, seed
            assert pb >= lp_pb - max(100, lp_pb // 10**6), seed  # multipliers rounded to whole cents
        tighter += vb < lp_vb or pb > lp_pb
    return checked, tighter, broken


def test_lagrangian_bounds_hold_and_tighten_the_lp_on_tiny_rounds() -> None:
    checked, tighter, broken = _check(range(60))
    assert checked >= 30
    assert broken == 0
    assert tighter >= 1  # integrality inside a lot (whole lines, tiers, winners) pays somewhere


def test_the_check_catches_package_multipliers_that_do_not_cancel() -> None:
    assert _check(range(60), skew=10**9)[2] > 0


def test_subgradient_steps_keep_the_price_bound_valid_and_raise_it() -> None:
    """improved_bound (the LP's multipliers, then subgradient steps on the package
    copies) never bounds above the lowest price of the most vehicles, never below its first pass,
    and is strictly above it on some tiny rounds."""
    checked = raised = 0
    for seed, vehicles, cents, inst, prep, lp, _, end in _solved_rounds(range(60)):
        assert lp.price_bound(vehicles, 60) is not None
        mp = lagrange.from_lp(inst, prep, lp, "price")
        first = lagrange.lower_bound(inst, prep, mp, deadline=end, work_per_lot=WORK)
        best = lagrange.improved_bound(inst, prep, mp, deadline=end, work_per_lot=WORK, steps=4)
        assert first is not None and best is not None
        assert best >= first, seed
        assert lagrange.price_for(best, mp, vehicles) <= cents, seed  # mp: the best multipliers
        checked += 1
        raised += best > first
    assert checked >= 30
    assert raised >= 1


def test_polyak_s_steps_towards_an_award_keep_the_price_bound_valid_and_raise_it() -> None:
    """With a target (an award's price - pi x its vehicles: here the optimum's), each step's length
    is Polyak's: the bound still never exceeds the lowest price of the most vehicles, never falls
    below its first pass, and rises on some tiny rounds; a target already reached takes no step."""
    import copy

    checked = raised = 0
    for seed, vehicles, cents, inst, prep, lp, _, end in _solved_rounds(range(60)):
        assert lp.price_bound(vehicles, 60) is not None
        mp = lagrange.from_lp(inst, prep, lp, "price")
        first = lagrange.lower_bound(inst, prep, mp, deadline=end, work_per_lot=WORK)
        assert first is not None
        at_first = copy.deepcopy(mp)
        none = lagrange.improved_bound(inst, prep, at_first, deadline=end, work_per_lot=WORK, steps=4, target=first)
        assert none == first and at_first.lam == mp.lam, seed
        target = cents - mp.pi * vehicles
        best = lagrange.improved_bound(inst, prep, mp, deadline=end, work_per_lot=WORK, steps=4, target=target)
        assert best is not None and first <= best <= target, seed
        assert lagrange.price_for(best, mp, vehicles) <= cents, seed
        checked += 1
        raised += best > first
    assert checked >= 30
    assert raised >= 1


def test_steps_solve_again_only_the_lots_whose_package_copies_moved(monkeypatch) -> None:
    """A step changes only the package copies' multipliers, so a lot whose copies it left alone
    keeps its minimum: fewer lot solves, the same bound as solving every lot on every pass."""
    import copy

    from bench.award_families import HEAVY
    from bench.award_instances import make_round

    inst = parse(make_round(20, 10, 300, seed=1, **{**HEAVY, "bundles": "arbitrary"}))
    prep = prepare(inst)
    lp = LpModel(inst, prep)
    vb = lp.vehicle_bound(60)
    assert vb is not None and lp.price_bound(vb, 60) is not None
    mp = lagrange.from_lp(inst, prep, lp, "price")
    solves = 0
    lot_min = lagrange._lot_min

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal solves
        solves += 1
        return lot_min(*args, **kwargs)

    monkeypatch.setattr(lagrange, "_lot_min", counted)
    end = time.monotonic() + 300
    kept = lagrange.improved_bound(inst, prep, copy.deepcopy(mp), deadline=end, steps=8)
    kept_solves, solves = solves, 0
    run_pass = lagrange._pass
    monkeypatch.setattr(lagrange, "_pass", lambda *a, **k: run_pass(*a[:6]))  # no memo: every lot
    every = lagrange.improved_bound(inst, prep, copy.deepcopy(mp), deadline=end, steps=8)
    assert kept == every is not None
    assert kept_solves < solves


def test_lot_parts_are_built_once_per_round_and_never_shared_between_rounds() -> None:
    """Every Lagrangian pass asks for the lots' parts (0.4 s at 25,000 bids): the same round gets the
    same list again, and another round its own, equal to a fresh build."""
    rounds = []
    for seed in range(4):
        inst = parse(tiny_round(random.Random(seed)))
        rounds.append((inst, prepare(inst)))
    (a, pa), (b, pb) = rounds[0], rounds[1]
    first = lagrange.lot_parts(a, pa)
    assert lagrange.lot_parts(a, pa) is first
    other = lagrange.lot_parts(b, pb)
    assert other is not first
    lagrange._parts_of = None
    assert lagrange.lot_parts(b, pb) == other
    for inst, prep in rounds:
        got = lagrange.lot_parts(inst, prep)
        lagrange._parts_of = None
        assert got == lagrange.lot_parts(inst, prep)
