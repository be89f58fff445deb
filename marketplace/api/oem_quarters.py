"""OEMs' capacity by quarter in the API: read and replace it (routes of the OEM blueprint), through the same
service and rules as the web form (services/quarter_capacity.py)."""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import fields, validate

from marketplace.api.oem import bp
from marketplace.api.schemas import QUARTER, StrictSchema
from marketplace.services import bidding, quarter_capacity
from marketplace.services import values as V
from marketplace.services.errors import DomainError


class QuarterCapacityEntry(StrictSchema):
    quarter = fields.String(required=True, validate=validate.Length(min=1, max=20), metadata=QUARTER)
    segment = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                            metadata={"description": "a segment id; null: over all segments"})  # fmt: skip
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=V.CAPACITY_MAX))


class QuarterCapacityInput(StrictSchema):
    quarters = fields.List(
        fields.Nested(QuarterCapacityEntry), required=True, validate=validate.Length(max=quarter_capacity.ROWS_MAX),
        metadata={"description": "every quarter I can deliver in, with the most vehicles in it (per segment where "
                                 "it matters); these replace the ones stated before; [] for none (any quarter, up "
                                 "to my total)"},
    )  # fmt: skip


class QuarterCapacityRow(StrictSchema):
    quarter = fields.String(required=True)
    segment = fields.String(required=True, allow_none=True)
    capacity = fields.Integer(required=True)


class QuarterCapacitySchema(StrictSchema):
    round_id = fields.Integer(required=True)
    capacity = fields.Integer(required=True, allow_none=True, metadata={"description": "my total for the round"})
    quarters = fields.List(fields.Nested(QuarterCapacityRow), required=True)


def quarter_capacity_json(round_id: int, total: int | None, rows: list[Any]) -> dict[str, Any]:
    return {"round_id": round_id, "capacity": total,
            "quarters": [{"quarter": r.quarter, "segment": r.segment_id, "capacity": r.capacity} for r in rows]}  # fmt: skip


def _quarter_rows(data: dict[str, Any]) -> dict[str, Any]:
    """The rows as the quarter capacity service reads them (the web form's rowN_quarter, rowN_segment, ...)."""
    values: dict[str, Any] = {}
    for n, entry in enumerate(data["quarters"], start=1):
        values |= {f"row{n}_quarter": entry["quarter"], f"row{n}_segment": entry["segment"] or "",
                   f"row{n}_capacity": entry["capacity"]}  # fmt: skip
    return values


def _quarter_pointers(exc: DomainError) -> DomainError:
    """row2_capacity -> /quarters/1/capacity; the rows together ("rows") -> /quarters."""
    out = {}
    for key, message in exc.field_errors.items():
        number, _, name = key[3:].partition("_")
        if key.startswith("row") and number.isdigit():
            out[f"quarters/{int(number) - 1}/{name}"] = message
        else:
            out["quarters" if key == "rows" else key] = message
    exc.field_errors = out
    return exc


@bp.route("/rounds/<int:round_id>/capacity/quarters")
@bp.response(200, QuarterCapacitySchema)
def get_quarter_capacity(round_id: int):
    """My capacity by quarter for a round (a ramp, per segment where it matters), beside my total"""
    rnd = bidding.tender_round(round_id, g.api_actor)
    rows = quarter_capacity.rows_of(rnd, g.api_actor)
    return quarter_capacity_json(round_id, bidding.capacity_of(rnd, g.api_actor), rows)


@bp.route("/rounds/<int:round_id>/capacity/quarters", methods=["PUT"])
@bp.arguments(QuarterCapacityInput)
@bp.response(200, QuarterCapacitySchema)
def set_quarter_capacity(data: dict[str, Any], round_id: int):
    """State my capacity by quarter for a round: I deliver only in the quarters listed, at most so many in each"""
    try:
        rows = quarter_capacity.set_rows(round_id, _quarter_rows(data), g.api_actor)
    except DomainError as exc:
        raise _quarter_pointers(exc) from None
    rnd = bidding.tender_round(round_id, g.api_actor)
    return quarter_capacity_json(round_id, bidding.capacity_of(rnd, g.api_actor), rows)
