"""An independent HiGHS model (highspy, written here) proves the same objective triple on a few hundred lines."""

from __future__ import annotations

import pytest

from bench.pooling_instances import generate
from tests.solver.test_pooling_support import reference_mip, solve_checked, triple


@pytest.mark.slow
@pytest.mark.parametrize(("lines", "seed"), [(300, 3), (400, 11)])
def test_independent_mip_proves_the_same_optimum(lines: int, seed: int) -> None:
    doc = generate(lines, seed=seed)
    result = solve_checked(doc, time_limit=60)
    expected, proven = reference_mip(doc)
    assert proven
    assert result["status"] == "OPTIMAL"
    assert triple(result) == expected
    assert result["stats"]["bound"] == expected[0]


@pytest.mark.slow
def test_bounds_stay_true_when_time_runs_out() -> None:
    doc = generate(300, seed=3)
    expected, proven = reference_mip(doc)
    assert proven
    for limit in (0.3, 1.0, 2.0):
        r = solve_checked(doc, time_limit=limit)
        st = r["stats"]
        assert st["bound"] >= expected[0], limit  # a proven bound never cuts off the optimum
        if st["pooled_quantity"] == expected[0]:
            assert st["lots_bound"] <= expected[1], limit
        if r["status"] == "OPTIMAL":
            assert triple(r) == expected, limit
