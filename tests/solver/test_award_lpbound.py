"""The LP relaxation behind the bounds of large rounds (solver.award.lpbound): never above the
most vehicles nor below the lowest price any award can have (checked against exhaustive
enumeration on tiny rounds with tiers, packages, winner limits and both line services)."""

from __future__ import annotations

import random

from solver.award.instance import parse
from solver.award.lpbound import LpModel
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
