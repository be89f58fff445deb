"""The bid sheet: one XLSX row per published lot, for OEMs that bid on many lots at once.

The download lists the lots the OEM sees (with what the lot needs) and its current bids, each
with the quarters it delivers in, a sheet with the OEM's capacity by quarter and one with its
package bids (services.bid_sheet_packages). The upload is checked as a whole with the same rules
and messages as the bid, package and capacity by quarter forms, each prefixed "row N, column:"
(and the sheet's name outside the Bids sheet), and then either every changed row becomes a new
bid or package revision (and changed quarterly capacities replace the old ones) or nothing is
saved. A row whose bid cells are blank leaves that lot alone, a package left out of the sheet
stays as it is (withdraw either on its page); a row that repeats the current bid makes no new
revision. A sheet without the quarters column, the capacity sheet or the packages sheet (made
before they existed) leaves those as they are.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import Lot, Round
from marketplace.services import bidding, quarter_capacity, spreadsheet
from marketplace.services.access import Actor, require_oem
from marketplace.services.bid_sheet_book import (  # noqa: F401  (the sheet's names, read by tests and the seed)
    CAPACITY_SHEET,
    MAX_ROWS,
    PACKAGES_SHEET,
    READ_COLUMNS,
    SHEET,
    Rows,
    SheetRefused,
    _read,
    cell_problems,
    read_book,
)
from marketplace.services.bid_sheet_book import blank as _blank
from marketplace.services.bid_sheet_book import col as _col
from marketplace.services.bid_sheet_packages import PackagePlan, plan_packages, write_packages_sheet
from marketplace.services.bid_sheet_quarters import capacity_problems as _capacity_problems
from marketplace.services.bid_sheet_quarters import capacity_values as _capacity_values
from marketplace.services.bid_sheet_quarters import write_capacity_sheet
from marketplace.services.errors import Conflict
from marketplace.services.quarter_lists import quarters_text
from marketplace.services.values import number_format_of, text

INFO_COLUMNS = (
    "lot", "segment", "region", "window", "charging", "min_range_km", "min_payload_kg", "lot_quantity", "fleets",
)  # fmt: skip
BID_COLUMNS = ("model_code", "min_quantity", "max_quantity")
QUARTERS_COLUMN = "quarters"  # last, after the tiers: optional on upload (older sheets keep the bid's quarters)
MIN_TIERS_SHOWN = 3


def tier_columns(count: int) -> list[str]:
    return [f"tier{n}_{part}" for n in range(1, count + 1) for part in ("min", "price")]


@dataclass
class SheetResult:
    saved: list[str] = field(default_factory=list)  # lot codes with a new revision
    unchanged: list[str] = field(default_factory=list)
    blank: int = 0
    quarter_rows: int | None = None  # capacity by quarter replaced: how many rows now (None: left as it was)
    packages_saved: list[str] = field(default_factory=list)  # package names with a new revision
    packages_unchanged: list[str] = field(default_factory=list)

    def quarters_message(self) -> str:
        if self.quarter_rows:
            return f"Your capacity by quarter is saved ({count_of(self.quarter_rows, 'row')})."
        return "No capacity by quarter: you can deliver in any quarter, up to your total."

    def messages(self) -> list[tuple[str, str]]:
        """What the upload did, as (message, category) for the page."""
        out = [(self.quarters_message(), "success")] if self.quarter_rows is not None else []
        if self.saved:
            unchanged = f"; {len(self.unchanged)} unchanged" if self.unchanged else ""
            out.append((f"Bid sheet saved: new revisions on {', '.join(self.saved)}{unchanged}.", "success"))
        if self.packages_saved:
            unchanged = f"; {len(self.packages_unchanged)} unchanged" if self.packages_unchanged else ""
            names = ", ".join(f"“{name}”" for name in self.packages_saved)
            out.append((f"Packages saved: new revisions of {names}{unchanged}.", "success"))
        if not out:
            bids, packages = count_of(len(self.unchanged), "bid"), count_of(len(self.packages_unchanged), "package")
            out.append((f"Nothing changed: the {bids} and {packages} in the sheet are the ones that count already.",
                        "info"))  # fmt: skip
        return out


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

    write_capacity_sheet(wb, rnd, actor)
    write_packages_sheet(wb, rnd, actor)

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
        f"“{PACKAGES_SHEET}”: your package bids (all or nothing over several lots), one row per package and lot: "
        "model_code, quantity and unit_price of that lot; the package's name and quarters repeated on each of its "
        "rows. package_id names a package you have; leave it blank for a new one (its rows share a new name).",
        "Leave a lot's bid cells blank to leave it as it is, and a package out of the sheet to leave it as it is. "
        "Withdraw a bid or a package on its page.",
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
        unread = cell_problems(number, values, formulas, columns)
        problems.extend((number, i, message) for i, message in unread)
        row_problems = bool(unread)
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


def upload_sheet(round_id: int, filename: str, data: bytes, actor: Actor | None) -> SheetResult:
    """Check a whole bid sheet and save every changed bid (and the capacity by quarter when it changed) in one
    transaction, or refuse it all."""
    actor = require_oem(actor)
    rnd = bidding.tender_round(round_id, actor)
    raw, capacity_raw, packages_raw = read_book(filename, data)
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
    packages = PackagePlan()
    if packages_raw is not None:
        packages = plan_packages(packages_raw, rnd, actor, models, number_format_of(actor))
    if problems or capacity_problems or packages.problems:
        problems.sort(key=lambda p: (p[0], p[1]))
        listed = [p[2] for p in problems] + capacity_problems + [p[2] for p in packages.problems]
        count = len(listed)
        raise SheetRefused(
            f"Nothing was saved: the sheet has {count} problem{'s' if count > 1 else ''}. "
            "Fix them and upload it again.",
            listed,
        )
    existing = quarter_capacity.rows_of(rnd, actor)
    quarters_changed = quarter_rows is not None and not quarter_capacity.same_rows(existing, quarter_rows)
    if not checked and not quarters_changed and not packages.changes and not packages.unchanged:
        raise SheetRefused("The sheet holds no bid: fill model_code, quantities and tiers for the lots you bid on.")
    current = bidding.bids_of(rnd, actor)
    sheet = SheetResult(blank=blank, packages_unchanged=packages.unchanged)
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
    if (changed or packages.changes) and bidding.capacity_of(rnd, actor) is None:
        raise Conflict(
            "State your capacity for this round first (the most vehicles you can deliver over all your "
            "bids and packages), then upload the sheet."
        )
    for row, bid in changed:
        bidding.guarded("bid", partial(bidding.save_bid, rnd, row.lot, bid, actor))
        sheet.saved.append(row.lot.code)
    for package, checked_package in packages.changes:
        saved = bidding.guarded("package", partial(bidding.save_package, rnd, checked_package, actor, package))
        sheet.packages_saved.append(saved.package.name)
    bidding.commit_or_conflict("bid")
    db.session.expire_all()
    return sheet
