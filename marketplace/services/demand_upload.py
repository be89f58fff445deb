"""Demand lines by spreadsheet: the template, the upload (checked as a whole, saved all or nothing), the export.

An upload goes in two steps. `check_upload` reads the whole file, checks every row with the
same rules as the form (services.demand.check_line) and either reports every problem by row
and column or keeps the rows on the server (a DemandUpload, found again by an unguessable
token) for the preview. `save_upload` checks them again (time may have passed) and inserts
every line in one statement and one transaction, with one audit entry for the whole file.
Formulas are refused, never evaluated.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from xml.etree.ElementTree import iterparse

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus, Round
from marketplace.models.demand import DemandUpload
from marketplace.services import audit, clock, spreadsheet, upload_limits
from marketplace.services.access import Actor, require_fleet
from marketplace.services.demand import (
    FIELDS,
    CheckedLine,
    Scope,
    check_line,
    current_quarter,
    locked_open_round,
    open_round,
)
from marketplace.services.errors import Conflict, NotFound, ValidationFailed
from marketplace.services.reference_data import CHARGING_STANDARDS
from marketplace.services.values import NUMBER_TEXT_MAX

MAX_ROWS = 10_000
EXAMPLE_NOTE = "Example line: replace or delete this row"  # marks the template's example row
EXAMPLE_PROBLEM = "this is the template's example line: replace it with a line of yours, or delete the row"
# What a file may hold before it is refused unread (services.upload_limits): room for blank rows and
# stray columns, which get their own messages, but never millions.
READ_ROWS = 20_001
READ_COLUMNS = 100
SHEET_NAME = "Demand lines"
SHOWN_PROBLEMS = 1_000  # a page lists this many; the count says how many more there are

# What each column means, for the template's help sheet and the upload page.
COLUMN_HELP: dict[str, str] = {
    "segment": "Segment id or name, one of the round's segments (see the Help sheet).",
    "region": "Region id or name within the round's scope: a metro, a state or province, or a country.",
    "quantity": "Vehicles wanted: a whole number above 0.",
    "earliest_quarter": "First quarter a delivery may arrive, like 2027Q2; not in the past.",
    "latest_quarter": "Last quarter a delivery may arrive, not before the earliest; a wider window pools more easily.",
    "min_range_km": "Minimum range in km (0 or blank: no minimum).",
    "min_payload_kg": "Minimum payload in kg (0 or blank: no minimum).",
    "charging": "Accepted charging standards separated by ';' (e.g. CCS1;MCS); more standards pool more easily.",
    "max_unit_price": "The most you will pay per vehicle, in the round's currency, at most 2 decimals.",
    "splittable": "yes if several suppliers may share the line, no (or blank) if one supplier must deliver it all.",
    "note": "Optional, at most 500 characters; only your organization and the coordinators see it.",
}


@dataclass(frozen=True)
class Problem:
    row: int  # the spreadsheet's row number (the column names are row 1)
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.column}: {self.message}"


@dataclass
class UploadCheck:
    """The outcome of checking a file: the staged upload (no problems) or every problem found."""

    problems: list[Problem] = field(default_factory=list)
    upload: DemandUpload | None = None
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and self.upload is not None


class UploadRefused(ValidationFailed):
    """The file as a whole cannot be used (type, encoding, columns, size); nothing was read or saved."""


# ---------------------------------------------------------------- reading files


def _normalise_header(value: Any) -> str:
    return str(value).strip().lower().replace(" ", "_").replace("-", "_") if value is not None else ""


def _file_kind(filename: str, data: bytes) -> str:
    name = (filename or "").lower()
    if name.endswith(".xls"):
        raise UploadRefused(
            "This is the old Excel format (.xls): save the sheet as .xlsx (or CSV UTF-8) and upload it."
        )
    if name.endswith((".xlsm", ".xlsb")):
        raise UploadRefused("Macro-enabled workbooks are refused: save the sheet as a plain .xlsx and upload it.")
    if name.endswith(".xlsx"):
        if not data.startswith(b"PK\x03\x04"):
            raise UploadRefused("This file is named .xlsx but is not an Excel workbook: save it again as .xlsx.")
        return "xlsx"
    if name.endswith(".csv"):
        if data.startswith(b"PK\x03\x04"):
            raise UploadRefused("This file is named .csv but is an Excel workbook: rename it .xlsx or save it as CSV.")
        return "csv"
    raise UploadRefused("Wrong file type: upload a .xlsx workbook or a .csv file (download the template to start).")


def _read_csv(data: bytes) -> list[tuple[int, list[Any]]]:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise UploadRefused(
            f"This CSV file is not text: line {line} holds a NUL character (binary data). "
            "Save the sheet as CSV UTF-8, or upload the .xlsx workbook."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UploadRefused(
            f"The CSV file is not UTF-8 (line {line} has a character in another encoding, such as Windows-1252): "
            "in Excel use “Save as… CSV UTF-8”, or upload the .xlsx workbook."
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # Excel in many locales writes ';'
    rows: list[tuple[int, list[Any]]] = []
    try:
        for row in upload_limits.csv_rows(text, delimiter, max_rows=READ_ROWS, max_columns=READ_COLUMNS):
            rows.append((len(rows) + 1, row))
    except upload_limits.UploadTooLarge as exc:
        raise UploadRefused(exc.message) from None
    except csv.Error as exc:
        raise UploadRefused(f"The CSV file cannot be read at row {len(rows) + 1}: {exc}.") from None
    return rows


class _Formula:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _column_index(ref: str) -> int:
    """ "C17" -> 2."""
    n = 0
    for ch in ref:
        if ch.isdigit():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


def _stream_cells(workbook: Any, sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    """The sheet's rows straight from its XML: 2-3 times faster than openpyxl's cell objects on 10,000 rows.

    openpyxl opened and checked the workbook and holds its shared strings; this reads values only.
    A formula cell comes back as "=..." text, to be refused.
    """
    from openpyxl.utils.datetime import from_excel

    shared = workbook.shared_strings
    # Style ids whose number format shows a date: such a cell is read as the date the user sees, not 46478.
    date_styles: set[int] = getattr(workbook, "_date_formats", set())
    epoch = getattr(workbook, "epoch", None)
    c_tag, v_tag, f_tag, row_tag, t_tag = _NS + "c", _NS + "v", _NS + "f", _NS + "row", _NS + "t"
    merged: list[str] = []
    with workbook._archive.open(sheet._worksheet_path) as source:
        number = 0
        for _, element in iterparse(source):
            if element.tag == _NS + "mergeCell":
                merged.append(str(element.get("ref") or "?")[:20])
                continue
            if element.tag != row_tag:
                continue
            number = int(element.get("r") or number + 1)
            values: list[Any] = []
            for cell in element:
                if cell.tag != c_tag:
                    continue
                ref = cell.get("r")
                index = _column_index(ref) if ref else len(values)
                values.extend([None] * (index - len(values)))
                kind = cell.get("t", "n")
                text = cell.findtext(v_tag)
                formula = cell.find(f_tag)
                if formula is not None:
                    value: Any = "=" + (formula.text or "")
                elif kind == "inlineStr":
                    value = "".join(t.text or "" for t in cell.iter(t_tag))
                elif text is None:
                    value = None
                elif kind == "s":
                    value = shared[int(text)]
                elif kind == "n":
                    if len(text) > NUMBER_TEXT_MAX:
                        value = text  # a number too long to be meant: the value checks refuse it with a message
                    else:
                        value = float(text) if any(x in text for x in ".eE") else int(text)
                        if date_styles and int(cell.get("s") or 0) in date_styles:
                            value = _excel_date(value, epoch, from_excel)
                elif kind == "b":
                    value = text == "1"
                else:  # str, e (errors such as #N/A) and d (ISO dates) as text
                    value = text
                values.append(value)
            element.clear()
            yield number, values
    if merged:  # a merged cell shows its value over cells that hold nothing: never read as the user sees it
        shown = ", ".join(merged[:5]) + (f" and {len(merged) - 5} more" if len(merged) > 5 else "")
        raise UploadRefused(
            f"The sheet has merged cells ({shown}): unmerge them and type the value in each cell, then upload again."
        )


def _excel_date(serial: float, epoch: Any, from_excel: Any) -> Any:
    """An Excel date serial as the date (or date and time) it shows; the number itself if it is no date."""
    try:
        moment = from_excel(serial, epoch) if epoch is not None else from_excel(serial)
    except (ValueError, OverflowError, TypeError):
        return serial
    if isinstance(moment, datetime) and moment.time() == time(0):
        return moment.date()
    return moment


def _read_xlsx(data: bytes) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        upload_limits.check_xlsx(data, max_rows=READ_ROWS, max_columns=READ_COLUMNS)
    except upload_limits.UploadTooLarge as exc:
        raise UploadRefused(exc.message) from None
    try:
        # read_only streams the sheet; data_only=False keeps formulas as formulas, so we can refuse them.
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for damaged files; none may become a crash page
        raise UploadRefused(f"This workbook cannot be read ({type(exc).__name__}): save it again as .xlsx.") from None
    try:
        # The template's sheet, else the first sheet the user can see (a hidden sheet of lists may come first).
        visible = [ws for ws in workbook.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
        sheet = workbook[SHEET_NAME] if SHEET_NAME in workbook.sheetnames else (visible or workbook.worksheets)[0]
        if hasattr(workbook, "_archive") and hasattr(sheet, "_worksheet_path"):
            source: Iterable[tuple[int, list[Any]]] = _stream_cells(workbook, sheet)
        else:  # another openpyxl: its own (slower) reader, values only
            sheet.reset_dimensions()
            source = enumerate((list(r) for r in sheet.iter_rows(values_only=True)), start=1)
        rows: list[tuple[int, list[Any]]] = []
        filled = 0
        for number, cells in source:
            if all(_blank(v) for v in cells):
                continue  # blank rows take no memory, whatever their number
            rows.append((number, [_Formula(v) if isinstance(v, str) and v.startswith("=") else v for v in cells]))
            filled += 1
            if filled > MAX_ROWS + 1:
                break  # too many rows: enough read to say so
        return rows
    except UploadRefused:
        raise
    except Exception as exc:
        raise UploadRefused(f"This workbook cannot be read ({type(exc).__name__}): save it again as .xlsx.") from None
    finally:
        workbook.close()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_rows(filename: str, data: bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[Problem]]:
    """The data rows of a file as {column: value} by row number, and the cell problems (formulas, stray cells).

    Raises UploadRefused when the file as a whole is unusable.
    """
    kind = _file_kind(filename, data)
    raw = _read_xlsx(data) if kind == "xlsx" else _read_csv(data)
    rows = [(n, values) for n, values in raw if not all(_blank(v) for v in values)]
    if not rows:
        raise UploadRefused("The sheet is empty: put the column names in row 1 and one demand line per row below.")
    header_number, header_cells = rows[0]
    if header_number != 1:
        raise UploadRefused("Row 1 must hold the column names (download the template to see them).")
    columns: list[str | None] = []
    for index, cell in enumerate(header_cells):
        if isinstance(cell, _Formula):
            raise UploadRefused(f"Row 1, column {_col(index)}: the column names may not be formulas.")
        columns.append(_normalise_header(cell) or None)
    while columns and columns[-1] is None:
        columns.pop()
    named = [c for c in columns if c]
    duplicates = sorted({c for c in named if named.count(c) > 1})
    missing = [c for c in FIELDS if c not in named]
    unknown = [f"{c} (column {_col(i)})" for i, c in enumerate(columns) if c and c not in FIELDS]
    unnamed = [_col(i) for i, c in enumerate(columns) if c is None]
    parts = []
    if missing:
        parts.append("missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing))
    if unknown:
        parts.append("unknown column" + ("s " if len(unknown) > 1 else " ") + ", ".join(unknown))
    if duplicates:
        parts.append("repeated column" + ("s " if len(duplicates) > 1 else " ") + ", ".join(duplicates))
    if unnamed:
        parts.append("column" + ("s " if len(unnamed) > 1 else " ") + ", ".join(unnamed) + " without a name in row 1")
    if parts:
        raise UploadRefused(
            "The columns do not match the template: " + "; ".join(parts) + ". "
            "The columns are: " + ", ".join(FIELDS) + "."
        )
    body = rows[1:]
    if not body:
        raise UploadRefused("The sheet has the column names but no demand lines: add one line per row below them.")
    if len(body) > MAX_ROWS:
        raise UploadRefused(
            f"The sheet has more than {MAX_ROWS:,} demand lines: upload at most {MAX_ROWS:,} rows at a time."
        )
    problems: list[Problem] = []
    out: list[tuple[int, dict[str, Any]]] = []
    for number, cells in body:
        values: dict[str, Any] = {}
        for index, value in enumerate(cells):
            name = columns[index] if index < len(columns) else None
            if name is None:
                if not _blank(value):
                    problems.append(Problem(number, f"column {_col(index)}", "a value outside the template's columns"))
                continue
            if isinstance(value, _Formula) or (isinstance(value, str) and value.startswith("=")):
                text = value.text if isinstance(value, _Formula) else value
                problems.append(
                    Problem(number, name, f"is a formula ({text[:40]}); formulas are refused: type the value itself")
                )
                value = None
            values[name] = value
        out.append((number, values))
    return out, problems


def _col(index: int) -> str:
    """0 -> A, 26 -> AA: how spreadsheets name columns."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


