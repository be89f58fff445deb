"""The XLSX bid sheet: download prefilled, upload all rows or none, row-level messages, bad files refused."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.models import BidRevision
from marketplace.services import bid_sheet, bidding, quarter_capacity
from marketplace.services.bid_sheet import SheetRefused
from tests.bidding_helpers import bid_book
from tests.factories import make_bid, make_model, make_tender
from tests.upload_bombs import merged, with_sheet


@pytest.fixture
def tender(world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization, name="eRoute 26", code="eroute_26")
    return rnd, lots, model


def read(data: bytes) -> list[list]:
    ws = load_workbook(io.BytesIO(data))["Bids"]
    return [list(row) for row in ws.iter_rows(values_only=True)]


def revisions() -> int:
    return db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one()


def test_download_lists_the_lots_and_prefills_current_bids(world, tender):
    rnd, lots, model = tender
    make_bid(world.oem, lots[0], model, tiers=((10, "230000"), (20, "221000.50")))
    theirs = make_model(world.other_oem.organization)
    make_bid(world.other_oem, lots[1], theirs)  # sealed: never in this OEM's sheet
    rows = read(bid_sheet.build_sheet(rnd, world.oem))
    header = rows[0]
    assert header[: len(bid_sheet.INFO_COLUMNS) + 3] == [*bid_sheet.INFO_COLUMNS, *bid_sheet.BID_COLUMNS]
    assert header[12:] == [*bid_sheet.tier_columns(3), "quarters"]
    lot1 = dict(zip(header, rows[1], strict=True))
    assert lot1["lot"] == "lot-1" and lot1["lot_quantity"] == 40 and lot1["fleets"] == 1
    assert (lot1["model_code"], lot1["min_quantity"], lot1["max_quantity"]) == ("eroute_26", 10, 40)
    assert (lot1["tier1_min"], lot1["tier1_price"], lot1["tier2_min"], lot1["tier2_price"]) == (
        10,
        230000,
        20,
        221000.5,
    )
    lot2 = dict(zip(header, rows[2], strict=True))
    assert lot2["lot"] == "lot-2" and lot2["model_code"] is None
    assert len(rows) == 3


def test_round_trip_saves_changed_rows_as_revisions_and_skips_unchanged_ones(world, tender):
    rnd, lots, model = tender
    make_bid(world.oem, lots[0], model, tiers=((10, "230000"), (20, "221000.50")))
    rows = read(bid_sheet.build_sheet(rnd, world.oem))
    header = rows[0]
    rows[2][header.index("model_code") : header.index("tier2_min")] = ["eroute_26", 5, 25, 5, "219999.99"]
    result = bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows), world.oem)
    assert result.saved == ["lot-2"] and result.unchanged == ["lot-1"]
    bids = bidding.bids_of(rnd, world.oem)
    assert [(t.min_quantity, str(t.unit_price)) for t in bids[lots[1].id].current.tiers] == [(5, "219999.99")]
    assert bids[lots[0].id].current.number == 1

    # A changed price makes revision 2; the same sheet again changes nothing.
    rows[1][header.index("tier2_price")] = 220500
    assert bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows), world.oem).saved == ["lot-1"]
    before = revisions()
    again = bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows), world.oem)
    assert again.saved == [] and sorted(again.unchanged) == ["lot-1", "lot-2"]
    assert revisions() == before == 3


def test_every_row_problem_is_listed_and_nothing_is_saved(world, tender):
    rnd, *_ = tender
    bidding.set_capacity(rnd.id, 100, world.oem)
    rows = read(bid_sheet.build_sheet(rnd, world.oem))
    header = rows[0]
    rows[1][9:16] = ["eroute_26", 10, 40, 10, 230000, 20, 221000.505]
    rows[2][9:14] = ["nope", 0, 25, 0, "abc"]
    with pytest.raises(SheetRefused) as exc:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows), world.oem)
    assert exc.value.message == "Nothing was saved: the sheet has 5 problems. Fix them and upload it again."
    assert exc.value.problems == [
        "row 2, tier2_price: more than 2 decimals: prices are exact to the cent",
        "row 3, model_code: “nope” is not a model of your catalog that can be offered (unknown or retired)",
        "row 3, min_quantity: must be a whole number of vehicles, at least 1",
        "row 3, tier1_min: must be the whole number of vehicles from which this tier's price applies",
        "row 3, tier1_price: must be an amount in USD above 0, such as 185000 or 185000.50",
    ]
    assert header.index("tier2_price") == 15
    assert revisions() == 0


def test_lot_column_problems(world, tender):
    rnd, *_ = tender
    bidding.set_capacity(rnd.id, 100, world.oem)
    rows = read(bid_sheet.build_sheet(rnd, world.oem))
    bid = ["eroute_26", 10, 20, 10, 230000]
    rows[1][9:14] = bid
    rows.append(["lot-1", *rows[1][1:]])
    rows.append(["lot-99", *rows[2][1:9], *bid])
    rows.append(["", *rows[2][1:9], *bid])
    with pytest.raises(SheetRefused) as exc:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows), world.oem)
    assert exc.value.problems == [
        "row 4, lot: lot-1 is here again (first in row 2): one row per lot",
        "row 5, lot: “lot-99” is not a lot of this round's tender",
        "row 6, lot: give the lot code (as in the downloaded sheet)",
    ]
    assert revisions() == 0


def test_formulas_and_cells_outside_the_columns_are_refused(world, tender):
    rnd, *_ = tender
    bidding.set_capacity(rnd.id, 100, world.oem)
    rows = read(bid_sheet.build_sheet(rnd, world.oem))
    rows[1][9:14] = ["eroute_26", 10, 20, 10, 230000]
    rows[2] = [*rows[2][:19], "stray"]  # after the last column (quarters, S)
    with pytest.raises(SheetRefused) as exc:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows, formula=("Bids", 2, 14, "=1+1")), world.oem)
    assert exc.value.problems == [
        "row 2, tier1_price: is a formula (=1+1); type the value itself",
        "row 3, column T: a value outside the sheet's columns",
    ]
    assert revisions() == 0


BAD_FILES = [
    ("bids.xlsx", b"", "The file is empty: upload the bid sheet you downloaded, filled in."),
    ("bids.csv", b"lot,model_code\nlot-1,x\n", "Wrong file type: upload the .xlsx bid sheet"),
    ("bids.xlsx", "lot,model_code\n".encode("utf-16"), "Wrong file type: upload the .xlsx bid sheet"),
    ("bids.xlsx", b"PK\x03\x04 not really a zip", "This workbook cannot be read"),
    ("bids.xlsx", bid_book([]), "The sheet is empty: download the bid sheet, fill in your bids and upload it."),
    ("bids.xlsx", bid_book([[*bid_sheet.INFO_COLUMNS, *bid_sheet.BID_COLUMNS, "tier1_min", "tier1_price"]]),
     "The sheet has the column names but no lots: download the bid sheet again."),
    ("bids.xlsx", bid_book([[*bid_sheet.INFO_COLUMNS, *bid_sheet.BID_COLUMNS, "tier1_min", "tier1_price", "discount"],
                        ["lot-1"]]),
     "The columns do not match the bid sheet: unknown column discount (column O). Download the bid sheet again"),
    ("bids.xlsx", bid_book([[*bid_sheet.INFO_COLUMNS, "model_code", "max_quantity", "tier1_min", "tier1_price",
                         "tier2_min"], ["lot-1"]]),
     "The columns do not match the bid sheet: missing columns min_quantity, tier2_price."),
]  # fmt: skip


def test_bad_files_get_a_clear_message_and_save_nothing(world, tender):
    rnd, lots, model = tender
    make_bid(world.oem, lots[0], model)
    for filename, data, message in BAD_FILES:
        with pytest.raises(SheetRefused) as exc:
            bid_sheet.upload_sheet(rnd.id, filename, data, world.oem)
        assert exc.value.message.startswith(message), (filename, exc.value.message)
        db.session.rollback()
    assert revisions() == 1


def test_upload_and_download_through_the_pages(world, tender, login):
    rnd, *_ = tender
    client = login(world.oem)
    response = client.get(f"/oem/rounds/{rnd.id}/bid-sheet.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = read(response.data)
    rows[1][9:14] = ["eroute_26", 10, 20, 10, 230000.123]

    def upload(data: bytes, name: str = "bids.xlsx"):
        return client.post(f"/oem/rounds/{rnd.id}/bid-sheet", data={"sheet": (io.BytesIO(data), name)})

    # Without a capacity: refused with the reason, nothing saved.
    rows_ok = [list(r) for r in rows]
    rows_ok[1][13] = 230000
    refused = upload(bid_book(rows_ok), "bids.xlsx")
    assert refused.status_code == 302
    assert "State your capacity" in client.get(refused.location).get_data(as_text=True)
    client.post(f"/oem/rounds/{rnd.id}/capacity", data={"capacity": "90"})

    bad = upload(bid_book(rows))
    assert bad.status_code == 400
    assert "row 2, tier1_price: more than 2 decimals: prices are exact to the cent" in bad.get_data(as_text=True)
    assert revisions() == 0
    ok = upload(bid_book(rows_ok))
    assert ok.status_code == 302
    assert "Bid sheet saved: new revisions on lot-1." in client.get(ok.location).get_data(as_text=True)
    assert revisions() == 1

    huge = upload(b"PK\x03\x04" + b"0" * (21 * 1024 * 1024))  # above the site's 20 MB
    assert huge.status_code == 413 and "File too large" in huge.get_data(as_text=True)
    assert revisions() == 1


def test_a_number_cell_of_thousands_of_digits_names_its_row(world, tender):
    rnd, *_ = tender
    # Another program may write a number cell this long; openpyxl cannot turn it into an int.
    long_cell = b'<c r="Z1"><v>' + b"9" * 5000 + b"</v></c></row>"
    data = with_sheet(bid_sheet.build_sheet(rnd, world.oem), lambda xml: xml.replace(b"</row>", long_cell, 1))
    with pytest.raises(SheetRefused) as exc:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", data, world.oem)
    assert exc.value.message.startswith("Row 1 holds a number of thousands of digits"), exc.value.message
    assert revisions() == 0


def test_merged_cells_are_refused_and_a_hidden_first_sheet_is_not_read(world, tender):
    rnd, lots, model = tender
    make_bid(world.oem, lots[0], model)
    sheet = bid_sheet.build_sheet(rnd, world.oem)
    with pytest.raises(SheetRefused) as exc:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", with_sheet(sheet, merged(b"E2:F2")), world.oem)
    assert exc.value.message.startswith("The sheet has merged cells (E2:F2): unmerge them"), exc.value.message
    assert revisions() == 1

    rows = read(sheet)
    rows[1][rows[0].index("tier1_price")] = 229000
    book = load_workbook(io.BytesIO(bid_book(rows)))
    book.active.title = "My bids"  # renamed, behind a hidden sheet of lists
    lists = book.create_sheet("Lists", 0)
    lists.append(["not", "the", "bids"])
    lists.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    assert bid_sheet.upload_sheet(rnd.id, "bids.xlsx", out.getvalue(), world.oem).saved == ["lot-1"]


# ---------------------------------------------------------------- delivery quarters


def read_capacity(data: bytes) -> list[list]:
    return [list(r) for r in load_workbook(io.BytesIO(data))[bid_sheet.CAPACITY_SHEET].iter_rows(values_only=True)]


def quarter_rows(rnd, oem) -> list[tuple]:
    return [(r.quarter, r.segment_id, r.capacity) for r in quarter_capacity.rows_of(rnd, oem)]


@pytest.fixture
def ramp(world, tender):
    """OEM A bids on lot-1 delivering in 2027Q2-2027Q3, total 60, 2027Q2 <= 30, box trucks in 2027Q3 <= 25."""
    rnd, lots, model = tender
    bidding.set_capacity(rnd.id, 60, world.oem)
    values = {"model_code": model.code, "min_quantity": 10, "max_quantity": 40, "tier1_min": 10}
    bidding.submit_bid(rnd.id, lots[0].id, values | {"tier1_price": "230000", "quarters": "2027Q2-2027Q3"}, world.oem)
    typed = {"row1_quarter": "2027Q2", "row1_capacity": "30"}
    quarter_capacity.set_rows(rnd.id, typed | {"row2_quarter": "2027Q3", "row2_segment": "md_box_truck",
                                               "row2_capacity": "25"}, world.oem)  # fmt: skip
    return rnd, lots


def test_the_sheet_carries_delivery_quarters_and_the_capacity_by_quarter(world, ramp):
    rnd, lots = ramp
    sheet = bid_sheet.build_sheet(rnd, world.oem)
    rows = read(sheet)
    header = rows[0]
    assert header[-1] == "quarters"
    assert rows[1][-1] == "2027Q2–2027Q3" and rows[2][-1] is None  # lot-2 has no bid
    capacity = read_capacity(sheet)
    assert capacity == [["quarter", "segment", "capacity"], ["2027Q2", None, 30], ["2027Q3", "md_box_truck", 25]]

    # The sheet as downloaded changes nothing.
    again = bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows, capacity=capacity), world.oem)
    assert (again.saved, again.unchanged, again.quarter_rows) == ([], ["lot-1"], None)
    assert revisions() == 1

    # New quarters for the bid and a new ramp, in one upload.
    rows[1][-1] = "2027Q3"
    capacity[1:] = [["2027 Q2", None, 20], ["2027Q3", "", 40]]
    result = bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows, capacity=capacity), world.oem)
    assert (result.saved, result.quarter_rows) == (["lot-1"], 2)
    assert bidding.bids_of(rnd, world.oem)[lots[0].id].current.quarters == ["2027Q3"]
    assert quarter_rows(rnd, world.oem) == [("2027Q2", None, 20), ("2027Q3", None, 40)]

    # Only the capacity changes (every row removed: none stated); a blank quarters cell is any quarter.
    result = bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows, capacity=capacity[:1]), world.oem)
    assert (result.saved, result.quarter_rows) == ([], 0) and quarter_rows(rnd, world.oem) == []
    rows[1][-1] = None
    bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows, capacity=capacity[:1]), world.oem)
    assert bidding.bids_of(rnd, world.oem)[lots[0].id].current.quarters is None


def test_an_older_sheet_without_quarters_leaves_them_as_they_are(world, ramp):
    rnd, lots = ramp
    rows = [row[:-1] for row in read(bid_sheet.build_sheet(rnd, world.oem))]  # no quarters column, no capacity sheet
    rows[1][rows[0].index("tier1_price")] = 229000
    assert bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows, capacity=None), world.oem).saved == ["lot-1"]
    current = bidding.bids_of(rnd, world.oem)[lots[0].id].current
    assert (current.number, current.quarters) == (2, ["2027Q2", "2027Q3"])
    assert quarter_rows(rnd, world.oem) == [("2027Q2", None, 30), ("2027Q3", "md_box_truck", 25)]


def test_quarter_problems_are_listed_by_sheet_row_and_column_and_nothing_is_saved(world, ramp):
    rnd, _ = ramp
    sheet = bid_sheet.build_sheet(rnd, world.oem)
    rows, capacity = read(sheet), read_capacity(sheet)
    rows[1][-1] = "2027Q4-2027Q2"
    rows[1][rows[0].index("tier1_price")] = 229000
    capacity[1:] = [["2027Q2", None, 30], ["2027Q9", "hovercraft", -1], [None, None, None], ["2027Q3", None, "x"]]
    with pytest.raises(SheetRefused) as exc:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows, capacity=capacity), world.oem)
    assert (
        exc.value.problems[0]
        == "row 2, quarters: the range 2027Q4–2027Q2 ends before it starts: write it as 2027Q2–2027Q4"
    )
    assert [p.split(":")[0] for p in exc.value.problems[1:]] == [
        "Capacity by quarter, row 3, quarter",
        "Capacity by quarter, row 3, segment",
        "Capacity by quarter, row 3, capacity",
        "Capacity by quarter, row 5, capacity",
    ]
    assert "“hovercraft” is not a segment" in exc.value.problems[2]
    db.session.rollback()
    # Quarters that add up below the round total: named for the sheet as a whole.
    rows[1][-1] = "2027Q2-2027Q3"
    capacity[1:] = [["2027Q2", None, 30], ["2027Q3", None, 20]]
    with pytest.raises(SheetRefused) as exc:
        bid_sheet.upload_sheet(rnd.id, "bids.xlsx", bid_book(rows, capacity=capacity), world.oem)
    assert exc.value.problems == [
        "Capacity by quarter: your quarters add up to 50 vehicles, below your total of 60 for the round: "
        "raise them, or lower the total first"
    ]
    db.session.rollback()
    assert revisions() == 1
    assert quarter_rows(rnd, world.oem) == [("2027Q2", None, 30), ("2027Q3", "md_box_truck", 25)]


def test_the_page_says_the_capacity_by_quarter_was_saved(world, ramp, login):
    rnd, _ = ramp
    client = login(world.oem)
    sheet = client.get(f"/oem/rounds/{rnd.id}/bid-sheet.xlsx").data
    capacity = read_capacity(sheet)
    capacity[1][2] = 35
    saved = client.post(
        f"/oem/rounds/{rnd.id}/bid-sheet",
        data={"sheet": (io.BytesIO(bid_book(read(sheet), capacity=capacity)), "bids.xlsx")},
    )
    assert saved.status_code == 302
    assert "Your capacity by quarter is saved (2 rows)." in client.get(saved.location).get_data(as_text=True)
    assert quarter_rows(rnd, world.oem)[0] == ("2027Q2", None, 35)
