"""Exact at any scale of prices (issue 17): where vehicles x W would overflow CP-SAT's 64-bit
objective, the award solves most vehicles, then the lowest price, one after the other, and
stays exact (it used to skip the exact search silently and return the greedy award)."""

from __future__ import annotations

import copy
import random
from decimal import Decimal
from typing import Any

import pytest

from bench.award_instances import make_round
from solver.award import award, validate_award
from solver.award import cpsat as cpsat_module
from solver.award.cpsat import AwardModel
from solver.award.instance import parse
from solver.award.prep import prepare
from solver.money import to_cents
from tests.solver.award_helpers import brute_force, tiny_round


def scaled(doc: dict[str, Any], *, prices: int = 1, quantities: int = 1) -> dict[str, Any]:
    """The same round with every price x `prices` and every quantity x `quantities`."""
    d = copy.deepcopy(doc)
    for lot in d["lots"]:
        for line in lot["demand"]:
            line["max_unit_price"] = Decimal(str(line["max_unit_price"])) * prices
            line["quantity"] *= quantities
    for b in d["bids"]:
        b["min_quantity"] *= quantities
        b["max_quantity"] *= quantities
        for t in b["tiers"]:
            t["unit_price"] = Decimal(str(t["unit_price"])) * prices
            t["min_quantity"] *= quantities
    for p in d.get("packages", []):
        for it in p["items"]:
            it["unit_price"] = Decimal(str(it["unit_price"])) * prices
            it["quantity"] *= quantities
    for s in d["suppliers"]:
        s["capacity"] *= quantities
    return d


def test_idr_like_prices_are_solved_exactly_in_two_phases() -> None:
    # Prices of ~2 x 10^10 currency units (2 x 10^12 minor units): vehicles x W is ~10^20.
    base = scaled(make_round(5, 4, 24, seed=3), quantities=10)
    for s in base["suppliers"]:
        s["capacity"] //= 2  # short capacity: not every line can be served, so vehicles are a real phase
    big = scaled(base, prices=100_000)
    inst = parse(big)
    model = AwardModel(inst, prepare(inst))
    assert model.price_fits and not model.lex_fits, "the case must need the two-phase solve"

    small_r = award(base, time_limit=120)
    big_r = award(big, time_limit=120)
    assert validate_award(big, big_r) == []
    assert small_r["status"] == big_r["status"] == "OPTIMAL"
    assert big_r["awarded_quantity"] == small_r["awarded_quantity"]
    assert to_cents(big_r["total_price"]) == 100_000 * to_cents(small_r["total_price"])
    assert to_cents(big_r["stats"]["bound_price"]) == to_cents(big_r["total_price"])


@pytest.fixture
def two_phases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every model solved as if one objective could not hold both criteria."""
    init = AwardModel.__init__

    def patched(self: AwardModel, *args: Any, **kw: Any) -> None:
        init(self, *args, **kw)
        self.lex_fits = False

    monkeypatch.setattr(cpsat_module.AwardModel, "__init__", patched)


@pytest.mark.usefixtures("two_phases")
def test_two_phase_solve_equals_brute_force() -> None:
    for seed in range(40):
        doc = tiny_round(random.Random(1000 + seed))
        result = award(doc, time_limit=20, work_limit=20)
        assert validate_award(doc, result) == [], seed
        got = (result["awarded_quantity"], to_cents(result["total_price"]))
        assert got == brute_force(doc), seed
        assert result["status"] == "OPTIMAL"
        assert (result["stats"]["bound_quantity"], to_cents(result["stats"]["bound_price"])) == got