# ---------------------------------------------------------------- checking and staging


def check_rows(
    rows: Sequence[tuple[int, Mapping[str, Any]]], scope: Scope, problems: list[Problem] | None = None
) -> tuple[list[tuple[int, CheckedLine]], list[Problem]]:
    problems = list(problems or [])
    formula_cells = {(p.row, p.column) for p in problems}
    checked: list[tuple[int, CheckedLine]] = []
    for number, values in rows:
        if str(values.get("note") or "").strip() == EXAMPLE_NOTE:
            # The template uploaded unchanged must not post 12 example vans as real demand.
            problems.append(Problem(number, "note", EXAMPLE_PROBLEM))
            continue
        line, errors = check_line(values, scope)
        for name in FIELDS:
            if name in errors and (number, name) not in formula_cells:
                problems.append(Problem(number, name, errors[name]))
        if line is not None:
            checked.append((number, line))
    problems.sort(key=lambda p: (p.row, FIELDS.index(p.column) if p.column in FIELDS else 99))
    return checked, problems


def check_upload(round_id: int, filename: str, data: bytes, actor: Actor | None) -> UploadCheck:
    """Check a whole file; keep its rows for the preview only when every row is right.

    Raises UploadRefused for a file that cannot be used at all; returns the problems by row
    and column otherwise. Nothing becomes a demand line here.
    """
    rnd = open_round(round_id, actor, doing="upload demand")
    assert actor is not None
    rows, problems = read_rows(filename, data)
    checked, problems = check_rows(rows, Scope.of(rnd, actor), problems)
    if problems:
        return UploadCheck(problems=problems, rows=len(rows))
    # One pending preview per person and round: a new file replaces the last unsaved one.
    db.session.execute(
        sa.delete(DemandUpload).where(
            DemandUpload.round_id == rnd.id, DemandUpload.user_id == actor.id, DemandUpload.saved_at.is_(None)
        )
    )
    upload = DemandUpload(
        token=secrets.token_urlsafe(24),
        round_id=rnd.id,
        organization_id=actor.organization_id,
        user_id=actor.id,
        filename=(filename or "")[:255],
        row_count=len(rows),
        rows=[{"row": number, "line": line.to_json()} for number, line in checked],
    )
    db.session.add(upload)
    db.session.commit()
    return UploadCheck(upload=upload, rows=len(rows))


