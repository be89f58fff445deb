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
