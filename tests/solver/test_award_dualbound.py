"""Proven price bounds from approximate LP duals (solver.award.dualbound): whatever multipliers
they start from (PDLP stopped early, the LP's optimal duals, random or absurd numbers), the bound
never exceeds the LP's optimum nor the cheapest award (by enumeration on tiny rounds), and with
good duals it reaches the LP's optimum."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from solver.award.dualbound import DualBound, bound_from_duals
from solver.award.instance import Instance, parse
from solver.award.lpbound import LpModel
from solver.award.prep import Prepared, prepare
from tests.solver.award_helpers import brute_force, tiny_round


def _lp(doc: dict) -> LpModel:
    inst = parse(doc)
    return LpModel(inst, prepare(inst))


def _rounds(seeds: range) -> Iterator[tuple[int, dict, int, Instance, Prepared, LpModel]]:
    """Per tiny round with an award: its seed, document, most vehicles (exhaustive), the parsed
    round, its preparation and its LP."""
    for seed in seeds:
        doc = tiny_round(random.Random(seed))
        vehicles, _ = brute_force(doc)
        if vehicles:
            inst = parse(doc)
            prep = prepare(inst)
            yield seed, doc, vehicles, inst, prep, LpModel(inst, prep)


def _bound(lp: LpModel, duals: list[float], pi: float) -> DualBound | None:
    return bound_from_duals(lp._rows, lp._upper, lp.price, lp.veh, duals, pi)


def test_pdlp_bounds_hold_below_the_lp_and_the_optimum_on_tiny_rounds() -> None:
    checked = close = 0
    for seed, doc, vehicles, _, _, lp in _rounds(range(40)):
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
    for seed, _, vehicles, _, _, lp in _rounds(range(20)):
        exact = lp.price_bound(vehicles, 60)
        assert exact is not None and lp.vehicles_row is not None
        duals = [lp.dual(r) for r in range(lp.vehicles_row)]
        b = _bound(lp, duals, lp.dual(lp.vehicles_row))
        assert b is not None
        assert exact - max(2, exact * 1e-6) <= b.at(vehicles) <= exact + 1, seed


def test_any_multipliers_give_a_bound_below_the_lp() -> None:
    rng = random.Random(7)
    broken = checked = 0
    for _, _, vehicles, _, _, lp in _rounds(range(30)):
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


def test_the_lagrangian_from_pdlp_s_duals_holds_below_the_optimum_on_tiny_rounds() -> None:
    """The Lagrangian (solver.award.lagrange, as the large plan runs it) starts from PDLP's
    approximate duals (lpbound.ApproxDuals): its bound never exceeds the cheapest award with at
    least V vehicles, however rough the duals."""
    import time

    from solver.award import lagrange

    checked = 0
    for seed, doc, vehicles, inst, prep, lp in _rounds(range(30)):
        for iterations in (5, 1000):
            approx = lp.approx_duals(vehicles, iterations)
            assert approx is not None and approx.bound() is not None
            mult = lagrange.from_lp(inst, prep, lp, "price", approx)
            base = lagrange.improved_bound(inst, prep, mult, deadline=time.monotonic() + 60, steps=3)
            assert base is not None
            for k in range(max(0, vehicles - 2), vehicles + 1):
                assert lagrange.price_for(base, mult, k) <= brute_force(doc, at_least=k)[1], (seed, iterations, k)
        checked += 1
    assert checked >= 15


def test_pdlp_s_duals_give_the_reduced_costs_of_their_definition() -> None:
    doc = tiny_round(random.Random(3))
    lp = _lp(doc)
    vehicles, _ = brute_force(doc)
    approx = lp.approx_duals(max(1, vehicles), 50)
    assert approx is not None and approx.vehicles_row == len(lp._rows)
    duals = [approx.dual(r) for r in range(len(lp._rows))]
    pi = approx.dual(len(lp._rows))
    for v in range(len(lp._upper)):
        d = lp.price.get(v, 0.0) - pi * lp.veh.get(v, 0.0)
        for r, (_, _, idx, val) in enumerate(lp._rows):
            d -= sum(c * duals[r] for i, c in zip(idx, val, strict=True) if i == v)
        assert math.isclose(approx.reduced_cost(v), d, rel_tol=1e-9, abs_tol=1e-6)
