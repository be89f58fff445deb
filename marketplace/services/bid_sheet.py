"""The bid sheet: one XLSX row per published lot, for OEMs that bid on many lots at once.

The download lists the lots the OEM sees (with what the lot needs) and its current bids, each
with the quarters it delivers in, and a second sheet with the OEM's capacity by quarter. The
upload is checked as a whole with the same rules and messages as the bid form and the capacity
by quarter form, each prefixed "row N, column:", and then either every changed row becomes a new
bid revision (and changed quarterly capacities replace the old ones) or nothing is saved. A row
whose bid cells are blank leaves that lot alone (withdraw on the bid's page); a row that repeats
the current bid makes no new revision. A sheet without the quarters column, or without the
capacity sheet (made before quarters existed), leaves those as they are.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from marketplace.extensions import db
from marketplace.models import Lot, Round
from marketplace.services import bidding, quarter_capacity, spreadsheet, upload_limits
from marketplace.services.access import Actor, require_oem
from marketplace.services.errors import Conflict, ValidationFailed
from marketplace.services.quarter_lists import quarters_text
from marketplace.services.values import NUMBER_TEXT_MAX, number_format_of, text

SHEET = "Bids"
INFO_COLUMNS = (
    "lot", "segment", "region", "window", "charging", "min_range_km", "min_payload_kg", "lot_quantity", "fleets",
)  # fmt: skip
BID_COLUMNS = ("model_code", "min_quantity", "max_quantity")
QUARTERS_COLUMN = "quarters"  # last, after the tiers: optional on upload (older sheets keep the bid's quarters)
CAPACITY_SHEET = "Capacity by quarter"
CAPACITY_COLUMNS = ("quarter", "segment", "capacity")
MIN_TIERS_SHOWN = 3
MAX_ROWS = 5000
READ_COLUMNS = 100  # the sheet has 12 columns and two per tier; more is refused unread (services.upload_limits)


def tier_columns(count: int) -> list[str]:
    return [f"tier{n}_{part}" for n in range(1, count + 1) for part in ("min", "price")]


class SheetRefused(ValidationFailed):
    """The sheet cannot be saved: `problems` lists every one ("row 7, tier2_price: ..."); nothing was saved."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class SheetResult:
    saved: list[str] = field(default_factory=list)  # lot codes with a new revision
    unchanged: list[str] = field(default_factory=list)
    blank: int = 0
    quarter_rows: int | None = None  # capacity by quarter replaced: how many rows now (None: left as it was)


# ---------------------------------------------------------------- download


