"""Shared bits of the demand tests: a fixed clock, a demand-open round, valid line values, small files."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from marketplace.models import RoundPhase
from marketplace.services.demand import FIELDS
from tests.factories import make_round

NOW = datetime(2027, 1, 15, 12, 0, 0, tzinfo=UTC)  # quarter 2027Q1


def valid_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "segment": "md_box_truck",
        "region": "us-ca-los-angeles",
        "quantity": "10",
        "earliest_quarter": "2027Q2",
        "latest_quarter": "2027Q4",
        "min_range_km": "200",
        "min_payload_kg": "0",
        "charging": ["CCS1"],
        "max_unit_price": "250000",
        "splittable": False,
        "note": "",
    }
    values.update(overrides)
    return values


def form_data(**overrides: Any) -> dict[str, Any]:
    """valid_values as a browser posts them: an unticked checkbox is not sent."""
    return {k: v for k, v in valid_values(**overrides).items() if v is not False}


def open_round(world, **overrides: Any):
    return make_round(world.coordinator, RoundPhase.DEMAND_OPEN, **overrides)


def sheet_row(**overrides: Any) -> list[Any]:
    values = valid_values(**{"charging": "CCS1;MCS", "splittable": "no", **overrides})
    return [values[name] for name in FIELDS]


def csv_bytes(rows: list[list[Any]], header: list[str] | tuple[str, ...] = FIELDS, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], header: list[str] | tuple[str, ...] | None = FIELDS) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Demand lines"
    if header is not None:
        sheet.append(list(header))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def access_objects(world) -> dict[str, int | str]:
    """For the access table: an open round, a line and a staged upload of each fleet."""
    from marketplace.services import demand, demand_upload

    rnd = open_round(world, region_ids=["US-CA"])
    quarter = demand.upcoming_quarters()[2]
    values = valid_values(earliest_quarter=quarter, latest_quarter=quarter)
    data = csv_bytes([sheet_row(earliest_quarter=quarter, latest_quarter=quarter)])
    mine = demand_upload.check_upload(rnd.id, "mine.csv", data, world.fleet).upload
    theirs = demand_upload.check_upload(rnd.id, "theirs.csv", data, world.other_fleet).upload
    assert mine is not None and theirs is not None
    return {
        "round": rnd.id,
        "line": demand.create_line(rnd.id, values, world.fleet).id,
        "other_line": demand.create_line(rnd.id, values, world.other_fleet).id,
        "token": mine.token,
        "other_token": theirs.token,
    }
