"""Proven price bounds from approximate LP duals (solver.award.dualbound): whatever multipliers
they start from (PDLP stopped early, the LP's optimal duals, random or absurd numbers), the bound
never exceeds the LP's optimum nor the cheapest award (by enumeration on tiny rounds), and with
good duals it reaches the LP's optimum."""

from __future__ import annotations

import math
import random

from solver.award.dualbound import DualBound, bound_from_duals
from solver.award.instance import parse
from solver.award.lpbound import LpModel
from solver.award.prep import prepare
from tests.solver.award_helpers import brute_force, tiny_round


def _lp(doc: dict) -> LpModel:
    inst = parse(doc)
    return LpModel(inst, prepare(inst))


def _bound(lp: LpModel, duals: list[float], pi: float) -> DualBound | None:
    return bound_from_duals(lp._rows, lp._upper, lp.price, lp.veh, duals, pi)


def test_pdlp_bounds_hold_below_the_lp_and_the_optimum_on_tiny_rounds() -> None:
    checked = close = 0
    for seed in range(40):
        doc = tiny_round(random.Random(seed))
        vehicles, _ = brute_force(doc)
        if not vehicles:
            continue
        lp = _lp(doc)
        exact = lp.price_bound(vehicles, 60)
        assert exact is not None
        for iterations in (5, 50, 2000):
            b = lp.approx_price_bound(vehicles, iterations)
            assert b is not None, seed
            for k in range(max(0, vehicles - 2), vehicles + 1):
                own = lp.price_bound(k, 60)
                assert own is not None
                assert b.at(k) <= own + 1, (seed, iterations, k)  # the LP rounds up by 1e-9
                assert b.at(k) <= brute_force(doc, at_least=k)[1], (seed, iterations, k)
            close += iterations == 2000 and b.at(vehicles) >= exact * (1 - 1e-4) - 1
        checked += 1
    assert checked >= 20
    assert close >= checked * 3 // 4  # enough iterations reach the LP's optimum


def test_the_lp_s_own_duals_give_its_optimum_exactly() -> None:
    for seed in range(20):
        doc = tiny_round(random.Random(seed))
        vehicles, _ = brute_force(doc)
        if not vehicles:
            continue
        lp = _lp(doc)
        exact = lp.price_bound(vehicles, 60)
        assert exact is not None and lp.vehicles_row is not None
        duals = [lp.dual(r) for r in range(lp.vehicles_row)]
        b = _bound(lp, duals, lp.dual(lp.vehicles_row))
        assert b is not None
        assert exact - max(2, exact * 1e-6) <= b.at(vehicles) <= exact + 1, seed


def test_any_multipliers_give_a_bound_below_the_lp() -> None:
    rng = random.Random(7)
    broken = checked = 0
    for seed in range(30):
        doc = tiny_round(random.Random(seed))
        vehicles, _ = brute_force(doc)
        if not vehicles:
            continue
        lp = _lp(doc)
        exact = lp.price_bound(vehicles, 60)
        assert exact is not None
        n = len(lp._rows)
        for scale in (1.0, 1e3, 1e7, 1e12):
            duals = [rng.gauss(0, scale) for _ in range(n)]
            b = _bound(lp, duals, rng.gauss(0, scale))
            assert b is not None
            broken += b.at(vehicles) > exact + 1
            checked += 1
        odd = [math.nan, math.inf, -math.inf, -1e300, 1e300, 0.0]
        b = _bound(lp, [rng.choice(odd) for _ in range(n)], math.nan)
        assert b is not None
        broken += b.at(vehicles) > exact + 1
    assert checked >= 60 and broken == 0


def test_data_it_cannot_bound_exactly_gives_no_bound() -> None:
    rows = [(0.0, 4.0, [0, 1], [1.0, 1.0])]
    assert bound_from_duals(rows, [3.0, 3.0], {0: 10.0, 1: 12.0}, {0: 1.0, 1: 1.0}, [-1.0], 2.0) is not None
    # a fractional coefficient, price or bound: no exact arithmetic, no bound
    assert bound_from_duals(rows, [3.0, 3.0], {0: 10.5, 1: 12.0}, {0: 1.0, 1: 1.0}, [-1.0], 2.0) is None
    half = [(0.0, 4.0, [0, 1], [0.5, 1.0])]
    assert bound_from_duals(half, [3.0, 3.0], {0: 10.0, 1: 12.0}, {0: 1.0, 1: 1.0}, [-1.0], 2.0) is None
    # a variable without an upper bound whose reduced cost is negative: the bound is minus infinity
    assert bound_from_duals(rows, [math.inf, 3.0], {0: 10.0, 1: 12.0}, {0: 1.0, 1: 1.0}, [0.0], 20.0) is None


def test_a_hand_computed_bound() -> None:
    # min 10 x0 + 12 x1, x0 + x1 <= 4, x0, x1 in [0, 3], x0 + x1 >= V: optimum 10 x 3 + 12 (V - 3)
    rows = [(-math.inf, 4.0, [0, 1], [1.0, 1.0])]
    upper, cost, veh = [3.0, 3.0], {0: 10.0, 1: 12.0}, {0: 1.0, 1: 1.0}
    b = bound_from_duals(rows, upper, cost, veh, [0.0], 12.0)  # optimal duals at V = 4
    assert b is not None and b.at(4) == 42 and b.at(3) == 30 and b.per_vehicle == 12.0
    # a row multiplier of the wrong sign for its only (upper) bound counts as 0
    assert bound_from_duals(rows, upper, cost, veh, [5.0], 12.0) == b
    # pi below zero counts as 0: the bound of the box alone
    z = bound_from_duals(rows, upper, cost, veh, [0.0], -3.0)
    assert z is not None and z.at(4) == 0
