"""Fleets: demand lines (create, update, withdraw, bulk create), commit, pool progress, allocations, deposits."""

from __future__ import annotations

from typing import Any

from flask import g
from marshmallow import fields, validate

from marketplace.api import blueprint
from marketplace.api.idempotency import PARAMETER as IDEMPOTENCY
from marketplace.api.idempotency import idempotent
from marketplace.api.pagination import PageArgs, page, page_schema
from marketplace.api.problems import problem
from marketplace.api.schemas import DecimalText, Instant, Money, Quarter, StrictSchema, money
from marketplace.models import Allocation, DemandLine, DemandStatus, Deposit
from marketplace.services import access, contracting, demand, demand_upload, deposits
from marketplace.services import values as V

bp = blueprint("fleet", "Fleets: demand lines, commitment, pool progress, allocations and deposits.")
STANDARDS = ["CCS1", "CCS2", "MCS", "NACS", "CHAdeMO", "GB/T", "Pantograph", "Inductive"]


class DemandLineInput(StrictSchema):
    segment = fields.String(
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "segment id or name of the round", "examples": ["md_box_truck"]},
    )
    region = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "region id or name within the round's scope", "examples": ["US-CA"]},
    )
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=V.QUANTITY_MAX))
    earliest_quarter = Quarter(required=True)
    latest_quarter = Quarter(required=True)
    min_range_km = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=V.SPEC_MAX))
    min_payload_kg = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=V.SPEC_MAX))
    charging = fields.List(
        fields.String(validate=validate.Length(min=1, max=20)),
        required=True,
        validate=validate.Length(min=1, max=10),
        metadata={"description": "accepted charging standards", "examples": [["CCS1", "MCS"]]},
    )
    max_unit_price = DecimalText(
        required=True, metadata={"description": "the most paid per vehicle, in the round's currency"}
    )
    splittable = fields.Boolean(load_default=False, truthy={True}, falsy={False})
    note = fields.String(load_default="", validate=validate.Length(max=V.NOTE_MAX))


class DemandLinesInput(StrictSchema):
    lines = fields.List(fields.Nested(DemandLineInput), required=True,
                        validate=validate.Length(min=1, max=demand_upload.MAX_ROWS))  # fmt: skip


class DemandLineSchema(StrictSchema):
    id = fields.Integer(required=True)
    round_id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": [s.value for s in DemandStatus]})
    segment = fields.String(required=True)
    region = fields.String(required=True)
    quantity = fields.Integer(required=True)
    earliest_quarter = fields.String(required=True)
    latest_quarter = fields.String(required=True)
    min_range_km = fields.Integer(required=True)
    min_payload_kg = fields.Integer(required=True)
    charging = fields.List(fields.String(), required=True)
    max_unit_price = Money(required=True)
    splittable = fields.Boolean(required=True)
    note = fields.String(required=True)
    committed_at = Instant(required=True, allow_none=True)
    created_at = Instant(required=True)
    updated_at = Instant(required=True)


def line_json(line: DemandLine, currency: str) -> dict[str, Any]:
    return {
        "id": line.id,
        "round_id": line.round_id,
        "status": line.status.value,
        "segment": line.segment_id,
        "region": line.region_id,
        "quantity": line.quantity,
        "earliest_quarter": line.earliest_quarter,
        "latest_quarter": line.latest_quarter,
        "min_range_km": line.min_range_km,
        "min_payload_kg": line.min_payload_kg,
        "charging": list(line.charging or []),
        "max_unit_price": money(line.max_unit_price, currency),
        "splittable": line.splittable,
        "note": line.note or "",
        "committed_at": line.committed_at,
        "created_at": line.created_at,
        "updated_at": line.updated_at,
    }


LinePage = page_schema(DemandLineSchema, "DemandLinePage")


class DemandLinesCreatedSchema(StrictSchema):
    created = fields.Integer(required=True)
    vehicles = fields.Integer(required=True)
    line_ids = fields.List(fields.Integer(), required=True, metadata={"description": "in the order sent"})


class CommitInput(StrictSchema):
    line_ids = fields.List(fields.Integer(strict=True, validate=validate.Range(min=1, max=V.ID_MAX)),
                           load_default=None, allow_none=True, validate=validate.Length(min=1, max=demand_upload.MAX_ROWS),
                           metadata={"description": "the draft lines to commit; null or absent: all of them"})  # fmt: skip


