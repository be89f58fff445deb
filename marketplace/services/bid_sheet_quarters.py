"""The bid sheet's "Capacity by quarter" sheet: written with the OEM's rows, read back as the quarter capacity
form's fields (services.quarter_capacity checks them), its problems named by sheet, row and column."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook

from marketplace.models import Round
from marketplace.services import quarter_capacity, spreadsheet
from marketplace.services.access import Actor
from marketplace.services.bid_sheet_book import CAPACITY_SHEET, Rows, blank, cell_problems
from marketplace.services.values import text

CAPACITY_COLUMNS = ("quarter", "segment", "capacity")


def write_capacity_sheet(wb: Workbook, rnd: Round, actor: Actor) -> None:
    """The OEM's capacity by quarter, one row per quarter (and segment), as the upload reads it back."""
    capacity = wb.create_sheet(CAPACITY_SHEET)
    spreadsheet.append_row(capacity, list(CAPACITY_COLUMNS))
    for quarter_row in quarter_capacity.rows_of(rnd, actor):
        spreadsheet.append_row(capacity, [quarter_row.quarter, quarter_row.segment_id, quarter_row.capacity])
    for letter, width in zip("ABC", (12, 24, 12), strict=True):
        capacity.column_dimensions[letter].width = width


def capacity_values(raw: Rows) -> tuple[dict[str, Any], dict[int, int], list[str]]:
    """The capacity sheet's rows as the quarter capacity form's fields (rowN_quarter, ...), the sheet row of
    each N, and the problems found reading them."""
    prefix = f"{CAPACITY_SHEET}, "
    while raw and all(blank(v) for v in raw[-1][1]):
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
        if all(blank(v) for v in cells):
            continue
        problems.extend(message for _, message in cell_problems(number, cells, cell_formulas, columns, prefix))
        n = len(rows_at) + 1
        rows_at[n] = number
        for i, name in enumerate(columns):
            value = cells[i] if i < len(cells) else None
            values[f"row{n}_{name}"] = "" if value is None else value
    return values, rows_at, problems


def capacity_problems(errors: dict[str, str], rows_at: dict[int, int]) -> list[str]:
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
