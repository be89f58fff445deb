"""The bid rules on their own: no app, no database, objects built in memory (issue 15's unit layer)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.models import Lot, Round, Segment, VehicleModel
from marketplace.services.bidding.rules import check_bid, tier_count
from marketplace.services.values import NumberFormat

BOX = Segment(id="md_box_truck", name="Box truck (class 6-7)")
BUS = Segment(id="transit_bus", name="Transit bus (9-12 m)")


def lot(**changes) -> Lot:
    values = dict(code="lot-3", segment_id=BOX.id, segment=BOX, quantity=40, min_range_km=200, min_payload_kg=0,
                  charging="CCS1")  # fmt: skip
    return Lot(**{**values, **changes})


def model(**changes) -> VehicleModel:
    values = dict(code="eb-200", name="E-Box 200", segment_id=BOX.id, segment=BOX, range_km=250, payload_kg=5000,
                  charging=["CCS1"])  # fmt: skip
    return VehicleModel(**{**values, **changes})


def bid(**changes) -> dict[str, str]:
    values = {"model_code": "eb-200", "min_quantity": "10", "max_quantity": "40",
              "tier1_min": "10", "tier1_price": "250000", "tier2_min": "30", "tier2_price": "240000"}  # fmt: skip
    return {**values, **changes}


def check(values, the_lot=None, models=None, fmt=NumberFormat.POINT):
    return check_bid(values, the_lot or lot(), Round(currency="USD"), models or {"eb-200": model()}, fmt)


def test_a_good_bid_comes_back_with_its_tiers_as_exact_decimals():
    checked, errors = check(bid())
    assert errors == {}
    assert (checked.min_quantity, checked.max_quantity) == (10, 40)
    assert checked.tiers == [(10, Decimal("250000")), (30, Decimal("240000"))]


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"model_code": ""}, "model_code", "choose a model"),
        ({"model_code": "nope"}, "model_code", "not a model of your catalog"),
        ({"min_quantity": "41"}, "min_quantity", "at most the lot's 40 vehicles"),
        ({"max_quantity": "5"}, "max_quantity", "at least the minimum quantity (10)"),
        ({"tier1_min": "12"}, "tier1_min", "must start at the bid's minimum quantity (10)"),
        ({"tier2_min": "10"}, "tier2_min", "tier minimums strictly increase"),
        ({"tier2_min": "41", "max_quantity": "40"}, "tier2_min", "at most"),
        ({"tier1_min": "", "tier1_price": ""}, "tier2_min", "follows an empty tier"),
        ({"tier2_price": "240000,50"}, "tier2_price", ""),  # a decimal comma is never read as 24,000,050
    ],
)
def test_each_wrong_field_is_named_and_nothing_is_returned(changes, field, words):
    checked, errors = check(bid(**changes))
    assert checked is None and field in errors and words in errors[field]


def test_a_decimal_comma_is_read_only_when_the_organization_types_numbers_that_way():
    checked, errors = check(bid(tier2_price="240.000,50"), fmt=NumberFormat.COMMA)
    assert errors == {} and checked.tiers[1] == (30, Decimal("240000.50"))


def test_a_model_that_does_not_meet_the_lot_is_refused_with_what_it_lacks():
    short = model(range_km=150, charging=["MCS"])
    _, errors = check(bid(), models={"eb-200": short})
    assert "range of 150 km is below the lot's minimum of 200 km" in errors["model_code"]
    assert "it charges with MCS, the lot needs CCS1" in errors["model_code"]
    _, errors = check(bid(), models={"eb-200": model(segment_id=BUS.id, segment=BUS)})
    assert "it is a transit bus, the lot is for box truck" in errors["model_code"]


def test_no_tier_at_all_asks_for_one_and_tier_count_reads_the_highest_pair():
    _, errors = check({k: v for k, v in bid().items() if not k.startswith("tier")})
    assert errors["tier1_min"].startswith("give at least one tier")
    assert tier_count({"tier1_min": 1, "tier7_price": 2, "tierx_min": 3, "tier3": 4}) == 7