def build_sheet(rnd: Round, actor: Actor) -> bytes:
    """The OEM's bid sheet for a round: its visible lots, prefilled with its current bids."""
    require_oem(actor)
    lots = bidding.lots_of(rnd)
    bids = bidding.bids_of(rnd, actor)
    shown_tiers = max(
        [MIN_TIERS_SHOWN]
        + [len(b.current.tiers) + 1 for b in bids.values() if b.current is not None and not b.current.withdrawn]
    )
    shown_tiers = min(shown_tiers, bidding.MAX_TIERS)
    columns = [*INFO_COLUMNS, *BID_COLUMNS, *tier_columns(shown_tiers), QUARTERS_COLUMN]

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    spreadsheet.append_row(ws, columns)
    info_fill = PatternFill("solid", fgColor="E9ECEF")
    head_fill = PatternFill("solid", fgColor="0B5D4B")
    for index, name in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = head_fill
        ws.column_dimensions[get_column_letter(index)].width = max(11, len(name) + 3)
    ws.column_dimensions["B"].width = 28
    ws.column_dimensions["C"].width = 24
    ws.column_dimensions[get_column_letter(len(columns))].width = 26
    for lot in lots:
        current = bids[lot.id].current if lot.id in bids else None
        row: list[Any] = [
            lot.code,
            lot.segment.short_name,
            f"{lot.region.name} ({lot.region_id})",
            lot.window,
            lot.charging,
            lot.min_range_km,
            lot.min_payload_kg,
            lot.quantity,
            lot.fleet_count,
        ]
        if current is not None and not current.withdrawn:
            row += [current.vehicle_model.code, current.min_quantity, current.max_quantity]
            for tier in current.tiers:
                row += [tier.min_quantity, float(tier.unit_price)]
            row += [None] * (len(columns) - 1 - len(row))
            row.append(quarters_text(current.quarters) or None)
        spreadsheet.append_row(ws, row)
        for index in range(1, len(INFO_COLUMNS) + 1):
            ws.cell(row=ws.max_row, column=index).fill = info_fill
        for n in range(shown_tiers):
            ws.cell(row=ws.max_row, column=len(INFO_COLUMNS) + len(BID_COLUMNS) + 2 * n + 2).number_format = "#,##0.00"
    ws.freeze_panes = "B2"

    models = bidding.bid_models(actor)
    ref = wb.create_sheet("Your models")
    spreadsheet.append_row(ref, ["model_code", "name", "segment", "range_km", "payload_kg", "charging"])
    for model in sorted(models.values(), key=lambda m: (m.segment_id, m.name)):
        spreadsheet.append_row(
            ref, [model.code, model.name, model.segment_id, model.range_km, model.payload_kg, ", ".join(model.charging)]
        )
    for letter, width in zip("ABCDEF", (34, 30, 24, 10, 11, 22), strict=True):
        ref.column_dimensions[letter].width = width

    capacity = wb.create_sheet(CAPACITY_SHEET)
    spreadsheet.append_row(capacity, list(CAPACITY_COLUMNS))
    for quarter_row in quarter_capacity.rows_of(rnd, actor):
        spreadsheet.append_row(capacity, [quarter_row.quarter, quarter_row.segment_id, quarter_row.capacity])
    for letter, width in zip("ABC", (12, 24, 12), strict=True):
        capacity.column_dimensions[letter].width = width

    help_ = wb.create_sheet("How to")
    for line in (
        f"Bid sheet for “{rnd.name}”: prices in {rnd.currency}, exact to the cent.",
        "Grey columns describe the lot; do not change them. Fill model_code (see “Your models”), "
        "min_quantity and max_quantity for each lot you bid on.",
        "Tiers are all-units volume prices: from tierN_min vehicles, every vehicle costs tierN_price. "
        "tier1_min equals min_quantity; each next tier starts higher. Add tier columns in pairs if you need more.",
        "quarters: the quarters the bid delivers in, such as “2027Q2-2028Q1, 2028Q3”; blank: any quarter of the "
        "lot's window.",
        f"“{CAPACITY_SHEET}”: the most vehicles you can deliver in each quarter (one row per quarter; a segment id "
        "from “Your models” caps that segment alone, blank: all segments). Once you list quarters, you deliver only "
        "in them. Rows replace those stated before; remove every row to state none.",
        "Leave a lot's bid cells blank to leave it as it is. Withdraw a bid on its page.",
        "Type values, not formulas. The upload saves every row or none, and lists each problem by row and column.",
    ):
        spreadsheet.append_row(help_, [line])
    help_.column_dimensions["A"].width = 140
    for row in help_.iter_rows():
        row[0].alignment = Alignment(wrap_text=True)

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- upload


def _col(index: int) -> str:
    return get_column_letter(index + 1)


Rows = list[tuple[int, list[Any], list[bool]]]  # (row number, values, is-formula flags)


def _read(filename: str, data: bytes) -> Rows:
    """Rows of the Bids sheet as (row number, values, is-formula flags)."""
    return _read_book(filename, data)[0]


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
    for number, cells in enumerate(ws.iter_rows(), start=1):
        if number > max_rows + 1:
            raise SheetRefused(too_many)
        values = [getattr(c, "value", None) for c in cells]
        formulas = [getattr(c, "data_type", None) == "f" for c in cells]
        rows.append((number, values, formulas))
    return rows


