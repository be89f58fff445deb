"""Reading an uploaded bid sheet workbook: bounded before any parsing (services.upload_limits), merged cells
refused, then every row of the Bids sheet (and of the capacity by quarter and packages sheets) with its formula
flags."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any, NamedTuple

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from marketplace.services import quarter_capacity, upload_limits
from marketplace.services.errors import ValidationFailed
from marketplace.services.values import NUMBER_TEXT_MAX, text

SHEET = "Bids"
CAPACITY_SHEET = "Capacity by quarter"
PACKAGES_SHEET = "Packages"
MAX_ROWS = 5000  # the Bids sheet's rows (one per lot), and the Packages sheet's (one per package and lot)
READ_COLUMNS = 100  # the sheet has 13 columns and two per tier; more is refused unread (services.upload_limits)


class SheetRefused(ValidationFailed):
    """The sheet cannot be saved: `problems` lists every one ("row 7, tier2_price: ..."); nothing was saved."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


def col(index: int) -> str:
    return get_column_letter(index + 1)


Rows = list[tuple[int, list[Any], list[bool]]]  # (row number, values, is-formula flags)


def _read(filename: str, data: bytes) -> Rows:
    """Rows of the Bids sheet as (row number, values, is-formula flags)."""
    return read_book(filename, data).bids


def _sheet_rows(wb: Any, ws: Any, max_rows: int, too_many: str) -> Rows:
    merged = _merged_cells(wb, ws)
    if merged:  # a merged cell shows one value over cells that hold nothing
        where = "" if ws.title == SHEET else f" “{ws.title}”"
        raise SheetRefused(
            f"The sheet{where} has merged cells ({', '.join(merged[:5])}): unmerge them and type the value in each "
            "cell, then upload the sheet again."
        )
    ws.reset_dimensions()  # some writers store wrong dimensions: read every row there is
    rows: Rows = []
    try:
        for number, cells in enumerate(ws.iter_rows(), start=1):
            if number > max_rows + 1:
                raise SheetRefused(too_many)
            values = [getattr(c, "value", None) for c in cells]
            formulas = [getattr(c, "data_type", None) == "f" for c in cells]
            rows.append((number, values, formulas))
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
        # openpyxl turns a number cell into an int before we see it; Python refuses past 4,300 digits.
        where = "Row" if ws.title == SHEET else f"The sheet “{ws.title}”, row"
        raise SheetRefused(
            f"{where} {len(rows) + 1} holds a number of thousands of digits: a number has at most "
            f"{NUMBER_TEXT_MAX} characters. Correct that cell and upload the sheet again."
        ) from None
    return rows


class Book(NamedTuple):
    bids: Rows
    capacity: Rows | None  # None: no such sheet (a sheet made before quarters existed)
    packages: Rows | None  # None: no such sheet (made before packages were in the sheet)


def read_book(filename: str, data: bytes) -> Book:
    """Rows of the Bids sheet, and of the capacity by quarter and packages sheets when the workbook has them."""
    if not data:
        raise SheetRefused("The file is empty: upload the bid sheet you downloaded, filled in.")
    if not filename.lower().endswith(".xlsx") or not data.startswith(b"PK\x03\x04"):
        raise SheetRefused(
            "Wrong file type: upload the .xlsx bid sheet (a .csv, .xls or other file is not accepted; "
            "save it as an Excel workbook, .xlsx)."
        )
    try:
        upload_limits.check_xlsx(data, max_rows=MAX_ROWS + 1, max_columns=READ_COLUMNS)
    except upload_limits.UploadTooLarge as exc:
        raise SheetRefused(exc.message) from None
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SheetRefused(f"This workbook cannot be read ({type(exc).__name__}): save it again as .xlsx.") from None
    except Exception as exc:  # openpyxl raises many types for damaged files; none may become a crash page
        raise SheetRefused(f"This workbook cannot be read ({type(exc).__name__}): save it again as .xlsx.") from None
    rows: Rows = []
    capacity: Rows | None = None
    packages: Rows | None = None
    try:
        # The bid sheet, else the first sheet the user can see (a hidden sheet may come first).
        visible = [w for w in wb.worksheets if getattr(w, "sheet_state", "visible") == "visible"]
        ws = wb[SHEET] if SHEET in wb.sheetnames else (visible or wb.worksheets)[0]
        rows = _sheet_rows(wb, ws, MAX_ROWS, f"The sheet has more than {MAX_ROWS:,} rows: one row per lot is enough.")
        if CAPACITY_SHEET in wb.sheetnames and wb[CAPACITY_SHEET] is not ws:
            limit = quarter_capacity.ROWS_MAX
            capacity = _sheet_rows(
                wb, wb[CAPACITY_SHEET], limit,
                f"The sheet “{CAPACITY_SHEET}” has more than {limit} rows: give each quarter once (per segment).",
            )  # fmt: skip
        if PACKAGES_SHEET in wb.sheetnames and wb[PACKAGES_SHEET] is not ws:
            packages = _sheet_rows(
                wb, wb[PACKAGES_SHEET], MAX_ROWS,
                f"The sheet “{PACKAGES_SHEET}” has more than {MAX_ROWS:,} rows: one row per package and lot is enough.",
            )  # fmt: skip
    except SheetRefused:
        raise
    except Exception as exc:
        raise SheetRefused(f"This workbook cannot be read ({type(exc).__name__}): save it again as .xlsx.") from None
    finally:
        wb.close()
    return Book(rows, capacity, packages)


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3}[0-9]{1,7}(?::[A-Z]{1,3}[0-9]{1,7})?)"')


def _merged_cells(wb: Any, ws: Any) -> list[str]:
    """The merged ranges of a sheet (read-only openpyxl does not list them): from its XML, a megabyte at a time."""
    path = getattr(ws, "_worksheet_path", None)
    if path is None or not hasattr(wb, "_archive"):
        return []
    found: list[str] = []
    tail = b""
    with wb._archive.open(path) as source:
        while chunk := source.read(1 << 20):
            block = tail + chunk
            found += [m.decode() for m in _MERGE.findall(block)]
            tail = block[-200:]  # a tag cut between two reads is found in the next block
            if len(found) > 5:
                break
    return list(dict.fromkeys(found))


def blank(value: Any) -> bool:
    return text(value) == ""


def cell_problems(
    number: int, values: list[Any], formulas: list[bool], columns: list[str | None], where: str = ""
) -> list[tuple[int, str]]:
    """The cells of row `number` that cannot be read, on every sheet alike: a value outside the sheet's columns,
    a formula (its value is whatever the writer last computed). (column index, message) each, the message
    starting with `where` (the sheet's name for the sheets beside Bids)."""
    found = []
    for i, value in enumerate(values):
        if i >= len(columns) and not blank(value):
            found.append((i, f"{where}row {number}, column {col(i)}: a value outside the sheet's columns"))
        elif i < len(formulas) and formulas[i]:
            name = columns[i] if i < len(columns) else col(i)
            found.append((i, f"{where}row {number}, {name}: is a formula ({text(value)[:40]}); type the value itself"))
    return found
