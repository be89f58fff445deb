"""The bid sheet's "Packages" sheet: the OEM's package bids, one row per package and lot it covers.

A row names its package by `package_id` (the reference the download writes; blank for a new package, whose
rows are joined by their `package` name), the lot, the model, the quantity and the unit price; the name and the
quarters are the package's and are repeated on each of its rows. The upload checks every package with the
package form's rules (services.bidding.check_package), each problem named "Packages, row N, column", and the
caller saves the changed packages with the bids in one transaction or nothing. A package left out of the sheet
stays as it is (withdraw it on its page), as does every package when the workbook has no Packages sheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from marketplace.models import Lot, PackageBid, PackageRevision, Round, VehicleModel
from marketplace.services import bidding, spreadsheet
from marketplace.services.access import Actor
from marketplace.services.bid_sheet_book import PACKAGES_SHEET, Rows, blank, cell_problems
from marketplace.services.quarter_lists import quarters_text
from marketplace.services.values import NumberFormat, text

PACKAGE_COLUMNS = ("package_id", "package", "lot", "model_code", "quantity", "unit_price", "quarters")
_ITEM_FIELDS = ("model_code", "quantity", "unit_price")


def write_packages_sheet(wb: Workbook, rnd: Round, actor: Actor) -> None:
    """The OEM's live packages, one row per item, as the upload reads them back."""
    ws = wb.create_sheet(PACKAGES_SHEET)
    spreadsheet.append_row(ws, list(PACKAGE_COLUMNS))
    for index in range(1, len(PACKAGE_COLUMNS) + 1):
        ws.cell(row=1, column=index).font = Font(bold=True)
    ws.cell(row=1, column=1).fill = PatternFill("solid", fgColor="E9ECEF")
    for package in bidding.packages_of(rnd, actor):
        current = package.current
        if current is None or current.withdrawn:
            continue
        for item in sorted(current.items, key=lambda i: i.lot.code):
            spreadsheet.append_row(ws, [
                package.public_id, package.name, item.lot.code, item.vehicle_model.code, item.quantity,
                float(item.unit_price), quarters_text(current.quarters) or None,
            ])  # fmt: skip
            ws.cell(row=ws.max_row, column=1).fill = PatternFill("solid", fgColor="E9ECEF")
            ws.cell(row=ws.max_row, column=6).number_format = "#,##0.00"
    for letter, width in zip("ABCDEFG", (20, 30, 16, 28, 10, 14, 26), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"


@dataclass
class PackagePlan:
    """What the Packages sheet asks: the packages to revise (None: a new one), the unchanged ones, the problems."""

    changes: list[tuple[PackageBid | None, bidding.CheckedPackage]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[tuple[int, int, str]] = field(default_factory=list)  # (row, column index, message)


@dataclass
class _Group:
    package: PackageBid | None
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lots: dict[int, int] = field(default_factory=dict)  # lot id -> its row
    broken: bool = False  # a row of it has a problem: checking the rest would report lots missing that are not


def _problem(plan: PackagePlan, row: int, column: str, message: str) -> None:
    index = PACKAGE_COLUMNS.index(column) if column in PACKAGE_COLUMNS else 0
    plan.problems.append((row, index, f"{PACKAGES_SHEET}, row {row}, {column}: {message}"))


def _header(raw: Rows, plan: PackagePlan) -> list[str | None] | None:
    header, formulas = raw[0][1], raw[0][2]
    columns = [text(v).lower() or None for v in header]
    while columns and columns[-1] is None:
        columns.pop()
    if any(formulas) or sorted(c for c in columns if c) != sorted(PACKAGE_COLUMNS) or None in columns:
        plan.problems.append((1, 0, f"{PACKAGES_SHEET}, row 1: the columns must be {', '.join(PACKAGE_COLUMNS)}: "
                                    "download the bid sheet again"))  # fmt: skip
        return None
    return columns


def _groups(raw: Rows, columns: list[str | None], packages: list[PackageBid], lots: dict[str, Lot],
            plan: PackagePlan) -> dict[tuple[str, Any], _Group]:  # fmt: skip
    """The sheet's rows by package: an existing one by its id, a new one by its name."""
    by_public_id = {p.public_id: p for p in packages}
    live_names = {p.name.strip().lower(): p for p in packages if p.current is not None and not p.current.withdrawn}
    groups: dict[tuple[str, Any], _Group] = {}
    for number, values, formulas in raw[1:]:
        if all(blank(v) for v in values):
            continue
        unread = cell_problems(number, values, formulas, columns, f"{PACKAGES_SHEET}, ")
        plan.problems.extend((number, i, message) for i, message in unread)
        bad = bool(unread)
        cells = {c: (values[i] if i < len(values) else None) for i, c in enumerate(columns) if c}
        reference, name = text(cells["package_id"]), text(cells["package"])
        if reference:
            package = by_public_id.get(reference)
            if package is None:
                _problem(plan, number, "package_id", f"“{reference[:40]}” is not one of your packages in this round "
                         "(leave it blank for a new package)")  # fmt: skip
                continue
            key: tuple[str, Any] = ("id", package.id)
        elif not name:
            _problem(plan, number, "package", "give the package's name (the rows of a new package share it)")
            continue
        elif name.lower() in live_names:
            known = live_names[name.lower()]
            _problem(plan, number, "package_id", f"“{name[:60]}” is the name of your package {known.public_id}: copy "
                     "its package_id to change it, or give a new package another name")  # fmt: skip
            continue
        else:
            package, key = None, ("new", name.lower())
        group = groups.setdefault(key, _Group(package))
        code = text(cells["lot"])
        lot = lots.get(code.lower())
        if lot is None:
            _problem(plan, number, "lot", f"“{code[:40]}” is not a lot of this round's tender" if code
                     else "give the lot code (as in the Bids sheet)")  # fmt: skip
            group.broken = True
        elif lot.id in group.lots:
            _problem(plan, number, "lot", f"{lot.code} is in this package already (row {group.lots[lot.id]}): "
                     "one row per lot of a package")  # fmt: skip
            group.broken = True
        elif all(blank(cells[name]) for name in _ITEM_FIELDS):
            _problem(plan, number, "model_code", f"give model_code, quantity and unit_price for {lot.code} "
                     "(delete the row to leave the lot out of the package)")  # fmt: skip
            group.broken = True
        else:
            group.lots[lot.id] = number
            group.broken |= bad
            group.rows.append((number, {**cells, "lot": lot}))
    return groups


def _same_on_each_row(group: _Group, column: str, plan: PackagePlan) -> bool:
    first_row, first = group.rows[0][0], text(group.rows[0][1][column])
    for number, cells in group.rows[1:]:
        if text(cells[column]) != first:
            _problem(plan, number, column, f"“{text(cells[column])[:60]}” differs from row {first_row} "
                     f"(“{first[:60]}”): give the package's {column} the same on each of its rows")  # fmt: skip
            return False
    return True


def _same(revision: PackageRevision | None, package: PackageBid, checked: bidding.CheckedPackage) -> bool:
    if revision is None or revision.withdrawn or (checked.name and checked.name != package.name):
        return False
    items = {(i.lot_id, i.vehicle_model_id, i.quantity, Decimal(i.unit_price)) for i in revision.items}
    wanted = {(i.lot.id, i.vehicle_model.id, i.quantity, i.unit_price) for i in checked.items}
    return items == wanted and (revision.quarters or None) == checked.quarters


def plan_packages(
    raw: Rows, rnd: Round, actor: Actor, models: dict[str, VehicleModel], fmt: NumberFormat
) -> PackagePlan:
    """Check the Packages sheet's rows as packages: what to save, and every problem by row and column."""
    plan = PackagePlan()
    while raw and all(blank(v) for v in raw[-1][1]):
        raw.pop()
    if not raw:
        return plan
    columns = _header(raw, plan)
    if columns is None:
        return plan
    lots = {lot.code.lower(): lot for lot in bidding.lots_of(rnd)}
    for group in _groups(raw, columns, bidding.packages_of(rnd, actor), lots, plan).values():
        if group.broken:
            continue
        same_name, same_quarters = _same_on_each_row(group, "package", plan), _same_on_each_row(group, "quarters", plan)
        if not (same_name and same_quarters):
            continue
        first_row, first = group.rows[0]
        values: dict[str, Any] = {"name": first["package"], "quarters": first["quarters"]}
        where: dict[str, tuple[int, str]] = {"name": (first_row, "package"), "quarters": (first_row, "quarters")}
        for number, cells in group.rows:
            for name in _ITEM_FIELDS:
                key = bidding.item_key(cells["lot"], name)
                values[key], where[key] = cells[name], (number, name)
        checked, errors = bidding.check_package(values, rnd, [c["lot"] for _, c in group.rows], models, fmt)
        for key, message in errors.items():
            number, column = where.get(key, (first_row, "lot"))
            if key == "items":  # the form's words ("fill model, quantity and unit price") do not fit a sheet
                message = f"package “{text(first['package'])[:60]}” has one lot: a package covers at least 2 lots, one row each"
            _problem(plan, number, column, message)
        if checked is None:
            continue
        if group.package is not None and _same(group.package.current, group.package, checked):
            plan.unchanged.append(group.package.name)
        else:
            plan.changes.append((group.package, checked))
    plan.problems.sort(key=lambda p: (p[0], p[1]))
    return plan