def pending_upload(round_id: int, token: str, actor: Actor | None, *, for_update: bool = False) -> DemandUpload:
    """The actor's organization's staged upload; anyone else's does not exist for it."""
    require_fleet(actor)
    assert actor is not None
    query = sa.select(DemandUpload).where(
        DemandUpload.token == token,
        DemandUpload.round_id == round_id,
        DemandUpload.organization_id == actor.organization_id,
    )
    if for_update:
        query = query.with_for_update()
    upload = db.session.execute(query).scalar_one_or_none()
    if upload is None:
        raise NotFound("This upload does not exist any more: upload the file again.")
    return upload


def staged_lines(upload: DemandUpload) -> list[tuple[int, CheckedLine]]:
    return [(r["row"], CheckedLine.from_json(r["line"])) for r in upload.rows]


def preview(
    round_id: int, token: str, actor: Actor | None
) -> tuple[Round, DemandUpload, list[tuple[int, CheckedLine]]]:
    """The staged lines as they will be saved."""
    upload = pending_upload(round_id, token, actor)
    rnd = open_round(round_id, actor, doing="upload demand")
    return rnd, upload, staged_lines(upload)


def _bulk_insert(values: list[dict[str, Any]]) -> None:
    """Insert every line in the session's transaction: COPY on PostgreSQL, one executemany elsewhere.

    psycopg sends an executemany as one statement per row (pipelined) and a multi-row VALUES of
    10,000 x 16 parameters is slow to prepare; COPY streams the rows in one command.
    """
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(DemandLine.__table__.insert(), values)
        return
    columns = list(values[0])
    raw = connection.connection.driver_connection
    assert raw is not None  # a live psycopg connection
    with raw.cursor() as cursor, cursor.copy(f"COPY demand_line ({', '.join(columns)}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(
                [
                    json.dumps(v) if k == "charging" else v.value if isinstance(v, DemandStatus) else v
                    for k, v in row.items()
                ]
            )