class CommitResultSchema(StrictSchema):
    committed = fields.List(fields.Integer(), required=True)
    awaiting_deposit = fields.List(
        fields.Integer(), required=True, metadata={"description": "lines that commit once their deposit is held"}
    )
    vehicles = fields.Integer(required=True)
    without_deposit = fields.Boolean(required=True, metadata={"description": "the round asks one but payments are off"})


class PoolProgressSchema(StrictSchema):
    line_id = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "vehicles in the best lot this line could join"})
    own = fields.Integer(required=True)
    minimum = fields.Integer(required=True, metadata={"description": "the round's minimum lot size"})
    percent = fields.Integer(required=True)
    reached = fields.Boolean(required=True)
    region = fields.String(required=True, allow_none=True)
    charging = fields.String(required=True, allow_none=True)
    quarter = fields.String(required=True, allow_none=True)


ProgressPage = page_schema(PoolProgressSchema, "PoolProgressPage")


class AllocationSchema(StrictSchema):
    id = fields.String(required=True, metadata={"description": "the allocation's public id"})
    demand_line_id = fields.Integer(required=True)
    lot = fields.String(required=True)
    supplier = fields.String(required=True)
    vehicle_model = fields.String(required=True)
    quantity = fields.Integer(required=True)
    unit_price = Money(required=True)
    confirmation = fields.String(
        required=True, metadata={"enum": ["pending", "confirmed", "declined", "withdrawn", "offered", "refused"]}
    )
    decided_at = Instant(required=True, allow_none=True)


def allocation_json(a: Allocation, currency: str) -> dict[str, Any]:
    return {
        "id": a.public_id,
        "demand_line_id": a.demand_line_id,
        "lot": a.lot.code,
        "supplier": a.supplier.name,
        "vehicle_model": a.vehicle_model.name,
        "quantity": a.quantity,
        "unit_price": money(a.unit_price, currency),
        "confirmation": a.confirmation.value,
        "decided_at": a.decided_at,
    }


AllocationPage = page_schema(AllocationSchema, "AllocationPage")


class DepositSchema(StrictSchema):
    id = fields.String(required=True, metadata={"description": "the deposit's public id"})
    round_id = fields.Integer(required=True)
    demand_line_id = fields.Integer(required=True)
    state = fields.String(required=True)
    amount = Money(required=True)
    held = Money(required=True)
    applied = Money(required=True)
    forfeited = Money(required=True)
    refunded = Money(required=True)
    released = Money(required=True)
    outcome = fields.String(required=True, allow_none=True)
    created_at = Instant(required=True)


def deposit_json(d: Deposit) -> dict[str, Any]:
    c = d.currency
    return {
        "id": d.public_id,
        "round_id": d.round_id,
        "demand_line_id": d.demand_line_id,
        "state": d.state.value,
        "amount": money(d.amount, c),
        "held": money(d.held_amount, c),
        "applied": money(d.applied_amount, c),
        "forfeited": money(d.forfeited_amount, c),
        "refunded": money(d.refunded_amount, c),
        "released": money(d.released_amount, c),
        "outcome": d.outcome.value if d.outcome else None,
        "created_at": d.created_at,
    }


DepositPage = page_schema(DepositSchema, "DepositPage")


def _service_values(data: dict[str, Any]) -> dict[str, Any]:
    """Typed values as the demand service reads them (numbers are numbers already: no number format applies)."""
    return dict(data)


# ---------------------------------------------------------------- demand lines


@bp.route("/rounds/<int:round_id>/lines")
@bp.arguments(PageArgs, location="query")
@bp.response(200, LinePage)
def list_lines(args: dict[str, Any], round_id: int):
    """My demand lines in a round"""
    rnd = demand.round_for_fleet(round_id, g.api_actor)
    found = page(demand.own_lines_query(rnd, g.api_actor), DemandLine.id, args)
    return found.body([line_json(x, rnd.currency) for x in found.items])


