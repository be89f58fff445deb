"""The award's default work limit (solver.award.default_work_limit): derived from the round only,
so a re-run gives the same bytes, and sized by the round's offers, so that package-heavy rounds
(more allocation variables for as many offers, each unit of work no cheaper) end on work too."""

from __future__ import annotations

from bench.award_instances import make_round
from solver.award import DEFAULT_WORK_EXACT, DEFAULT_WORK_LNS_MAX, MAX_GLOBAL_PRICE_VARS, default_work_limit
from solver.award.cpsat import model_size
from solver.award.instance import parse
from solver.award.prep import prepare


def _size_and_offers(doc: dict) -> tuple[int, int]:
    inst = parse(doc)
    return model_size(inst, prepare(inst)), len(inst.bids) + len(inst.packages)


def test_a_package_heavy_round_gets_the_work_of_a_plain_round_with_as_many_offers() -> None:
    plain = _size_and_offers(make_round(16, 6, 90, seed=5))
    heavy = _size_and_offers(make_round(16, 6, 90, seed=5, package_share=0.6, package_lots=(2, 8), bundles="arbitrary"))
    assert plain[1] == heavy[1] and heavy[0] > plain[0]  # as many offers, more variables
    # as if both were large rounds (the neighbourhood search's budget)
    big = MAX_GLOBAL_PRICE_VARS + 1
    assert default_work_limit(big + plain[0], plain[1]) == default_work_limit(big + heavy[0], heavy[1])


def test_the_default_work_grows_with_the_offers_up_to_its_ceiling_and_is_stated_rounded() -> None:
    big = MAX_GLOBAL_PRICE_VARS + 1
    assert default_work_limit(MAX_GLOBAL_PRICE_VARS, 2_000) == DEFAULT_WORK_EXACT  # the whole-round model
    two_thousand = default_work_limit(big, 2_000, quarterly=True)
    assert default_work_limit(big, 1_000, True) < two_thousand < default_work_limit(big, 10_000) == DEFAULT_WORK_LNS_MAX
    assert default_work_limit(big, 1_000) < default_work_limit(big, 2_000)
    assert default_work_limit(big, 25_000) == DEFAULT_WORK_LNS_MAX
    # stated as the output's stats.limits.work_limit: hundredths, no binary tail (16.044 -> 16.04)
    assert default_work_limit(big, 2_011) == round(default_work_limit(big, 2_011), 2)
    assert len(repr(default_work_limit(big, 2_011)).split(".")[1]) <= 2


def test_rounds_of_up_to_2000_offers_without_quarterly_capacities_get_24_units() -> None:
    # their search is the short side of the price gap and a unit costs them less CPU (MID_FACTOR)
    big = MAX_GLOBAL_PRICE_VARS + 1
    assert default_work_limit(big, 2_000) == 24.0  # the 2,000-bid benchmark rounds: 14 before
    assert default_work_limit(big, 2_000, quarterly=True) == 14.0  # a unit costs them more: as before
    assert default_work_limit(big, 2_001) == 14.0  # larger rounds: as before
    assert default_work_limit(big, 10_000) == default_work_limit(big, 10_000, quarterly=True) == DEFAULT_WORK_LNS_MAX
