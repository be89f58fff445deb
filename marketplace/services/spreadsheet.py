"""Writing into spreadsheets: every string is text, never a formula (CSV and formula injection).

A model name, a note or a round name typed by a member may start with "=", "+", "-", "@", a tab
or a carriage return; a spreadsheet program would run it as a formula (=HYPERLINK to a stranger's
site, =WEBSERVICE...). Every export writes through this module:
- XLSX: a string cell is stored as a string (type "s") with Excel's quote prefix set, so it is shown
  as typed and stays text even when edited;
- CSV: such a string gets a leading apostrophe, as OWASP recommends for CSV injection; plain numbers
  ("-12.50") are left alone, since no program reads them as anything else.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def is_risky(value: Any) -> bool:
    """A string a spreadsheet program could take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value)


def csv_value(value: Any) -> Any:
    return "'" + value if is_risky(value) else value


class CsvWriter:
    """csv.writer whose rows pass through csv_value."""

    def __init__(self, out: Any, **options: Any) -> None:
        self._writer = csv.writer(out, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([csv_value(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def set_value(cell: Any, value: Any) -> Any:
    """Put a value in an openpyxl cell; a string is always text."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    return cell


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """sheet.append, with every string kept as text."""
    from openpyxl.cell.cell import Cell

    sheet.append([set_value(Cell(sheet), v) for v in values])
