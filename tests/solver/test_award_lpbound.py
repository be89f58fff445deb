"""The LP relaxation behind the bounds of large rounds (solver.award.lpbound): never above the
most vehicles nor below the lowest price any award can have (checked against exhaustive
enumeration on tiny rounds with tiers, packages, winner limits and both line services)."""

from __future__ import annotations

import random

from solver.award.instance import parse
from solver.award.lpbound import LpModel, tangent_bound
from solver.award.prep import prepare
from tests.solver.award_helpers import brute_force, tiny_round


def _bounds(doc: dict, vehicles: int) -> tuple[int | None, int | None]:
    inst = parse(doc)
    lp = LpModel(inst, prepare(inst))
    return lp.vehicle_bound(60), lp.price_bound(vehicles, 60)


def test_the_lp_bounds_hold_on_tiny_rounds_solved_by_enumeration() -> None:
    checked = 0
    for seed in range(80):
        doc = tiny_round(random.Random(seed))
        vehicles, cents = brute_force(doc)
        if not vehicles:
            continue
        vb, pb = _bounds(doc, vehicles)
        assert vb is not None and vb >= vehicles, seed
        assert pb is not None and pb <= cents, seed
        checked += 1
    assert checked >= 40


def _tangents(seeds: range, wrong: float = 1.0) -> tuple[int, int, int]:
    """Over tiny rounds, the LP bound for k < V vehicles raised along its tangent to the award's
    V (lpbound.tangent_bound, slope x `wrong`): (checked, raised above the count's own bound,
    broken: above the LP's own bound for V or above the brute-force optimum)."""
    checked = raised = broken = 0
    for seed in seeds:
        doc = tiny_round(random.Random(seed))
        vehicles, cents = brute_force(doc)
        inst = parse(doc)
        lp = LpModel(inst, prepare(inst))
        at_v = lp.price_bound(vehicles, 60)
        for k in range(max(1, vehicles - 3), vehicles):
            pb = lp.price_bound(k, 60)
            assert pb is not None and at_v is not None
            b = tangent_bound(pb, lp.slope * wrong, k, vehicles)
            checked += 1
            raised += b > pb
            broken += b > at_v + 1 or b > cents
    return checked, raised, broken


def test_the_tangent_raises_a_count_s_price_bound_and_stays_below_the_optimum() -> None:
    checked, raised, broken = _tangents(range(60))
    assert checked >= 60 and raised >= checked // 4
    assert broken == 0


def test_the_tangent_check_catches_a_wrong_slope() -> None:
    # A slope steeper than the LP's dual is not a bound: the check above must notice it.
    assert _tangents(range(60), wrong=1.5)[2] > 0


def _tangents_below(seeds: range, wrong: float = 1.0) -> tuple[int, int]:
    """Over tiny rounds, the LP bound at the most vehicles V lowered along its tangent to counts
    k < V (lpbound.tangent_bound with the slope rounded up, x `wrong`): (checked, broken: above the
    LP's own bound for k or above the cheapest award with at least k vehicles, by enumeration)."""
    checked = broken = 0
    for seed in seeds:
        doc = tiny_round(random.Random(seed))
        vehicles, _ = brute_force(doc)
        inst = parse(doc)
        lp = LpModel(inst, prepare(inst))
        vb = lp.vehicle_bound(60)
        assert vb is not None and vb >= vehicles
        top = lp.price_bound(vb, 60)
        assert top is not None
        slope_up = lp.slope_up * wrong
        for k in range(max(1, vb - 3), vb):
            own = lp.price_bound(k, 60)
            cheapest = brute_force(doc, at_least=k)[1] if k <= vehicles else None
            assert own is not None
            b = tangent_bound(top, slope_up, vb, k)
            checked += 1
            broken += b > own + 1 or (cheapest is not None and b > cheapest)
        if broken and wrong != 1.0:
            break  # the wrong slope is caught: no need to look further
    return checked, broken


def test_the_tangent_below_the_lp_count_bounds_awards_with_fewer_vehicles() -> None:
    # An award a vehicle or a few short of the LP's count gets that count's bound minus the
    # LP's vehicle-row dual per vehicle (weak duality: the dual solution fits every count).
    checked, broken = _tangents_below(range(60))
    assert checked >= 60
    assert broken == 0


def test_the_tangent_below_catches_a_too_shallow_slope() -> None:
    # Below the LP's count the slope must be rounded up: a shallower one is not a bound.
    assert _tangents_below(range(60), wrong=0.5)[1] > 0


def test_a_price_lp_after_another_restarts_from_its_basis_with_the_same_bound() -> None:
    # The LP child asks the price LP at several vehicle counts; each after the first only moves the
    # vehicle row, so it restarts from the previous basis (a few simplex iterations instead of
    # hundreds: what keeps the required bounds within the limit at 2,000 bids), and must give
    # exactly the bound a fresh LP gives for that count.
    from bench.award_instances import make_round

    inst = parse(make_round(20, 10, 200, seed=1))
    prep = prepare(inst)
    lp = LpModel(inst, prep)
    vb = lp.vehicle_bound(60)
    assert vb is not None
    assert lp.price_bound(vb, 60) is not None
    cold = lp.iterations
    assert cold >= 200
    for k in (vb - 1, vb - 3, vb - 10):
        warm = lp.price_bound(k, 60)
        assert lp.iterations <= cold // 10, k
        fresh = LpModel(inst, prep)
        assert warm == fresh.price_bound(k, 60), k
        assert fresh.iterations >= 200
