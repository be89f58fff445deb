"""Demand lines by spreadsheet: template, check as a whole, every problem by row and column, all or nothing, export."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from marketplace.extensions import db
from marketplace.models import AuditEntry, DemandLine, DemandStatus
from marketplace.services import demand, demand_upload
from marketplace.services.demand import FIELDS
from marketplace.services.errors import Conflict, NotFound
from tests.demand_helpers import NOW, csv_bytes, open_round, sheet_row, valid_values, xlsx_bytes
from tests.upload_bombs import merged, with_sheet

Refused = demand_upload.UploadRefused


@pytest.fixture(autouse=True)
def fixed_clock(frozen_clock):
    frozen_clock.freeze(NOW)
    return frozen_clock


@pytest.fixture
def rnd(world):
    return open_round(world, region_ids=["US-CA", "US-TX"])


def line_count() -> int:
    return db.session.execute(sa.select(sa.func.count(DemandLine.id))).scalar_one()


def check(rnd, world, name: str, data: bytes, user=None):
    return demand_upload.check_upload(rnd.id, name, data, user or world.fleet)


# ---------------------------------------------------------------- good files


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_good_file_is_previewed_then_saved_in_one_go(world, rnd, kind):
    rows = [sheet_row(), sheet_row(quantity=3, region="Texas", splittable="yes", note="Dallas depot")]
    data = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    result = check(rnd, world, f"fleet.{kind}", data)
    assert result.ok and result.rows == 2 and line_count() == 0  # nothing saved before "Save all"
    _, upload, checked = demand_upload.preview(rnd.id, result.upload.token, world.fleet)
    assert [row for row, _ in checked] == [2, 3]
    saved = demand_upload.save_upload(rnd.id, upload.token, world.fleet)
    assert (saved.lines, saved.vehicles) == (2, 13)
    lines = db.session.execute(sa.select(DemandLine).order_by(DemandLine.id)).scalars().all()
    assert [(line.region_id, line.quantity, line.splittable, line.status) for line in lines] == [
        ("us-ca-los-angeles", 10, False, DemandStatus.DRAFT),
        ("US-TX", 3, True, DemandStatus.DRAFT),
    ]
    assert lines[0].charging == ["CCS1", "MCS"] and lines[1].note == "Dallas depot"
    entries = db.session.execute(sa.select(AuditEntry).where(AuditEntry.action == "demand.upload")).scalars().all()
    assert len(entries) == 1 and entries[0].after["lines"] == 2  # one entry sums the upload up
    with pytest.raises(Conflict, match="already saved"):
        demand_upload.save_upload(rnd.id, upload.token, world.fleet)
    assert line_count() == 2


def test_xlsx_numbers_and_a_semicolon_csv_are_read_as_typed(world, rnd):
    data = xlsx_bytes([sheet_row(quantity=12, min_range_km=250.0, max_unit_price=249999.5)])
    result = check(rnd, world, "numbers.xlsx", data)
    assert result.ok
    demand_upload.save_upload(rnd.id, result.upload.token, world.fleet)
    line = db.session.execute(sa.select(DemandLine)).scalar_one()
    assert (line.quantity, line.min_range_km, str(line.max_unit_price)) == (12, 250, "249999.50")
    text = ";".join(FIELDS) + "\n" + ";".join(str(v) for v in sheet_row(charging="CCS1")) + "\n"
    assert check(rnd, world, "excel-fr.csv", ("\ufeff" + text).encode("utf-8")).ok  # BOM and ';' as Excel writes


def test_another_fleet_cannot_preview_or_save_an_upload(world, rnd):
    token = check(rnd, world, "a.csv", csv_bytes([sheet_row()])).upload.token
    with pytest.raises(NotFound):
        demand_upload.preview(rnd.id, token, world.other_fleet)
    with pytest.raises(NotFound):
        demand_upload.save_upload(rnd.id, token, world.other_fleet)
    assert line_count() == 0


# ---------------------------------------------------------------- bad rows: every problem by row and column


def test_one_bad_row_saves_nothing_and_names_row_and_column(world, rnd):
    rows = [sheet_row() for _ in range(20)]
    rows[15] = sheet_row(quantity="0")  # spreadsheet row 17
    result = check(rnd, world, "fleet.csv", csv_bytes(rows))
    assert not result.ok and result.upload is None
    assert [str(p) for p in result.problems] == ["row 17, quantity: must be a whole number above 0"]
    assert line_count() == 0


def test_every_problem_of_every_row_is_listed(world, rnd):
    rows = [
        sheet_row(segment="bike", region="us-ny-new-york"),
        sheet_row(),
        sheet_row(earliest_quarter="2026Q3", latest_quarter="2026Q2", charging="CCS9", max_unit_price="12.345"),
        sheet_row(min_range_km=-1, min_payload_kg="lots", splittable="maybe", note="n" * 501),
    ]
    problems = [str(p) for p in check(rnd, world, "bad.xlsx", xlsx_bytes(rows)).problems]
    assert problems == [
        "row 2, segment: “bike” is not a segment of this round (use one of: md_box_truck, transit_bus)",
        "row 2, region: “us-ny-new-york” is not a region within this round's scope (California, Texas): "
        "use a region id or name from the list",
        "row 4, earliest_quarter: 2026Q3 is in the past (this is 2027Q1)",
        "row 4, latest_quarter: 2026Q2 is in the past (this is 2027Q1)",
        "row 4, charging: “CCS9” is not a charging standard: use CCS1, CCS2, NACS, MCS, GB/T, CHAdeMO, J1772, "
        "Type2, J3105, Megacharger, H2",
        "row 4, max_unit_price: more than 2 decimals: prices are exact to the cent",
        "row 5, min_range_km: must be a whole number, 0 or more",
        "row 5, min_payload_kg: must be a whole number, 0 or more",
        "row 5, splittable: answer yes or no",
        "row 5, note: must be at most 500 characters (it has 501)",
    ]
    assert line_count() == 0


def test_blank_rows_are_skipped_and_row_numbers_stay_the_sheets(world, rnd):
    rows = [sheet_row(), [None] * len(FIELDS), sheet_row(quantity="x")]
    problems = [str(p) for p in check(rnd, world, "gaps.xlsx", xlsx_bytes(rows)).problems]
    assert problems == ["row 4, quantity: must be a whole number above 0"]


def test_formulas_are_refused_not_evaluated(world, rnd):
    csv_data = csv_bytes([sheet_row(quantity="=2+3")])
    assert [str(p) for p in check(rnd, world, "f.csv", csv_data).problems] == [
        "row 2, quantity: is a formula (=2+3); formulas are refused: type the value itself"
    ]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(FIELDS))
    sheet.append(sheet_row())
    sheet["C2"] = "=SUM(1,2)"  # quantity
    buffer = io.BytesIO()
    workbook.save(buffer)
    problems = [str(p) for p in check(rnd, world, "f.xlsx", buffer.getvalue()).problems]
    assert problems == ["row 2, quantity: is a formula (=SUM(1,2)); formulas are refused: type the value itself"]
    assert line_count() == 0


def test_a_stray_value_beside_the_columns_is_a_problem(world, rnd):
    row = [*sheet_row(), None, "oops"]
    problems = [str(p) for p in check(rnd, world, "stray.xlsx", xlsx_bytes([row])).problems]
    assert problems == ["row 2, column M: a value outside the template's columns"]


# ---------------------------------------------------------------- files refused as a whole


def test_wrong_file_types_are_refused(world, rnd):
    for name, data, message in [
        ("lines.pdf", b"%PDF-1.4", "Wrong file type: upload a .xlsx workbook or a .csv file"),
        ("lines.xls", b"\xd0\xcf\x11\xe0", "old Excel format (.xls)"),
        ("lines.xlsm", b"PK\x03\x04", "Macro-enabled workbooks are refused"),
        ("lines.xlsx", b"segment,region\n", "named .xlsx but is not an Excel workbook"),
        ("lines.xlsx", b"PK\x03\x04garbage", "This workbook cannot be read"),
        ("lines.csv", xlsx_bytes([sheet_row()]), "named .csv but is an Excel workbook"),
        ("lines.csv", b"\x00\x01\x02binary", "not text"),
    ]:
        with pytest.raises(Refused, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            check(rnd, world, name, data)
    assert line_count() == 0


def test_a_csv_that_is_not_utf8_is_refused_with_the_line(world, rnd):
    data = csv_bytes([sheet_row(), sheet_row(note="Régie des transports")], encoding="cp1252")
    with pytest.raises(Refused) as caught:
        check(rnd, world, "latin.csv", data)
    assert "The CSV file is not UTF-8 (line 3" in caught.value.message
    assert "CSV UTF-8" in caught.value.message


def test_empty_sheets_are_refused(world, rnd):
    for name, data, message in [
        ("empty.csv", b"", "The sheet is empty"),
        ("blank.csv", b"\n,,,\n\n", "The sheet is empty"),
        ("empty.xlsx", xlsx_bytes([], header=None), "The sheet is empty"),
        ("header-only.xlsx", xlsx_bytes([]), "has the column names but no demand lines"),
        ("header-only.csv", csv_bytes([]), "has the column names but no demand lines"),
    ]:
        with pytest.raises(Refused, match=message):
            check(rnd, world, name, data)


def test_missing_unknown_and_repeated_columns_are_named(world, rnd):
    header = [c for c in FIELDS if c not in ("quantity", "note")] + ["colour", "segment"]
    with pytest.raises(Refused) as caught:
        check(rnd, world, "cols.csv", csv_bytes([], header=header))
    message = caught.value.message
    assert "missing columns quantity, note" in message
    assert "unknown column colour (column J)" in message
    assert "repeated column segment" in message
    extra = [*FIELDS, "fleet_name"]
    with pytest.raises(Refused, match=r"unknown column fleet_name \(column L\)"):
        check(rnd, world, "extra.xlsx", xlsx_bytes([[*sheet_row(), "x"]], header=extra))
    assert line_count() == 0


def test_column_names_are_forgiving_about_case_and_spaces(world, rnd):
    header = [c.replace("_", " ").title() for c in FIELDS]
    assert check(rnd, world, "titled.csv", csv_bytes([sheet_row()], header=header)).ok


def test_too_many_rows_are_refused(world, rnd, monkeypatch):
    monkeypatch.setattr(demand_upload, "MAX_ROWS", 3)
    with pytest.raises(Refused, match="more than 3 demand lines"):
        check(rnd, world, "big.csv", csv_bytes([sheet_row()] * 4))


def test_a_file_over_20_mb_gets_the_413_page(world, login, rnd):
    client = login(world.fleet)
    big = b"x" * (20 * 1024 * 1024 + 1)
    response = client.post(
        f"/fleet/rounds/{rnd.id}/upload",
        data={"file": (io.BytesIO(big), "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "larger than this site accepts (20 MB)" in response.get_data(as_text=True)
    assert line_count() == 0


# ---------------------------------------------------------------- pages, template and export


def test_upload_pages_show_problems_then_preview_then_save(world, login, rnd):
    client = login(world.fleet)
    url = f"/fleet/rounds/{rnd.id}/upload"
    bad = csv_bytes([sheet_row(), sheet_row(quantity="-1")])
    response = client.post(url, data={"file": (io.BytesIO(bad), "lines.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "row 3, quantity:</strong> must be a whole number above 0" in response.get_data(as_text=True)
    response = client.post(url, data={"file": (io.BytesIO(b"%PDF"), "x.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Wrong file type" in response.get_data(as_text=True)
    good = csv_bytes([sheet_row(), sheet_row(quantity="1")])
    response = client.post(url, data={"file": (io.BytesIO(good), "lines.csv")}, content_type="multipart/form-data")
    assert response.status_code == 302
    preview = client.get(response.location).get_data(as_text=True)
    assert "Every row is right: 2 demand lines, 11 vehicles" in preview
    response = client.post(response.location + "/save", follow_redirects=True)
    assert "Saved 2 demand lines (11 vehicles)" in response.get_data(as_text=True)
    assert line_count() == 2


def test_templates_have_the_columns_and_a_valid_example_row(world, login, rnd):
    client = login(world.fleet)
    response = client.get(f"/fleet/rounds/{rnd.id}/template.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook["Demand lines"]
    assert [c.value for c in sheet[1]] == list(FIELDS)
    assert "Help" in workbook.sheetnames
    # The template uploaded unchanged saves nothing: its example row is named as such...
    example = ["row 2, note: this is the template's example line: replace it with a line of yours, or delete the row"]
    assert [str(p) for p in check(rnd, world, "template.xlsx", response.data).problems] == example
    csv_template = client.get(f"/fleet/rounds/{rnd.id}/template.csv").data
    assert csv_template.decode().splitlines()[0] == ",".join(FIELDS)
    assert [str(p) for p in check(rnd, world, "template.csv", csv_template).problems] == example
    # ...and once the row is the fleet's own (its note changed), every other value of it is valid.
    sheet.cell(row=2, column=FIELDS.index("note") + 1).value = "Our vans"
    edited_xlsx = io.BytesIO()
    workbook.save(edited_xlsx)
    assert check(rnd, world, "template.xlsx", edited_xlsx.getvalue()).ok
    edited = csv_template.decode().replace("Example line: replace or delete this row", "Our vans").encode()
    assert check(rnd, world, "template.csv", edited).ok
    assert client.get(f"/fleet/rounds/{rnd.id}/template.pdf").status_code == 404


def test_export_reads_back_the_fleets_own_lines_only(world, login, rnd):
    mine = demand.create_line(rnd.id, valid_values(note='=HYPERLINK("x")', max_unit_price="199999.99"), world.fleet)
    demand.create_line(rnd.id, valid_values(note="theirs"), world.other_fleet)
    demand.commit_lines(rnd.id, [mine.id], world.fleet)
    client = login(world.fleet)
    response = client.get(f"/fleet/rounds/{rnd.id}/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["Demand lines"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == [*FIELDS, "status", "line_id", "committed_at"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["quantity"] == 10 and row["status"] == "committed" and row["line_id"] == mine.id
    assert float(row["max_unit_price"]) == 199999.99 and row["charging"] == "CCS1"
    assert sheet.cell(row=2, column=FIELDS.index("note") + 1).data_type == "s"  # text, never a formula
    assert row["note"] == '=HYPERLINK("x")'


def test_merged_cells_are_refused_and_a_hidden_first_sheet_is_not_read(world, rnd):
    from openpyxl import load_workbook

    data = xlsx_bytes([sheet_row(), sheet_row(quantity=3)])
    with pytest.raises(demand_upload.UploadRefused, match=r"The sheet has merged cells \(C2:C3\): unmerge them"):
        check(rnd, world, "lines.xlsx", with_sheet(data, merged(b"C2:C3")))  # one quantity shown over two rows

    book = load_workbook(io.BytesIO(data))
    book.active.title = "Our lines"  # renamed, behind a hidden sheet of drop-down lists
    lists = book.create_sheet("Lists", 0)
    lists.append(["CCS1", "MCS"])
    lists.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    result = check(rnd, world, "lines.xlsx", out.getvalue())
    assert result.ok and [line.quantity for _, line in demand_upload.staged_lines(result.upload)] == [10, 3]
    assert line_count() == 0
