"""Uploads are bounded before any parsing: hostile spreadsheets are refused at once, naming the bound.

The files are the ones of issue 13 that took the site down (a zip bomb, 20 million empty rows, a
cell at column CZZZZZ, a 1 GB part in a 1 MB file, a CSV line of 2 million columns). Time and
memory are measured in a fresh process, as a worker would run the readers: its peak resident
size may grow by less than 100 MB and each file is refused within a second of CPU time (CPU,
not wall time, because the test machine is shared).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from marketplace.services import bid_sheet, demand_upload, upload_limits
from tests import upload_bombs
from tests.demand_helpers import csv_bytes, sheet_row, xlsx_bytes

ROOT = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: reads each file with both readers, reports CPU seconds, peak RSS growth, message.
_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from marketplace.services import bid_sheet, demand_upload
files = [(p.name, p.read_bytes()) for p in sorted(Path(sys.argv[1]).iterdir())]
readers = {"demand": demand_upload.read_rows, "bid sheet": bid_sheet._read}
resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, 4 * 1024**3))  # a regression fails, not the machine
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = []
for name, data in files:
    for reader, read in readers.items():
        if reader == "bid sheet" and name.endswith(".csv"):
            continue
        start = time.process_time()
        try:
            read(name, data)
            message = None
        except Exception as exc:
            message = f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"
        out.append({"file": name, "reader": reader, "cpu": time.process_time() - start, "message": message,
                    "grown_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024})
print(json.dumps(out))
"""