def _read_book(filename: str, data: bytes) -> tuple[Rows, Rows | None]:
    """Rows of the Bids sheet, and of the capacity by quarter sheet when the workbook has one."""
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
    except SheetRefused:
        raise
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise SheetRefused(
                f"This workbook cannot be read ({type(exc).__name__}): save it again as .xlsx."
            ) from None
        # openpyxl turns a number cell into an int before we see it; Python refuses past 4,300 digits.
        raise SheetRefused(
            f"Row {len(rows) + 1} holds a number of thousands of digits: a number has at most "
            f"{NUMBER_TEXT_MAX} characters. Correct that cell and upload the sheet again."
        ) from None
    except Exception as exc:
        raise SheetRefused(f"This workbook cannot be read ({type(exc).__name__}): save it again as .xlsx.") from None
    finally:
        wb.close()
    return rows, capacity


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


def _blank(value: Any) -> bool:
    return text(value) == ""


def _columns(header: list[Any], formulas: list[bool]) -> list[str | None]:
    if any(formulas):
        raise SheetRefused("Row 1 must hold the column names, not formulas: download the bid sheet again.")
    columns = [text(v).lower() or None for v in header]
    while columns and columns[-1] is None:
        columns.pop()
    allowed_tiers = set(tier_columns(bidding.MAX_TIERS))
    required = [*INFO_COLUMNS, *BID_COLUMNS, "tier1_min", "tier1_price"]
    named = [c for c in columns if c]
    missing = [c for c in required if c not in named]
    for n in range(2, bidding.MAX_TIERS + 1):
        pair = (f"tier{n}_min", f"tier{n}_price")
        if (pair[0] in named) != (pair[1] in named):
            missing.append(pair[1] if pair[0] in named else pair[0])
    unknown = [
        f"{c} (column {_col(i)})"
        for i, c in enumerate(columns)
        if c and c not in INFO_COLUMNS and c not in BID_COLUMNS and c not in allowed_tiers and c != QUARTERS_COLUMN
    ]
    repeated = sorted({c for c in named if named.count(c) > 1})
    unnamed = [_col(i) for i, c in enumerate(columns) if c is None]
    parts = []
    if missing:
        parts.append("missing column" + ("s " if len(missing) > 1 else " ") + ", ".join(missing))
    if unknown:
        parts.append("unknown column" + ("s " if len(unknown) > 1 else " ") + ", ".join(unknown))
    if repeated:
        parts.append("repeated column" + ("s " if len(repeated) > 1 else " ") + ", ".join(repeated))
    if unnamed:
        parts.append("column" + ("s " if len(unnamed) > 1 else " ") + ", ".join(unnamed) + " without a name in row 1")
    if parts:
        raise SheetRefused(
            "The columns do not match the bid sheet: "
            + "; ".join(parts)
            + ". Download the bid sheet again to see them."
        )
    return columns


@dataclass
class _Row:
    number: int
    lot: Lot
    values: dict[str, Any]


