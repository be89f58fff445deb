"""How the pooling's budget is shared over independent components (solver/pooling/solve.py)."""

from __future__ import annotations

from bench.pooling_instances import generate
from tests.solver.test_pooling_support import solve_checked


def test_a_tight_work_budget_still_proves_the_small_components() -> None:
    # 1,000 lines form 53 components, most of them a few (class, slot) pairs. A share by model
    # size alone gave each small one too little work to prove anything (8 of 53 proven); an
    # equal share of what is left at the least proves 41, and the bound comes closer.
    doc = generate(1000, seed=1)
    st = solve_checked(doc, time_limit=120, work_limit=0.05)["stats"]
    assert st["components"] == 53
    assert st["components_proven"] >= 35
    assert st["bound"] - st["pooled_quantity"] <= 60  # 163 with the share by size alone
