"""Package bids in the XLSX bid sheet: downloaded with their lots, items, prices and quarters, uploaded with the
bids in one transaction, every problem named by sheet, row and column, and nothing saved when there is one."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.models import BidRevision, PackageRevision
from marketplace.services import bid_sheet, bidding
from marketplace.services.bid_sheet import SheetRefused
from tests.bidding_helpers import bid_book, package_values
from tests.factories import make_bid, make_model, make_tender

HEADER = ["package_id", "package", "lot", "model_code", "quantity", "unit_price", "quarters"]


@pytest.fixture
def packaged(world):
    """OEM A: a bid on lot-1 and the package "West + Texas" (lot-1: 10 at 228,000; lot-2: 25 at 219,999.99),
    delivering in 2027Q2-2027Q3. OEM B: a package of its own (sealed: never in A's sheet)."""
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization, code="eroute_26")
    make_bid(world.oem, lots[0], model)
    package = bidding.submit_package(
        rnd.id, package_values(lots, model) | {"quarters": "2027Q2-2027Q3"}, world.oem
    ).package
    theirs = make_model(world.other_oem.organization)
    make_bid(world.other_oem, lots[0], theirs)
    bidding.submit_package(rnd.id, package_values(lots, theirs, name="Theirs"), world.other_oem)
    return rnd, lots, model, package


def sheets(data: bytes) -> tuple[list[list], list[list]]:
    wb = load_workbook(io.BytesIO(data))
    return (
        [list(r) for r in wb["Bids"].iter_rows(values_only=True)],
        [list(r) for r in wb["Packages"].iter_rows(values_only=True)],
    )


def counts() -> tuple[int, int]:
    return (
        db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one(),
        db.session.execute(sa.select(sa.func.count(PackageRevision.id))).scalar_one(),
    )


def items_of(rnd, oem) -> dict[str, tuple[list[tuple[str, int, Decimal]], list[str] | None]]:
    """Each live package of the OEM: its items (lot, quantity, unit price) and its quarters, by name."""
    db.session.expire_all()
    return {
        p.name: (
            sorted((i.lot.code, i.quantity, Decimal(i.unit_price)) for i in p.current.items),
            p.current.quarters,
        )
        for p in bidding.packages_of(rnd, oem)
        if p.current is not None and not p.current.withdrawn
    }


def test_the_sheet_lists_the_oems_own_packages_one_row_per_lot(world, packaged):
    rnd, _, _, package = packaged
    _, packages = sheets(bid_sheet.build_sheet(rnd, world.oem))
    assert packages == [
        HEADER,
        [package.public_id, "West + Texas", "lot-1", "eroute_26", 10, 228000, "2027Q2–2027Q3"],
        [package.public_id, "West + Texas", "lot-2", "eroute_26", 25, 219999.99, "2027Q2–2027Q3"],
    ]  # another OEM's package is sealed: not in this sheet


def test_round_trip_revises_changed_packages_adds_new_ones_and_skips_unchanged_ones(world, packaged):
    rnd, _, _, _ = packaged
    bids, packages = sheets(bid_sheet.build_sheet(rnd, world.oem))
    before = counts()
    # The sheet as downloaded changes nothing.
    result = bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(bids, packages), world.oem)
    assert (result.packages_saved, result.packages_unchanged) == ([], ["West + Texas"])
    assert counts() == before
    # A new price on one item, other quarters, and a new package (blank id, its rows joined by name).
    packages[2][5] = "219,500.00"
    packages[1][6] = packages[2][6] = "2027Q3"
    packages += [[None, "Texas first", "lot-2", "eroute_26", 20, 221000, None],
                 [None, "Texas first", "lot-1", "eroute_26", 12, 229000.5, None]]  # fmt: skip
    result = bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(bids, packages), world.oem)
    assert result.packages_saved == ["West + Texas", "Texas first"] and result.saved == []
    assert items_of(rnd, world.oem) == {
        "West + Texas": ([("lot-1", 10, Decimal("228000")), ("lot-2", 25, Decimal("219500"))], ["2027Q3"]),
        "Texas first": ([("lot-1", 12, Decimal("229000.50")), ("lot-2", 20, Decimal("221000"))], None),
    }
    assert counts() == (before[0], before[1] + 2)
    assert items_of(rnd, world.other_oem) == {
        "Theirs": ([("lot-1", 10, Decimal("228000")), ("lot-2", 25, Decimal("219999.99"))], None)
    }


def test_a_sheet_without_the_packages_sheet_leaves_packages_as_they_are(world, packaged):
    rnd, _, _, _ = packaged
    bids, _ = sheets(bid_sheet.build_sheet(rnd, world.oem))
    bids[1][bids[0].index("tier1_price")] = 229000
    before = items_of(rnd, world.oem)
    result = bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(bids, None), world.oem)
    assert result.saved == ["lot-1"] and result.packages_saved == []
    assert items_of(rnd, world.oem) == before


