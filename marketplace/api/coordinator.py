"""Coordinators: round transitions, pooling runs and award scenarios (start, progress, result, input and
output documents, publish), the round report and its OCDS release package."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Response, g, request
from marshmallow import fields, validate

from marketplace.api import blueprint
from marketplace.api.idempotency import PARAMETER as IDEMPOTENCY
from marketplace.api.idempotency import idempotent
from marketplace.api.rounds import RoundSchema, round_json
from marketplace.api.schemas import Instant, Money, StrictSchema, money
from marketplace.models import AwardScenario, PoolingRun, RoundPhase
from marketplace.services import access, award, ocds, pooling, reports, rounds
from marketplace.services import values as V
from marketplace.services.errors import Conflict

bp = blueprint("coordinator", "Coordinators: round transitions, pooling runs, award scenarios, report and OCDS.")
PHASES = [p.value for p in RoundPhase]


class TransitionInput(StrictSchema):
    target = fields.String(required=True, validate=validate.OneOf(PHASES))
    decline_pending_reason = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=500),
        metadata={"description": "closing with allocations still pending treats them as declined, for this reason"},
    )  # fmt: skip


class PoolingInput(StrictSchema):
    min_lot_quantity = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=100_000)
    )
    max_lot_quantity = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=100_000)
    )
    max_levels_up = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=0, max=3)
    )
    time_limit = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=600))  # fmt: skip


class RunSchema(StrictSchema):
    id = fields.Integer(required=True)
    round_id = fields.Integer(required=True)
    status = fields.String(required=True)
    progress = fields.Dict(required=True, allow_none=True, metadata={"description": "the solver's latest report"})
    error = fields.String(required=True)
    created_at = Instant(required=True)
    finished_at = Instant(required=True, allow_none=True)
    published_at = Instant(required=True, allow_none=True)


class PoolingRunSchema(RunSchema):
    min_lot_quantity = fields.Integer(required=True)
    max_lot_quantity = fields.Integer(required=True)
    max_levels_up = fields.Integer(required=True)
    total_quantity = fields.Integer(required=True)
    pooled_quantity = fields.Integer(required=True)
    lot_count = fields.Integer(required=True)


class ScenarioInput(StrictSchema):
    name = fields.String(load_default="", validate=validate.Length(max=200))
    max_winners_per_lot = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=50)
    )
    max_share_percent = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=100)
    )
    line_service = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["whole", "split"]))
    excluded_supplier_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=V.ID_MAX)),
        load_default=list,
        validate=validate.Length(max=500),
    )
    time_limit = fields.Integer(load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=600))  # fmt: skip


class ScenarioSchema(RunSchema):
    name = fields.String(required=True)
    max_winners_per_lot = fields.Integer(required=True)
    max_share_percent = fields.String(required=True)
    line_service = fields.String(required=True)
    awarded_quantity = fields.Integer(required=True)
    total_price = Money(required=True)


class PublishScenarioInput(StrictSchema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=500),
                           metadata={"description": "needed when the award leaves servable demand unserved"})  # fmt: skip


class ReportSchema(StrictSchema):
    report = fields.Dict(required=True, metadata={"description": "the funnel and breakdowns, as the report page"})


def _run(run: Any) -> dict[str, Any]:
    return {
        "id": run.id, "round_id": run.round_id, "status": run.status.value,
        "progress": run.progress if isinstance(run.progress, dict) else None, "error": run.error or "",
        "created_at": run.created_at, "finished_at": run.finished_at, "published_at": run.published_at,
    }  # fmt: skip


def pooling_json(run: PoolingRun) -> dict[str, Any]:
    return _run(run) | {
        "min_lot_quantity": run.min_lot_quantity, "max_lot_quantity": run.max_lot_quantity,
        "max_levels_up": run.max_levels_up, "total_quantity": run.total_quantity,
        "pooled_quantity": run.pooled_quantity, "lot_count": run.lot_count,
    }  # fmt: skip


def scenario_json(s: AwardScenario) -> dict[str, Any]:
    currency = rounds.load_round(s.round_id).currency
    return _run(s) | {
        "name": s.name, "max_winners_per_lot": s.max_winners_per_lot,
        "max_share_percent": f"{Decimal(s.max_share_per_supplier) * 100:.1f}", "line_service": s.line_service.value,
        "awarded_quantity": s.awarded_quantity, "total_price": money(s.total_price, currency),
    }  # fmt: skip


def _document(text: str | None, what: str) -> Response:
    if not text:
        raise Conflict(f"This run has no {what} document yet.")
    return Response(text, mimetype="application/json")


DOCUMENT = {
    200: {
        "description": "the solver document (solver-io.md)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@bp.route("/rounds/<int:round_id>/transitions", methods=["POST"])
@idempotent
@bp.arguments(TransitionInput)
@bp.response(200, RoundSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def transition(data: dict[str, Any], round_id: int):
    """Move a round to another phase, as the phase table allows"""
    rnd = rounds.transition(
        round_id, data["target"], g.api_actor, decline_pending_reason=data.get("decline_pending_reason")
    )
    return round_json(rnd)


@bp.route("/rounds/<int:round_id>/pooling-runs", methods=["POST"])
@idempotent
@bp.arguments(PoolingInput)
@bp.response(202, PoolingRunSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def start_pooling(data: dict[str, Any], round_id: int):
    """Start a pooling run of the round's committed demand (a background job: poll it)"""
    run = pooling.start_run(round_id, g.api_actor, **{k: v for k, v in data.items() if v is not None})
    return pooling_json(access.pooling_run(g.api_actor, run.id))