@dataclass
class SaveResult:
    lines: int
    vehicles: int


def save_upload(round_id: int, token: str, actor: Actor | None) -> SaveResult:
    """Save every staged row as a draft demand line, or none: one INSERT, one audit entry, one commit."""
    rnd = locked_open_round(round_id, actor, doing="post demand")
    assert actor is not None
    upload = pending_upload(round_id, token, actor, for_update=True)
    if upload.saved_at is not None:
        raise Conflict("This file was already saved: its lines are in the table below.")
    checked = staged_lines(upload)
    # The rows were checked before the preview and the round's scope is frozen since its draft;
    # only the clock can have moved since: a window may have started in a quarter now past.
    this_quarter = current_quarter()
    late = [Problem(row, "earliest_quarter", f"{line.earliest_quarter} is in the past (this is {this_quarter})")
            for row, line in checked if line.earliest_quarter < this_quarter]  # fmt: skip
    if late:
        shown = "; ".join(str(p) for p in late[:5])
        more = f" and {len(late) - 5} more" if len(late) > 5 else ""
        raise ValidationFailed(f"Nothing was saved: {shown}{more}. Fix the file and upload it again.")
    at = clock.now()
    values = [
        {
            **line.as_row(),
            "round_id": rnd.id,
            "organization_id": actor.organization_id,
            "status": DemandStatus.DRAFT,
            "created_at": at,
            "updated_at": at,
        }
        for _, line in checked
    ]
    _bulk_insert(values)
    upload.saved_at = at
    upload.rows = []  # the lines exist now; the staged copy would only grow the table
    vehicles = sum(v["quantity"] for v in values)
    audit.record(
        actor,
        "demand.upload",
        upload,
        summary=f"Uploaded {len(values):,} demand lines ({vehicles:,} vehicles) from “{upload.filename}”.",
        after={
            "filename": upload.filename,
            "lines": len(values),
            "vehicles": vehicles,
            "status": "draft",
        },
        round_id=rnd.id,
    )
    db.session.commit()
    return SaveResult(lines=len(values), vehicles=vehicles)


