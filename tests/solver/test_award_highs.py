"""The award agrees to the cent with an independent HiGHS MIP (tests/solver/award_helpers.py).

Rounds come from the benchmark generator (lots of 2-9 lines, binding capacities, packages,
all-units tiers): small ones, and one 200-bid round (20 lots, 10 OEMs) for each line service,
the size of the issue's acceptance check. Those two take about 5 and 20 s for the award and
15-25 s for the reference on this machine; more 200-bid rounds are in bench/results/award.md.
"""

from __future__ import annotations

import pytest

from bench.award_instances import make_round
from solver.award import award, validate_award
from solver.money import to_cents
from tests.solver.award_helpers import highs_award

CASES = [
    pytest.param((8, 4, 30, 2, "whole"), id="8lots-30bids-whole"),
    pytest.param((10, 5, 40, 2, "whole"), id="10lots-40bids-whole"),
    pytest.param((8, 4, 30, 1, "split"), id="8lots-30bids-split"),
    pytest.param((20, 10, 200, 2, "whole"), id="20lots-200bids-whole"),
    pytest.param((20, 10, 200, 2, "split"), id="20lots-200bids-split"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_award_equals_highs_to_the_cent(case: tuple[int, int, int, int, str]) -> None:
    n_lots, n_oems, n_bids, seed, service = case
    doc = make_round(n_lots, n_oems, n_bids, seed=seed, line_service=service)
    # Ours on work, not the clock (the same search under any load); the clocks are only safety
    # caps, generous so a loaded machine does not turn a proof into a timeout.
    ours = award(doc, time_limit=900, work_limit=30)  # the default work limit, stated
    assert validate_award(doc, ours) == []
    ref = highs_award(doc, time_limit=900)
    assert ref["optimal"], "the reference must prove its optimum for the comparison to mean something"
    assert ours["status"] == "OPTIMAL"
    assert (ours["awarded_quantity"], to_cents(ours["total_price"])) == (ref["vehicles"], ref["cents"])