EXPECTED = {  # file -> what the refusal says
    "unused.xlsx": "a part of 1,024 MB once unpacked",
    "bomb.xlsx": "a part of 114 MB once unpacked",
    "rows.xlsx": "rows down to row 20,000,000",
    "empty.xlsx": "rows down to row",
    "wide.xlsx": "a value far to the right (cell CZZZZZ2)",
    "dim.xlsx": "reaches cell CZZZZZ2, beyond what Excel itself allows",
    "row.xlsx": "200,000 cells in row 2",
    "wide.csv": "Line 2 of the CSV file is 4,000,000 characters long",
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    files = dict(upload_bombs.hostile_files().values())
    files.update([upload_bombs.hostile_csv()])
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_hostile_files_are_refused_within_a_second_and_100_mb(hostile):
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(hostile)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert {r["file"] for r in results} == set(EXPECTED)
    for r in results:
        assert r["message"] is not None, f"{r['file']} was accepted by the {r['reader']} reader"
        refused_as = "SheetRefused" if r["reader"] == "bid sheet" else "UploadRefused"
        assert r["message"].startswith(refused_as) and EXPECTED[r["file"]] in r["message"], r
        assert r["cpu"] < 1.0, r
        assert r["grown_mb"] < 100, r


def test_the_files_are_what_the_issue_describes(hostile):
    sizes = {p.name: p.stat().st_size for p in hostile.iterdir()}
    assert sizes["unused.xlsx"] < 1.1 * 1024**2 and sizes["bomb.xlsx"] < 200 * 1024
    assert sizes["wide.xlsx"] < 6 * 1024 and sizes["wide.csv"] > 4 * 1000**2
    with zipfile.ZipFile(hostile / "unused.xlsx") as archive:
        assert archive.getinfo("xl/media/unused.bin").file_size == 1024**3
    with zipfile.ZipFile(hostile / "bomb.xlsx") as archive:
        xml = archive.open("xl/worksheets/sheet1.xml").read(200)
        assert b'<dimension ref="A1:K20000000"/>' in xml


# ---------------------------------------------------------------- each bound on its own


def refused(data: bytes, name: str = "f.xlsx", **limits):
    with pytest.raises(upload_limits.UploadTooLarge) as caught:
        upload_limits.check_xlsx(data, **({"max_rows": 100, "max_columns": 20} | limits))
    return caught.value.message


def test_too_many_parts():
    small = upload_bombs._deflate(b"x")
    entries = [(f"xl/media/{n}.bin", small, 0x8CDC1683, 1) for n in range(upload_limits.MAX_ENTRIES + 1)]
    assert "parts" in refused(upload_bombs.zip_of(entries))


def test_a_part_that_unpacks_far_more_than_sheets_do():
    bomb = upload_bombs.repeated(b"\0" * upload_bombs.MB, 5)  # 5 MB, under the size bound
    assert "unpacks" in refused(upload_bombs.workbook(extra=[("xl/media/zeros.bin", *bomb)]))


def test_more_than_the_total_size(monkeypatch):
    monkeypatch.setattr(upload_limits, "MAX_TOTAL_BYTES", 1000)
    assert "unpacks to more than" in refused(xlsx_bytes([sheet_row()]))


def test_xml_entities_and_other_encodings_are_refused():
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><worksheet>&lol;</worksheet>'
    assert "entities" in refused(upload_bombs.workbook(sheet_xml=laughs))
    utf16 = upload_bombs.sheet(upload_bombs.header_row()).decode().encode("utf-16")
    assert "another encoding" in refused(upload_bombs.workbook(sheet_xml=utf16))
    ebcdic = b'<?xml version="1.0" encoding="cp037"?>' + upload_bombs.sheet(b"").decode().encode("cp037")
    assert "another encoding" in refused(upload_bombs.workbook(sheet_xml=ebcdic))


@pytest.mark.parametrize(
    "row",
    [
        b'<row r="2"><c r="U2"><v>1</v></c></row>',  # column 21
        b'<row r="2"><c t="n" r="AA2"><v>1</v></c></row>',
        b'<row r="2"><c s="1" a=">" r="CZZZZZ2"><v>1</v></c></row>',  # a ">" inside a value
        b"<row r='2'><c r = 'CZZZZZ2'><v>1</v></c></row>",
        b'<row r="2"><c r="&#67;ZZZZZ2"><v>1</v></c></row>',  # an escaped reference
        b'<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="2"><x:c r="CZ2"/></x:row>',
        b'<row r="2">' + b"<c/>" * 21 + b"</row>",  # no references: counted
        b'<row r="2">' + b"<c\n/>" * 21 + b"</row>",
    ],
)
def test_a_cell_beyond_the_columns_is_refused_however_it_is_written(row):
    message = refused(upload_bombs.workbook(upload_bombs.sheet(upload_bombs.header_row() + row)), max_columns=20)
    assert "far to the right" in message or "cells in row 2" in message


@pytest.mark.parametrize(
    "rows",
    [b'<row r="101"/>', b"<row/>" * 100, b'<row r="5"/>' * 100, b'<x:row xmlns:x="urn:x" r="200"/>'],
)
def test_rows_beyond_the_limit_are_refused(rows):
    assert "rows down to row" in refused(upload_bombs.workbook(upload_bombs.sheet(upload_bombs.header_row() + rows)))


def test_a_row_split_between_two_chunks_is_still_counted(monkeypatch):
    monkeypatch.setattr(upload_limits, "CHUNK", 64)
    xml = upload_bombs.sheet(upload_bombs.header_row() + b'<row r="2">' + b'<c s="1"/>' * 21 + b"</row>")
    assert "21 cells in row 2" in refused(upload_bombs.workbook(xml), max_columns=20)
    assert "far to the right" in refused(upload_bombs.workbook(upload_bombs.sheet(b'<row><c r="ABC1"/></row>')))


def test_real_workbooks_pass_and_a_large_declared_dimension_allocates_nothing():
    upload_limits.check_xlsx(xlsx_bytes([sheet_row()] * 50), max_rows=100, max_columns=20)
    # A sheet that claims the whole Excel grid but holds two rows reads as two rows.
    xml = upload_bombs.sheet(
        upload_bombs.header_row() + b'<row r="2">' + b"".join(
            f'<c r="{chr(65 + i)}2" t="inlineStr"><is><t>{v}</t></is></c>'.encode() for i, v in enumerate(sheet_row())
        ) + b"</row>",
        b"A1:XFD1048576",
    )  # fmt: skip
    rows, problems = demand_upload.read_rows("claims.xlsx", upload_bombs.workbook(xml))
    assert [n for n, _ in rows] == [2] and not problems


# ---------------------------------------------------------------- CSV


def test_csv_line_length_columns_and_lines_are_capped(monkeypatch):
    with pytest.raises(demand_upload.UploadRefused, match="Line 2 of the CSV file is 70,000 characters"):
        demand_upload.read_rows("long.csv", csv_bytes([["x" * 70_000]]))
    with pytest.raises(demand_upload.UploadRefused, match="Line 2 of the CSV file has 101 columns; at most 100"):
        demand_upload.read_rows("wide.csv", csv_bytes([[""] * 101]))
    monkeypatch.setattr(demand_upload, "READ_ROWS", 5)
    with pytest.raises(demand_upload.UploadRefused, match="more than 5 lines"):
        demand_upload.read_rows("blank.csv", csv_bytes([sheet_row()]) + b"\n" * 10)


def test_refusals_reach_the_upload_pages_as_messages(world, login):
    from tests.demand_helpers import open_round
    from tests.factories import make_tender

    client = login(world.fleet)
    rnd = open_round(world, region_ids=["US-CA"])
    data = dict(upload_bombs.hostile_files().values())["wide.xlsx"]
    response = client.post(
        f"/fleet/rounds/{rnd.id}/upload",
        data={"file": (io.BytesIO(data), "wide.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "far to the right (cell CZZZZZ2)" in response.get_data(as_text=True)
    tender, _ = make_tender(world.coordinator, world.fleet.organization)
    client = login(world.oem)
    response = client.post(
        f"/oem/rounds/{tender.id}/bid-sheet", data={"sheet": (io.BytesIO(data), "wide.xlsx")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 400 and "far to the right (cell CZZZZZ2)" in response.get_data(as_text=True)
    assert len(bid_sheet.INFO_COLUMNS) + len(bid_sheet.BID_COLUMNS) + 20 <= bid_sheet.READ_COLUMNS


def test_openpyxl_parses_with_defusedxml():
    import openpyxl

    assert openpyxl.DEFUSEDXML  # the dependency is installed and openpyxl picked it up