def _rows(rnd: Round, raw: Rows) -> tuple[list[_Row], list[tuple[int, int, str]], int]:
    """The rows that carry a bid, the problems found reading them (row, column index, message), blank rows."""
    while raw and all(_blank(v) for v in raw[-1][1]):
        raw.pop()
    if not raw:
        raise SheetRefused("The sheet is empty: download the bid sheet, fill in your bids and upload it.")
    columns = _columns(raw[0][1], raw[0][2])
    index_of = {c: i for i, c in enumerate(columns) if c}
    if len(raw) == 1:
        raise SheetRefused("The sheet has the column names but no lots: download the bid sheet again.")
    lots = {lot.code.lower(): lot for lot in bidding.lots_of(rnd)}
    seen: dict[int, int] = {}
    problems: list[tuple[int, int, str]] = []
    rows: list[_Row] = []
    blank = 0
    bid_keys = [c for c in columns if c and (c in BID_COLUMNS or c.startswith("tier") or c == QUARTERS_COLUMN)]
    for number, values, formulas in raw[1:]:
        if all(_blank(v) for v in values):
            continue
        row_problems = False
        for i, value in enumerate(values):
            if i >= len(columns) and not _blank(value):
                problems.append((number, i, f"row {number}, column {_col(i)}: a value outside the sheet's columns"))
                row_problems = True
            elif formulas[i] if i < len(formulas) else False:
                name = columns[i] if i < len(columns) else _col(i)
                problems.append(
                    (number, i, f"row {number}, {name}: is a formula ({text(value)[:40]}); type the value itself")
                )
                row_problems = True
        cells = {c: (values[i] if i < len(values) else None) for c, i in index_of.items()}
        code = text(cells["lot"])
        lot = lots.get(code.lower())
        if not code:
            problems.append(
                (number, index_of["lot"], f"row {number}, lot: give the lot code (as in the downloaded sheet)")
            )
            continue
        if lot is None:
            problems.append(
                (number, index_of["lot"], f"row {number}, lot: “{code}” is not a lot of this round's tender")
            )
            continue
        if lot.id in seen:
            problems.append(
                (
                    number,
                    index_of["lot"],
                    f"row {number}, lot: {lot.code} is here again (first in row {seen[lot.id]}): one row per lot",
                )
            )
            continue
        seen[lot.id] = number
        if all(_blank(cells[k]) for k in bid_keys):
            blank += 1
            continue
        if not row_problems:
            rows.append(_Row(number, lot, {k: cells[k] for k in bid_keys}))
    return rows, problems, blank


def _capacity_values(raw: Rows) -> tuple[dict[str, Any], dict[int, int], list[str]]:
    """The capacity sheet's rows as the quarter capacity form's fields (rowN_quarter, ...), the sheet row of
    each N, and the problems found reading them."""
    prefix = f"{CAPACITY_SHEET}, "
    while raw and all(_blank(v) for v in raw[-1][1]):
        raw.pop()
    if not raw:
        return {}, {}, []
    header, formulas = raw[0][1], raw[0][2]
    columns = [text(v).lower() or None for v in header]
    while columns and columns[-1] is None:
        columns.pop()
    if any(formulas) or sorted(c for c in columns if c) != sorted(CAPACITY_COLUMNS) or None in columns:
        return {}, {}, [
            f"{prefix}row 1: the columns must be {', '.join(CAPACITY_COLUMNS)}: download the bid sheet again"
        ]  # fmt: skip
    values: dict[str, Any] = {}
    rows_at: dict[int, int] = {}
    problems: list[str] = []
    for number, cells, cell_formulas in raw[1:]:
        if all(_blank(v) for v in cells):
            continue
        for i, value in enumerate(cells):
            if i >= len(columns) and not _blank(value):
                problems.append(f"{prefix}row {number}, column {_col(i)}: a value outside the sheet's columns")
            elif i < len(cell_formulas) and cell_formulas[i]:
                name = columns[i] if i < len(columns) else _col(i)
                problems.append(
                    f"{prefix}row {number}, {name}: is a formula ({text(value)[:40]}); type the value itself"
                )
        n = len(rows_at) + 1
        rows_at[n] = number
        for i, name in enumerate(columns):
            value = cells[i] if i < len(cells) else None
            values[f"row{n}_{name}"] = "" if value is None else value
    return values, rows_at, problems


def _capacity_problems(errors: dict[str, str], rows_at: dict[int, int]) -> list[str]:
    """The quarter capacity rules' problems (row2_capacity, rows) as the sheet's rows and columns."""
    out = []
    for key, message in errors.items():
        number, _, name = key[3:].partition("_")
        if key.startswith("row") and number.isdigit() and int(number) in rows_at:
            out.append((rows_at[int(number)], CAPACITY_COLUMNS.index(name) if name in CAPACITY_COLUMNS else 9,
                        f"{CAPACITY_SHEET}, row {rows_at[int(number)]}, {name}: {message}"))  # fmt: skip
        else:
            out.append((0, 0, f"{CAPACITY_SHEET}: {message}"))
    return [p[2] for p in sorted(out)]