@bp.route("/pooling-runs/<int:run_id>")
@bp.response(200, PoolingRunSchema)
def get_pooling(run_id: int):
    """A pooling run: status, progress and result figures"""
    access.pooling_run(g.api_actor, run_id)
    return pooling_json(pooling.get_run(run_id))


@bp.route("/pooling-runs/<int:run_id>/input")
@bp.doc(responses=DOCUMENT)
def pooling_input(run_id: int):
    """The exact input document the solver got"""
    return _document(access.pooling_run(g.api_actor, run_id).input_json, "input")


@bp.route("/pooling-runs/<int:run_id>/output")
@bp.doc(responses=DOCUMENT)
def pooling_output(run_id: int):
    """The solver's output document"""
    return _document(access.pooling_run(g.api_actor, run_id).output_json, "output")


@bp.route("/pooling-runs/<int:run_id>/publish", methods=["POST"])
@idempotent
@bp.response(200, RoundSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def publish_pooling(run_id: int):
    """Publish a pooling run's lots: the tender opens"""
    return round_json(pooling.publish_run(run_id, g.api_actor))


@bp.route("/rounds/<int:round_id>/scenarios", methods=["POST"])
@idempotent
@bp.arguments(ScenarioInput)
@bp.response(202, ScenarioSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def start_scenario(data: dict[str, Any], round_id: int):
    """Start an award scenario under the round's rules or a variation (a background job: poll it)"""
    share = data.get("max_share_percent")
    rules = award.ScenarioRules(
        name=data.get("name") or "", max_winners_per_lot=data.get("max_winners_per_lot"),
        max_share_per_supplier=Decimal(share) / 100 if share is not None else None,
        line_service=data.get("line_service"), excluded_supplier_ids=data.get("excluded_supplier_ids") or [],
        time_limit=data.get("time_limit"),
    )  # fmt: skip
    scenario = award.start_scenario(round_id, g.api_actor, rules)
    return scenario_json(access.scenario(g.api_actor, scenario.id))


@bp.route("/scenarios/<int:scenario_id>")
@bp.response(200, ScenarioSchema)
def get_scenario(scenario_id: int):
    """An award scenario: status, progress and result figures"""
    access.scenario(g.api_actor, scenario_id)
    return scenario_json(award.get_scenario(scenario_id))


@bp.route("/scenarios/<int:scenario_id>/input")
@bp.doc(responses=DOCUMENT)
def scenario_input(scenario_id: int):
    """The exact input document the solver got"""
    return _document(access.scenario(g.api_actor, scenario_id).input_json, "input")


@bp.route("/scenarios/<int:scenario_id>/output")
@bp.doc(responses=DOCUMENT)
def scenario_output(scenario_id: int):
    """The solver's output document"""
    return _document(access.scenario(g.api_actor, scenario_id).output_json, "output")


@bp.route("/scenarios/<int:scenario_id>/publish", methods=["POST"])
@idempotent
@bp.arguments(PublishScenarioInput)
@bp.response(200, RoundSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def publish_scenario(data: dict[str, Any], scenario_id: int):
    """Publish a scenario as the round's award"""
    return round_json(award.publish_scenario(scenario_id, g.api_actor, reason=data.get("reason")))


@bp.route("/rounds/<int:round_id>/report")
@bp.response(200, ReportSchema)
def report(round_id: int):
    """The round report: the funnel posted -> committed -> pooled -> awarded -> confirmed, by segment and country"""
    access.require_coordinator(g.api_actor)
    found = reports.round_report(rounds.load_round(round_id))
    return {"report": json.loads(reports.report_json(found))}


@bp.route("/rounds/<int:round_id>/ocds")
@bp.doc(
    responses={
        200: {
            "description": "OCDS 1.1 release package",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
)
def round_ocds(round_id: int):
    """The round as an OCDS 1.1 release package (names no fleet or OEM before the award is published)"""
    access.require_coordinator(g.api_actor)
    return Response(ocds.package_text(rounds.load_round(round_id), uri=request.base_url), mimetype="application/json")