@bp.route("/rounds/<int:round_id>/lines", methods=["POST"])
@idempotent
@bp.arguments(DemandLineInput)
@bp.response(201, DemandLineSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def create_line(data: dict[str, Any], round_id: int):
    """Post a demand line (a draft until committed)"""
    line = demand.create_line(round_id, _service_values(data), g.api_actor)
    return line_json(line, line.round.currency)


@bp.route("/rounds/<int:round_id>/lines/bulk", methods=["POST"])
@idempotent
@bp.arguments(DemandLinesInput)
@bp.response(201, DemandLinesCreatedSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def bulk_create(data: dict[str, Any], round_id: int):
    """Post many demand lines: all or none, with every row's problems named (/lines/N/field)"""
    result = demand_upload.create_lines(round_id, [_service_values(x) for x in data["lines"]], g.api_actor)
    if result.problems:
        return problem(
            400,
            f"Nothing was saved: {len(result.problems)} problem(s) in the lines sent.",
            errors=[{"pointer": f"/lines/{p.row}/{p.column}", "detail": p.message} for p in result.problems],
        )
    return {"created": len(result.line_ids), "vehicles": result.vehicles, "line_ids": result.line_ids}


@bp.route("/lines/<int:line_id>")
@bp.response(200, DemandLineSchema)
def get_line(line_id: int):
    """One of my demand lines"""
    line = access.own_line(g.api_actor, line_id)
    return line_json(line, line.round.currency)


@bp.route("/lines/<int:line_id>", methods=["PUT"])
@bp.arguments(DemandLineInput)
@bp.response(200, DemandLineSchema)
def update_line(data: dict[str, Any], line_id: int):
    """Change a demand line while demand is open (every field, as when posting it)"""
    line = demand.update_line(line_id, _service_values(data), g.api_actor)
    return line_json(line, line.round.currency)


@bp.route("/lines/<int:line_id>/withdraw", methods=["POST"])
@idempotent
@bp.response(200, DemandLineSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def withdraw_line(line_id: int):
    """Withdraw a demand line while demand is open (the round's withdrawal rule applies to its deposit)"""
    line = demand.withdraw_line(line_id, g.api_actor)
    return line_json(line, line.round.currency)


@bp.route("/rounds/<int:round_id>/commit", methods=["POST"])
@idempotent
@bp.arguments(CommitInput)
@bp.response(200, CommitResultSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def commit(data: dict[str, Any], round_id: int):
    """Commit my draft lines (all, or those named)"""
    result = demand.commit_lines(round_id, data.get("line_ids"), g.api_actor)
    return {
        "committed": [x.id for x in result.committed],
        "awaiting_deposit": [x.id for x in result.awaiting_deposit],
        "vehicles": result.vehicles,
        "without_deposit": result.without_deposit,
    }


@bp.route("/rounds/<int:round_id>/pool-progress")
@bp.arguments(PageArgs, location="query")
@bp.response(200, ProgressPage)
def pool_progress(args: dict[str, Any], round_id: int):
    """How far each of my lines is from a lot of the round's minimum size (totals only)"""
    rnd = demand.round_for_fleet(round_id, g.api_actor)
    found = page(demand.own_lines_query(rnd, g.api_actor, withdrawn=False), DemandLine.id, args)
    progress = demand.pool_progress(rnd, found.items)
    items = []
    for line in found.items:
        p = progress[line.id]
        items.append({"line_id": line.id, "total": p.total, "own": p.own, "minimum": p.minimum,
                      "percent": p.percent, "reached": p.reached, "region": p.region_id,
                      "charging": p.charging, "quarter": p.quarter})  # fmt: skip
    return found.body(items)


# ---------------------------------------------------------------- after the award


@bp.route("/rounds/<int:round_id>/allocations")
@bp.arguments(PageArgs, location="query")
@bp.response(200, AllocationPage)
def list_allocations(args: dict[str, Any], round_id: int):
    """My allocations in the round's published award"""
    q = contracting.fleet_result_queries(round_id, g.api_actor)
    found = page(q.allocations, Allocation.id, args)
    return found.body([allocation_json(a, q.rnd.currency) for a in found.items])


def _decide(allocation_id: int, confirm: bool) -> dict[str, Any]:
    allocation = contracting.decide(allocation_id, confirm, g.api_actor)
    return allocation_json(allocation, allocation.demand_line.round.currency)


@bp.route("/allocations/<allocation:allocation_id>/confirm", methods=["POST"])
@idempotent
@bp.response(200, AllocationSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def confirm_allocation(allocation_id: int):
    """Confirm one of my allocations"""
    return _decide(allocation_id, True)


@bp.route("/allocations/<allocation:allocation_id>/decline", methods=["POST"])
@idempotent
@bp.response(200, AllocationSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def decline_allocation(allocation_id: int):
    """Decline one of my allocations (the round's decline rule applies to its deposit)"""
    return _decide(allocation_id, False)


@bp.route("/deposits")
@bp.arguments(PageArgs, location="query")
@bp.response(200, DepositPage)
def list_deposits(args: dict[str, Any]):
    """My organization's deposits"""
    found = page(deposits.own_deposits_query(g.api_actor), Deposit.id, args)
    return found.body([deposit_json(d) for d in found.items])