def upload_sheet(round_id: int, filename: str, data: bytes, actor: Actor | None) -> SheetResult:
    """Check a whole bid sheet and save every changed bid (and the capacity by quarter when it changed) in one
    transaction, or refuse it all."""
    actor = require_oem(actor)
    rnd = bidding.tender_round(round_id, actor)
    raw, capacity_raw = _read_book(filename, data)
    rows, problems, blank = _rows(rnd, raw)
    capacity_values, capacity_rows_at, capacity_problems = (
        _capacity_values(capacity_raw) if capacity_raw is not None else ({}, {}, [])
    )

    # Reading is done; from here the round is locked until the one commit.
    rnd = bidding.open_for_bids(round_id, actor)
    models = bidding.bid_models(actor)
    total = bidding.capacity_of(rnd, actor)
    quarter_rows: list[quarter_capacity.QuarterRow] | None = None
    if capacity_raw is not None and not capacity_problems:
        segments = quarter_capacity.segment_ids()
        quarter_rows, errors = quarter_capacity.check_rows(capacity_values, segments, total, number_format_of(actor))
        capacity_problems = _capacity_problems(errors, capacity_rows_at)
        if quarter_rows and total is None and not capacity_problems:
            capacity_problems = [
                f"{CAPACITY_SHEET}: state your total capacity for the round first (on the tender's page), "
                "then split it by quarter"
            ]
    checked: list[tuple[_Row, bidding.CheckedBid]] = []
    order = {
        c: i
        for i, c in enumerate(INFO_COLUMNS + BID_COLUMNS + tuple(tier_columns(bidding.MAX_TIERS)) + (QUARTERS_COLUMN,))
    }
    for row in rows:
        result, errors = bidding.check_bid(row.values, row.lot, rnd, models, number_format_of(actor))
        for key, message in errors.items():
            problems.append((row.number, order.get(key, 99), f"row {row.number}, {key}: {message}"))
        if result is not None:
            checked.append((row, result))
    if problems or capacity_problems:
        problems.sort(key=lambda p: (p[0], p[1]))
        listed = [p[2] for p in problems] + capacity_problems
        count = len(listed)
        raise SheetRefused(
            f"Nothing was saved: the sheet has {count} problem{'s' if count > 1 else ''}. "
            "Fix them and upload it again.",
            listed,
        )
    existing = quarter_capacity.rows_of(rnd, actor)
    quarters_changed = quarter_rows is not None and not quarter_capacity.same_rows(existing, quarter_rows)
    if not checked and not quarters_changed:
        raise SheetRefused("The sheet holds no bid: fill model_code, quantities and tiers for the lots you bid on.")
    current = bidding.bids_of(rnd, actor)
    sheet = SheetResult(blank=blank)
    if quarters_changed:
        assert quarter_rows is not None
        quarter_capacity.replace_rows(rnd, existing, quarter_rows, actor)
        sheet.quarter_rows = len(quarter_rows)
    changed = []
    for row, bid in checked:
        if bid.same_as(current[row.lot.id].current if row.lot.id in current else None):
            sheet.unchanged.append(row.lot.code)
        else:
            changed.append((row, bid))
    if changed and bidding.capacity_of(rnd, actor) is None:
        raise Conflict(
            "State your capacity for this round first (the most vehicles you can deliver over all your "
            "bids and packages), then upload the sheet."
        )
    for row, bid in changed:
        bidding.guarded("bid", partial(bidding.save_bid, rnd, row.lot, bid, actor))
        sheet.saved.append(row.lot.code)
    bidding.commit_or_conflict("bid")
    db.session.expire_all()
    return sheet
