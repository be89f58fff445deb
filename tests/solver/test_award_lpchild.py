"""The bounds child of large rounds (solver.award.lpchild), on tiny rounds solved by exhaustive
enumeration: the large plan (price LPs at the greedy's count and at the top count, no vehicle LP
when the LP holds the cheap vehicle bound) bounds the price of every count in between, carrying
the top count's bound down along its tangent, and never above the cheapest award."""

from __future__ import annotations

import random
import time

from solver.award.bounds import vehicle_bound
from solver.award.greedy import greedy
from solver.award.instance import parse
from solver.award.lpbound import LpModel, tangent_bound
from solver.award.lpchild import FULL_PLAN_VARS, BoundsChild
from solver.award.prep import prepare
from solver.award.solution import objective
from tests.solver.award_helpers import brute_force, tiny_round


def test_the_large_plan_bounds_every_count_from_the_greedy_s_to_the_vehicle_bound() -> None:
    checked = lowered = 0
    for seed in range(50):
        doc = tiny_round(random.Random(seed))
        inst = parse(doc)
        prep = prepare(inst)
        most, _ = brute_force(doc)
        # a start a few vehicles short of the most (the greedy's on tiny rounds is often the most)
        g = min(objective(inst, greedy(inst, prep))[0], max(1, most - 3))
        cheap = vehicle_bound(inst, prep)
        child = BoundsChild(inst, prep, g, cheap, FULL_PLAN_VARS + 1, time.monotonic() + 60)
        assert child.large
        assert child.collect(60, g) and child.complete(g), seed
        top = child.lp_vbound
        assert top is not None and most <= top <= cheap, seed
        assert child.vbound == top
        # the top count's own LP bound and slope, to see the tangent down from it at work
        lp = LpModel(inst, prep)
        at_top = lp.price_bound(top, 60)
        assert at_top is not None
        for v in range(g, most + 1):
            b = child.price_bound(v)
            assert b is not None and b <= brute_force(doc, at_least=v)[1], (seed, v)
            down = tangent_bound(at_top, lp.slope_up, top, v)
            assert b >= down - 1, (seed, v)  # the top count's bound carried down is used
            checked += 1
            lowered += v < top and down > tangent_bound(child.pbounds[g] or 0, child.slopes[g][0], g, v)
    assert checked >= 100
    assert lowered >= 1  # somewhere the top count's tangent is the better bound


def test_the_large_plan_gives_the_same_bytes_beside_a_busy_neighbour(monkeypatch) -> None:
    import importlib

    from bench.award_instances import make_round
    from solver import io
    from solver.award import award, validate_award
    from solver.award.bounds import price_bound
    from solver.money import to_cents
    from tests.solver.busy import beside_a_busy_neighbour

    # The large-round path with the large plan's bounds, forced on a mid-size round with a small
    # default budget (the modules, not solver.award the function, hold the limits).
    monkeypatch.setattr(importlib.import_module("solver.award"), "MAX_GLOBAL_PRICE_VARS", 0)
    monkeypatch.setattr(importlib.import_module("solver.award"), "DEFAULT_WORK_LNS_MAX", 2.0)
    monkeypatch.setattr(importlib.import_module("solver.award"), "MID_FACTOR", 1.0)  # the budget stays 2.0
    monkeypatch.setattr(importlib.import_module("solver.award.lpchild"), "FULL_PLAN_VARS", 0)
    doc = make_round(16, 6, 90, seed=4)

    def run() -> str:
        result = award(doc, time_limit=300)
        stats = result["stats"]
        assert stats["search"] == "cp-sat+lns"
        assert stats["limits"] == {"work_limit": 2.0, "stopped_by": "work"}
        assert validate_award(doc, result) == []
        inst = parse(doc)
        # the LP's bound arrived and applies (above the cheap bound of the award's count)
        assert to_cents(stats["bound_price"]) > price_bound(inst, prepare(inst), result["awarded_quantity"])
        return io.dumps({**result, "stats": {k: v for k, v in stats.items() if k != "solve_seconds"}})

    assert run() == beside_a_busy_neighbour(run)
