"""The Polyak-like steps after lagrange's (solver.award.polyak): on tiny rounds solved by
exhaustive enumeration the price bound never exceeds the lowest price of the most vehicles and
never falls below lagrange.improved_bound's from the same multipliers, and the same inputs give
the same bound (no clock in it); on 200-bid package rounds it rises above lagrange's (tiny
rounds' lots are too few for that: lagrange's ten steps already end there)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from bench.award_instances import make_round
from solver.award import lagrange, polyak
from solver.award.greedy import starts
from solver.award.instance import Instance, parse
from solver.award.lpbound import LpModel
from solver.award.prep import Prepared, prepare
from solver.award.solution import objective
from tests.solver.award_helpers import brute_force, tiny_round

WORK = 2.0  # per lot: tiny lots are proven far below it, so the passes are exact


def _tiny_rounds() -> Iterator[tuple[int, Instance, Prepared, LpModel, int, int]]:
    """Tiny rounds with an award: seed, round, its most vehicles and their lowest price (brute
    force), and its price LP solved at that count (the multipliers' source)."""
    for seed in range(60):
        doc = tiny_round(random.Random(seed))
        vehicles, cents = brute_force(doc)
        if not vehicles:
            continue
        inst = parse(doc)
        prep = prepare(inst)
        lp = LpModel(inst, prep)
        assert lp.price_bound(vehicles, 60) is not None
        yield seed, inst, prep, lp, vehicles, cents


def _package_rounds() -> Iterator[tuple[Instance, Prepared, LpModel, int, int]]:
    """arbitrary and regions bundles at 200 bids, with the greedy's vehicles and price and the price
    LP solved at that count."""
    for bundles in ("arbitrary", "regions"):
        inst = parse(make_round(20, 10, 200, seed=1, package_share=0.6, package_lots=(2, 8), bundles=bundles))
        prep = prepare(inst)
        vehicles, cents = objective(inst, starts(inst, prep)[0])
        lp = LpModel(inst, prep)
        assert lp.price_bound(vehicles, 60) is not None
        yield inst, prep, lp, vehicles, cents


def test_polyak_steps_keep_the_price_bound_valid() -> None:
    checked = 0
    for seed, inst, prep, lp, vehicles, cents in _tiny_rounds():
        end = time.monotonic() + 60
        ma, mb, mc = (lagrange.from_lp(inst, prep, lp, "price") for _ in range(3))
        before = lagrange.improved_bound(inst, prep, ma, deadline=end, work_per_lot=WORK)
        after = polyak.improved_bound(inst, prep, mb, vehicles, deadline=end, work_per_lot=WORK, steps=20)
        again = polyak.improved_bound(inst, prep, mc, vehicles, deadline=end, work_per_lot=WORK, steps=20)
        assert before is not None and after is not None
        assert after >= before, seed
        assert lagrange.price_for(after, mb, vehicles) <= cents, seed  # mb: the best multipliers
        assert (again, mc.lam) == (after, mb.lam), seed
        checked += 1
    assert checked >= 30


def test_polyak_steps_raise_the_price_bound_of_package_rounds() -> None:
    """arbitrary and regions bundles, 200 bids, at the greedy's count: above lagrange's ten
    steps, below the greedy's price (an award with that many vehicles)."""
    for inst, prep, lp, vehicles, cents in _package_rounds():
        end = time.monotonic() + 600
        ma, mb = (lagrange.from_lp(inst, prep, lp, "price") for _ in range(2))
        before = lagrange.improved_bound(inst, prep, ma, deadline=end)
        after = polyak.improved_bound(inst, prep, mb, vehicles, deadline=end, steps=20)
        assert before is not None and after is not None
        assert lagrange.price_for(before, ma, vehicles) < lagrange.price_for(after, mb, vehicles) <= cents


def test_steps_towards_an_award_keep_the_price_bound_valid(monkeypatch) -> None:
    """toward_award (the large plan's steps from PDLP's duals, towards the greedy's award), its own
    steps (on rounds of any number of lots here): on tiny rounds never above the lowest price of the
    most vehicles, the same bound for the same inputs."""
    monkeypatch.setattr(polyak, "MOMENTUM_LOTS", 0)
    checked = 0
    for seed, inst, prep, lp, vehicles, cents in _tiny_rounds():
        greedy = objective(inst, starts(inst, prep)[0])
        end = time.monotonic() + 60
        mb, mc = (lagrange.from_lp(inst, prep, lp, "price") for _ in range(2))
        after = polyak.toward_award(inst, prep, mb, greedy, deadline=end, work_per_lot=WORK, steps=20)
        again = polyak.toward_award(inst, prep, mc, greedy, deadline=end, work_per_lot=WORK, steps=20)
        assert after is not None
        assert lagrange.price_for(after, mb, vehicles) <= cents, seed  # mb: the best multipliers
        assert (again, mc.lam) == (after, mb.lam), seed
        checked += 1
    assert checked >= 30


def test_steps_towards_an_award_beat_lagrange_s_at_equal_steps(monkeypatch) -> None:
    """From the same duals and with the same target (the greedy's award), toward_award's steps (from
    the current multipliers, with momentum) end above lagrange.improved_bound's (back to the best
    multipliers after a miss, half the step) after the large plan's 40 passes: 200-bid package
    rounds (with their 20 lots toward_award takes lagrange's steps unless told otherwise: equal)."""
    for inst, prep, lp, vehicles, cents in _package_rounds():
        end = time.monotonic() + 600
        ma, mb, mc = (lagrange.from_lp(inst, prep, lp, "price") for _ in range(3))
        target = cents - ma.pi * vehicles
        before = lagrange.improved_bound(inst, prep, ma, deadline=end, steps=40, target=target)
        assert polyak.toward_award(inst, prep, mc, (vehicles, cents), deadline=end, steps=40) == before
        monkeypatch.setattr(polyak, "MOMENTUM_LOTS", 0)
        after = polyak.toward_award(inst, prep, mb, (vehicles, cents), deadline=end, steps=40)
        monkeypatch.undo()
        assert before is not None and after is not None
        assert lagrange.price_for(before, ma, vehicles) < lagrange.price_for(after, mb, vehicles) <= cents


def test_rounds_of_many_lots_take_more_steps(monkeypatch) -> None:
    """By default improved_bound takes STEPS steps, MANY_LOTS_STEPS on rounds of at least MANY_LOTS
    lots (few-suppliers' 400 small lots at 2,000 bids): counted in passes over the lots."""
    inst = parse(make_round(20, 10, 200, seed=1, package_share=0.6, package_lots=(2, 8), bundles="arbitrary"))
    prep = prepare(inst)
    vehicles, _ = objective(inst, starts(inst, prep)[0])
    lp = LpModel(inst, prep)
    assert lp.price_bound(vehicles, 60) is not None
    monkeypatch.setattr(polyak, "STEPS", 3)
    monkeypatch.setattr(polyak, "MANY_LOTS_STEPS", 7)
    passes: list[int] = []
    run_pass = lagrange._pass

    def counted(*args, **kwargs):
        passes[-1] += 1
        return run_pass(*args, **kwargs)

    monkeypatch.setattr(lagrange, "_pass", counted)
    for many_lots, steps in ((21, 3), (20, 7)):  # the round has 20 lots
        monkeypatch.setattr(polyak, "MANY_LOTS", many_lots)
        passes.append(0)
        mult = lagrange.from_lp(inst, prep, lp, "price")
        assert polyak.improved_bound(inst, prep, mult, vehicles, deadline=time.monotonic() + 600) is not None
        assert passes[-1] == 1 + lagrange.STEPS + 1 + steps
