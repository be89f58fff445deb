"""The award is the lexicographic optimum: checked against exhaustive enumeration on tiny rounds."""

from __future__ import annotations

import random

import pytest

from solver.award import award, validate_award
from solver.money import to_cents
from tests.solver.award_helpers import brute_force, tiny_round

SEEDS = range(120)


def _chunks(n: int) -> list[range]:
    step = len(SEEDS) // n
    return [range(i * step, (i + 1) * step) for i in range(n)]


@pytest.mark.parametrize("seeds", _chunks(4), ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
def test_award_equals_brute_force(seeds: range) -> None:
    for seed in seeds:
        doc = tiny_round(random.Random(seed))
        result = award(doc, time_limit=20, work_limit=20)
        assert validate_award(doc, result) == [], seed
        best = brute_force(doc)
        got = (result["awarded_quantity"], to_cents(result["total_price"]))
        assert got == best, f"seed {seed}: {doc['rules']} got {got}, brute force {best}"
        assert result["status"] == "OPTIMAL"
        assert result["stats"]["bound_quantity"] == got[0]
        assert to_cents(result["stats"]["bound_price"]) == got[1]


@pytest.mark.parametrize("seeds", [range(0, 60)], ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
def test_greedy_fallback_is_valid_and_bounds_hold(seeds: range) -> None:
    for seed in seeds:
        doc = tiny_round(random.Random(seed))
        result = award(doc, exact=False)
        assert validate_award(doc, result) == [], seed
        best = brute_force(doc)
        assert result["awarded_quantity"] <= best[0] <= result["stats"]["bound_quantity"]
        if result["awarded_quantity"] == best[0]:
            assert to_cents(result["stats"]["bound_price"]) <= best[1] <= to_cents(result["total_price"])
