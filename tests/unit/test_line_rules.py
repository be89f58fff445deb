"""A demand line's rules on their own: no app, no database, the round's scope built in memory."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.models import Region, Round
from marketplace.services.demand.rules import check_line
from marketplace.services.demand.scope import Scope
from marketplace.services.values import NumberFormat

CALIFORNIA = Region(id="US-CA", level="subdivision", name="California")


def scope(fmt: NumberFormat = NumberFormat.POINT) -> Scope:
    return Scope(
        rnd=Round(currency="USD", regions=[CALIFORNIA]),
        segments={"transit_bus": "transit_bus", "transit bus": "transit_bus"},
        segment_names={"transit_bus": "Transit bus"},
        regions={"us-ca": "US-CA", "california": "US-CA", "us-ca-los-angeles": "us-ca-los-angeles"},
        region_names={"US-CA": "California", "us-ca-los-angeles": "Los Angeles"},
        this_quarter="2027Q1",
        number_format=fmt,
    )


def line(**changes) -> dict[str, str]:
    values = {"segment": "Transit bus", "region": "us-ca-los-angeles", "quantity": "12",
              "earliest_quarter": "2027Q2", "latest_quarter": "2027Q4", "min_range_km": "",
              "min_payload_kg": "0", "charging": "ccs1", "max_unit_price": "850000.50",
              "splittable": "yes", "note": "  Depot 3 "}  # fmt: skip
    return {**values, **changes}


def test_a_good_line_is_read_by_name_with_defaults_and_exact_money():
    checked, errors = check_line(line(), scope())
    assert errors == {}
    assert (checked.segment_id, checked.region_id, checked.quantity) == ("transit_bus", "us-ca-los-angeles", 12)
    assert (checked.min_range_km, checked.charging, checked.splittable) == (0, ["CCS1"], True)
    assert checked.max_unit_price == Decimal("850000.50") and checked.note == "Depot 3"


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"segment": "refuse truck"}, "segment", "not a segment of this round (use one of: transit_bus)"),
        ({"region": "Texas"}, "region", "not a region within this round's scope (California)"),
        ({"quantity": "0"}, "quantity", "whole number above 0"),
        ({"quantity": "12.5"}, "quantity", ""),
        ({"earliest_quarter": "2026Q4"}, "earliest_quarter", "2026Q4 is in the past (this is 2027Q1)"),
        ({"latest_quarter": "2027Q1", "earliest_quarter": "2027Q3"}, "latest_quarter", "not be before"),
        ({"charging": "tesla"}, "charging", "is not a charging standard"),
        ({"charging": ""}, "charging", "at least one charging standard"),
        ({"max_unit_price": "185000,50"}, "max_unit_price", ""),  # never read as 18,500,050
        ({"splittable": "maybe"}, "splittable", "answer yes or no"),
        ({"note": "a\x00b"}, "note", "NUL"),
    ],
)
def test_each_wrong_field_is_named_and_no_line_comes_back(changes, field, words):
    checked, errors = check_line(line(**changes), scope())
    assert checked is None and field in errors and words in errors[field]


def test_every_wrong_field_is_reported_at_once():
    _, errors = check_line(line(segment="", region="", quantity="x", max_unit_price=""), scope())
    assert {"segment", "region", "quantity", "max_unit_price"} <= set(errors)


def test_a_fleet_that_types_decimal_commas_gets_its_price_as_typed():
    checked, errors = check_line(line(max_unit_price="850.000,50"), scope(NumberFormat.COMMA))
    assert errors == {} and checked.max_unit_price == Decimal("850000.50")