# ---------------------------------------------------------------- template and export


def example_row(rnd: Round) -> dict[str, Any]:
    """A believable line within the round's scope, to show how each column is written."""
    from marketplace.services.demand import quarter_index, quarter_of_index, scope_regions

    segment = rnd.segments[0] if rnd.segments else None
    regions = scope_regions(rnd)
    region = next((r for r in regions if r.level == "metro"), regions[0] if regions else None)
    start = quarter_index(Scope.of(rnd).this_quarter) + 2
    charging = [c for c in (segment.charging_standards if segment else []) if c in CHARGING_STANDARDS][:2] or ["CCS1"]
    return {
        "segment": segment.id if segment else "",
        "region": region.id if region else "",
        "quantity": 12,
        "earliest_quarter": quarter_of_index(start),
        "latest_quarter": quarter_of_index(start + 3),
        "min_range_km": 200,
        "min_payload_kg": 0,
        "charging": ";".join(charging),
        "max_unit_price": 250000,
        "splittable": "no",
        "note": EXAMPLE_NOTE,
    }


def template_csv(rnd: Round) -> bytes:
    out = io.StringIO()
    writer = spreadsheet.CsvWriter(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    row = example_row(rnd)
    writer.writerow([row[name] for name in FIELDS])
    return out.getvalue().encode("utf-8")


def _workbook_bytes(workbook: Any) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _set(cell: Any, value: Any) -> None:
    """Write a value that is never read back as a formula (a note may start with '=')."""
    spreadsheet.set_value(cell, value)


def _style_header(sheet: Any, widths: dict[str, int]) -> None:
    from openpyxl.styles import Font, PatternFill

    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0B5D4B")
    sheet.freeze_panes = "A2"
    for index, name in enumerate(c.value for c in sheet[1]):
        sheet.column_dimensions[_col(index)].width = widths.get(name, 16)


_WIDTHS = {"segment": 20, "region": 22, "earliest_quarter": 16, "latest_quarter": 15, "charging": 18, "note": 40}


def template_xlsx(rnd: Round) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from marketplace.services.demand import scope_regions

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(list(FIELDS))
    row = example_row(rnd)
    sheet.append([None] * len(FIELDS))
    for index, name in enumerate(FIELDS):
        _set(sheet.cell(row=2, column=index + 1), row[name])
    _style_header(sheet, _WIDTHS)

    help_sheet = workbook.create_sheet("Help")
    spreadsheet.append_row(help_sheet, ["column", "what to write"])
    for name in FIELDS:
        spreadsheet.append_row(help_sheet, [name, COLUMN_HELP[name]])
    spreadsheet.append_row(help_sheet, [])
    spreadsheet.append_row(help_sheet, [f"Round: {rnd.name}. Prices in {rnd.currency}. Row 1 keeps the column names."])
    spreadsheet.append_row(help_sheet, [])
    spreadsheet.append_row(help_sheet, ["segment id", "segment"])
    help_sheet.cell(row=help_sheet.max_row, column=1).font = Font(bold=True)
    for seg in rnd.segments:
        spreadsheet.append_row(help_sheet, [seg.id, seg.name])
    spreadsheet.append_row(help_sheet, [])
    spreadsheet.append_row(help_sheet, ["region id", "region"])
    help_sheet.cell(row=help_sheet.max_row, column=1).font = Font(bold=True)
    for region in scope_regions(rnd):
        spreadsheet.append_row(help_sheet, [region.id, "  " * region.depth + region.name])
    spreadsheet.append_row(help_sheet, [])
    spreadsheet.append_row(help_sheet, ["charging standard", "meaning"])
    help_sheet.cell(row=help_sheet.max_row, column=1).font = Font(bold=True)
    for code, label in CHARGING_STANDARDS.items():
        spreadsheet.append_row(help_sheet, [code, label])
    _style_header(help_sheet, {"column": 22, "what to write": 100})
    return _workbook_bytes(workbook)


EXPORT_EXTRA = ("status", "line_id", "committed_at")


def export_xlsx(rnd: Round, lines: list[DemandLine]) -> bytes:
    """The fleet's own lines: the template's columns first (so rows can be copied into an upload), then status."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append([*FIELDS, *EXPORT_EXTRA])
    for number, line in enumerate(lines, start=2):
        values = [
            line.segment_id,
            line.region_id,
            line.quantity,
            line.earliest_quarter,
            line.latest_quarter,
            line.min_range_km,
            line.min_payload_kg,
            ";".join(line.charging),
            line.max_unit_price,
            "yes" if line.splittable else "no",
            line.note,
            line.status.value,
            line.id,
            line.committed_at.strftime("%Y-%m-%d %H:%M:%S UTC") if line.committed_at else "",
        ]
        for index, value in enumerate(values, start=1):
            _set(sheet.cell(row=number, column=index), value)
        sheet.cell(row=number, column=FIELDS.index("max_unit_price") + 1).number_format = "#,##0.00"
    _style_header(sheet, _WIDTHS)
    return _workbook_bytes(workbook)


# ---------------------------------------------------------------- many lines at once from a system (the API)


@dataclass
class BulkResult:
    """Saved lines (ids in the order given) or, when any row is wrong, every problem and nothing saved."""

    line_ids: list[int] = field(default_factory=list)
    vehicles: int = 0
    problems: list[Problem] = field(default_factory=list)


def create_lines(round_id: int, rows: list[Mapping[str, Any]], actor: Actor | None) -> BulkResult:
    """Post many draft lines from an organization's own system: every row or none, with the same checks
    and the same per-row problems as a spreadsheet upload (rows are numbered from 0, as in a JSON array)."""
    rnd = locked_open_round(round_id, actor, doing="post demand")
    assert actor is not None
    if not rows:
        raise ValidationFailed("Send at least one line.")
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(f"At most {MAX_ROWS:,} lines at once: send the rest in another request.")
    checked, problems = check_rows(list(enumerate(rows)), Scope.of(rnd, actor))
    if problems:
        return BulkResult(problems=problems)
    at = clock.now()
    values = [
        {**line.as_row(), "round_id": rnd.id, "organization_id": actor.organization_id,
         "status": DemandStatus.DRAFT, "created_at": at, "updated_at": at}
        for _, line in checked
    ]  # fmt: skip
    # SQLAlchemy's "insertmanyvalues": batched multi-row INSERTs whose RETURNING ids come back in the order sent.
    ids = list(
        db.session.connection()
        .execute(sa.insert(DemandLine).returning(DemandLine.id, sort_by_parameter_order=True), values)
        .scalars()
    )
    vehicles = sum(v["quantity"] for v in values)
    audit.record(
        actor,
        "demand.bulk_create",
        rnd,
        summary=f"Posted {len(values):,} demand lines ({vehicles:,} vehicles) through the API.",
        after={"lines": len(values), "vehicles": vehicles, "status": "draft"},
        round_id=rnd.id,
    )
    db.session.commit()
    return BulkResult(line_ids=ids, vehicles=vehicles)
