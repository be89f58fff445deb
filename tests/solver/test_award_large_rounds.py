"""The path for large rounds (greedy, large-neighbourhood search, LP bounds in a child process),
forced on small rounds whose exact optimum is known: its award is valid and its bounds hold."""

from __future__ import annotations

import importlib

import pytest

from bench.award_instances import make_round
from solver.award import award, validate_award
from solver.money import to_cents


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(8, 4, 30, 2), (12, 6, 60, 3), (15, 6, 80, 4)], ids=str)
def test_the_large_round_path_gives_a_valid_award_with_bounds_that_hold(shape, monkeypatch):
    n_lots, n_oems, n_bids, seed = shape
    doc = make_round(n_lots, n_oems, n_bids, seed=seed)
    exact = award(doc, time_limit=600)  # proven on its work limit; the clock only a cap under load
    assert exact["status"] == "OPTIMAL"
    best_vehicles, best_cents = exact["awarded_quantity"], to_cents(exact["total_price"])

    # As if the model were too big (the module, not solver.award the function, holds the limit).
    monkeypatch.setattr(importlib.import_module("solver.award"), "MAX_GLOBAL_PRICE_VARS", 0)
    big = award(doc, time_limit=600, work_limit=3)  # on work: the same search under any load
    assert big["stats"]["search"] == "cp-sat+lns"
    assert validate_award(doc, big) == []
    vehicles, cents = big["awarded_quantity"], to_cents(big["total_price"])
    assert vehicles <= best_vehicles <= big["stats"]["bound_quantity"]
    # The price bound holds for every award with at least as many vehicles as this one.
    assert vehicles < best_vehicles or to_cents(big["stats"]["bound_price"]) <= best_cents <= cents
