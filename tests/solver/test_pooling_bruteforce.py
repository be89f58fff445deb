"""Brute force: on small random instances the result's objective triple is the best of all poolings."""

from __future__ import annotations

import random

import pytest

from tests.solver.test_pooling_support import brute_force, small_instance, solve_checked, triple


@pytest.mark.parametrize("seed", range(120))
def test_small_instances_match_exhaustive_search(seed: int) -> None:
    doc = small_instance(random.Random(seed))
    result = solve_checked(doc)
    assert result["status"] == "OPTIMAL"
    assert triple(result) == brute_force(doc)
    assert result["stats"]["bound"] == result["stats"]["pooled_quantity"]


def test_aggregate_solution_that_does_not_pack_falls_back_to_explicit_lots() -> None:
    # 15 + 15 + 10 = 40 = 2 x 20 in aggregate, but no two lots of exactly 20 exist.
    doc = small_instance(random.Random(0))
    doc["rules"] = {"min_lot_quantity": 20, "max_lot_quantity": 20, "max_levels_up": 0}
    base = {"segment": "s", "region": "A", "window": {"earliest": "2027Q1", "latest": "2027Q1"}}
    doc["demand"] = [
        {"id": f"d{i}", "quantity": q, "requirements": {"charging": ["X"]}, **base} for i, q in enumerate((15, 15, 10))
    ]
    result = solve_checked(doc)
    assert triple(result) == brute_force(doc) == (0, 0, 0)
    assert result["status"] == "OPTIMAL"