def test_every_package_problem_is_named_by_sheet_row_and_column_and_nothing_is_saved(world, packaged):
    rnd, _, _, package = packaged
    bids, packages = sheets(bid_sheet.build_sheet(rnd, world.oem))
    bids[1][bids[0].index("tier1_price")] = 229000  # a valid change of the bid: not saved either
    packages[2][4] = "twenty"  # wrong type
    packages[2][6] = "2027Q2"  # differs from row 2's quarters
    packages += [
        ["NoSuchPackage000", "X", "lot-1", "eroute_26", 5, 1000, None],  # not one of this OEM's packages
        [None, "West + Texas", "lot-1", "eroute_26", 5, 1000, None],  # an existing name without its id
        [None, "Alone", "lot-2", "eroute_26", 5, 1000, None],  # one lot only
        [None, "Twice", "lot-1", "eroute_26", 5, 1000, None],
        [None, "Twice", "lot-1", "eroute_26", 6, 1000, None],  # the same lot again
        [None, "Twice", "lot-9", "eroute_26", 6, 1000, None],  # no such lot
        [None, "Empty", "lot-1", None, None, None, None],  # a lot without its item
        [None, "Cheap", "lot-1", "eroute_26", 5, "1e5", None],
        [None, "Cheap", "lot-2", "nope", 5, 1000, None],
    ]
    before = counts()
    with pytest.raises(SheetRefused) as refused:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(bids, packages), world.oem)
    problems = refused.value.problems
    assert refused.value.message.startswith("Nothing was saved")
    expected = [
        "Packages, row 3, quarters: “2027Q2” differs from row 2 (“2027Q2–2027Q3”)",
        "Packages, row 4, package_id: “NoSuchPackage000” is not one of your packages in this round",
        f"Packages, row 5, package_id: “West + Texas” is the name of your package {package.public_id}",
        "Packages, row 6, lot: package “Alone” has one lot: a package covers at least 2 lots",
        "Packages, row 8, lot: lot-1 is in this package already (row 7)",
        "Packages, row 9, lot: “lot-9” is not a lot of this round's tender",
        "Packages, row 10, model_code: give model_code, quantity and unit_price for lot-1",
        "Packages, row 11, unit_price: ",
        "Packages, row 12, model_code: “nope” is not a model of your catalog",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, problems)
    assert "1e5" in next(p for p in problems if p.startswith("Packages, row 11, unit_price"))
    assert len(problems) == len(expected)
    assert counts() == before
    # The wrong type on row 3 is found once the quarters agree.
    packages[2][6] = packages[1][6]
    with pytest.raises(SheetRefused) as refused:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(bids, packages[:3]), world.oem)
    assert [p[:31] for p in refused.value.problems] == ["Packages, row 3, quantity: must"]
    assert counts() == before


def test_a_formula_or_a_value_outside_the_columns_is_refused(world, packaged):
    rnd, _, _, _ = packaged
    bids, packages = sheets(bid_sheet.build_sheet(rnd, world.oem))
    packages[1].append("stray")
    before = counts()
    with pytest.raises(SheetRefused) as refused:
        bid_sheet.upload_sheet(
            rnd.id, "bids.xlsx", bid_book(bids, packages, formula=("Packages", 3, 6, "=2*114000")), world.oem
        )
    assert refused.value.problems == [
        "Packages, row 2, column H: a value outside the sheet's columns",
        "Packages, row 3, unit_price: is a formula (=2*114000); type the value itself",
    ]
    with pytest.raises(SheetRefused) as refused:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(bids, [HEADER[:-1], *packages[1:]]), world.oem)
    assert refused.value.problems[0].startswith("Packages, row 1: the columns must be package_id, package, lot")
    assert counts() == before


def test_packages_upload_through_the_page(world, packaged, login):
    rnd, _, _, _ = packaged
    bids, packages = sheets(bid_sheet.build_sheet(rnd, world.oem))
    client = login(world.oem)
    packages[1][4] = 11
    page = client.post(
        f"/oem/rounds/{rnd.id}/bid-sheet",
        data={"sheet": (io.BytesIO(bid_book(bids, packages)), "bids.xlsx")},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Packages saved: new revisions of “West + Texas”." in page
    packages[1][4] = 0
    answer = client.post(
        f"/oem/rounds/{rnd.id}/bid-sheet", data={"sheet": (io.BytesIO(bid_book(bids, packages)), "bids.xlsx")}
    )
    assert answer.status_code == 400
    assert "Packages, row 2, quantity: must be a whole number of vehicles, at least 1" in answer.get_data(as_text=True)
    assert items_of(rnd, world.oem)["West + Texas"][0][0] == ("lot-1", 11, Decimal("228000"))
