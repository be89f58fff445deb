"""Reading the award input: exact cents and every problem named by its JSON path (the parse
builds these paths only when a problem is found, so each kind is checked here)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from solver.award.instance import parse
from solver.errors import InvalidInput
from solver.money import to_cents
from tests.solver.award_helpers import contract_example


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (0, 0),
        (250000, 25_000_000),
        (Decimal("240000.5"), 24_000_050),
        (Decimal("185000.25"), 18_500_025),
        (Decimal("185000.250"), 18_500_025),
        (Decimal("1E+3"), 100_000),
        (Decimal("123456789012345678.99"), 12_345_678_901_234_567_899),
        (10**15, 10**17),
        (0.1, 10),
        (Decimal("0.001"), None),
        (Decimal("NaN"), None),
        (Decimal("Infinity"), None),
        (True, None),
        ("100", None),
    ],
)
def test_prices_are_read_as_exact_cents(value: object, cents: int | None) -> None:
    assert to_cents(value) == cents


def _problems(doc: dict) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as e:
        parse(doc)
    return [(p.path, p.message) for p in e.value.problems]


def test_a_price_with_more_than_two_decimals_is_named_by_its_path() -> None:
    doc = copy.deepcopy(contract_example())
    doc["lots"][0]["demand"][1]["max_unit_price"] = Decimal("240000.505")
    doc["bids"][0]["tiers"][1]["unit_price"] = Decimal("235000.001")
    doc["packages"][0]["items"][1]["unit_price"] = Decimal("180000.125")
    assert [p for p, _ in _problems(doc)] == [
        "bids[0].tiers[1].unit_price",
        "lots[0].demand[1].max_unit_price",
        "packages[0].items[1].unit_price",
    ]


def test_a_duplicate_id_names_both_places() -> None:
    doc = copy.deepcopy(contract_example())
    doc["packages"][0]["id"] = "bid-2"
    doc["lots"][1]["demand"][0]["id"] = "d-001"
    doc["suppliers"][2]["id"] = "oem-1"
    doc["bids"][1]["supplier"] = "oem-2"
    assert _problems(doc) == [
        ("lots[0].demand[0].excluded_suppliers[0]", "unknown supplier 'oem-3'"),
        ("lots[1].demand[0].id", "duplicate demand line id 'd-001' (first at lots[0].demand[0].id)"),
        ("packages[0].id", "duplicate source id 'bid-2' (first at bids[1].id)"),
        ("suppliers[2].id", "duplicate supplier id 'oem-1' (first at suppliers[0].id)"),
    ]
