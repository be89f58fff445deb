"""Coordinators: rounds (create, edit in draft, transitions), pooling runs and award scenarios (start,
progress, result, input and output documents, publish), the round report and its OCDS release package."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from flask import Response, g, request
from marshmallow import ValidationError, fields, validate

from marketplace.api import blueprint
from marketplace.api.idempotency import PARAMETER as IDEMPOTENCY
from marketplace.api.idempotency import idempotent
from marketplace.api.problems import fields_named
from marketplace.api.rounds import RoundSchema, round_json
from marketplace.api.schemas import DecimalText, Instant, InstantInput, Money, StrictSchema, money
from marketplace.models import AwardScenario, FeedbackRule, PoolingRun, RoundPhase
from marketplace.services import access, award, ocds, pooling, reports, rounds
from marketplace.services import values as V
from marketplace.services.errors import Conflict
from marketplace.services.round_fields import NUMBERS, Number

bp = blueprint(
    "coordinator", "Coordinators: rounds and their transitions, pooling runs, award scenarios, report and OCDS."
)
PHASES = [p.value for p in RoundPhase]


def _number(name: str) -> fields.Field:
    """A round's number from its one definition (services/round_fields.py, as the coordinator's form)."""
    n = NUMBERS[name]
    about = {"description": f"{n.label}; default {n.default}"}
    if n.whole:
        return fields.Integer(load_default=int(n.default), strict=True, metadata=about,
                              validate=validate.Range(min=int(n.minimum), max=int(n.maximum)))  # fmt: skip
    return DecimalText(load_default=n.default, validate=_fits(n), metadata=about)


def _fits(n: Number) -> Callable[[Decimal], None]:
    def check(value: Decimal) -> None:
        if problem := n.problem(value):
            raise ValidationError(problem)

    return check


class RoundInput(StrictSchema):
    """A round's settings, every field as on the coordinator's form (a field left out takes its default)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=V.NAME_MAX))
    description = fields.String(load_default="", validate=validate.Length(max=V.DESCRIPTION_MAX))
    segments = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                           validate=validate.Length(min=1, max=200, error="choose at least one"),
                           metadata={"description": "segment ids in scope", "examples": [["md_box_truck"]]})  # fmt: skip
    regions = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                          validate=validate.Length(min=1, max=2000, error="choose at least one"),
                          metadata={"description": "region ids in scope", "examples": [["US"]]})  # fmt: skip
    demand_deadline = InstantInput(load_default=None, allow_none=True)
    bid_deadline = InstantInput(load_default=None, allow_none=True)
    confirmation_deadline = InstantInput(load_default=None, allow_none=True)
    confirmation_period_days = _number("confirmation_period_days")
    min_lot_quantity = _number("min_lot_quantity")
    max_lot_quantity = _number("max_lot_quantity")
    max_levels_up = _number("max_levels_up")
    max_winners_per_lot = _number("max_winners_per_lot")
    max_share_percent = _number("max_share_percent")
    line_service = fields.String(load_default="whole", validate=validate.OneOf(["whole", "split"]))
    feedback_rule = fields.String(load_default=FeedbackRule.WON_LOST.value,
                                  validate=validate.OneOf([r.value for r in FeedbackRule]))  # fmt: skip
    currency = fields.String(load_default="USD", validate=validate.OneOf(V.CURRENCIES))
    deposit_per_vehicle = _number("deposit_per_vehicle")
    decline_forfeit_percent = _number("decline_forfeit_percent")
    withdrawal_forfeit_percent = _number("withdrawal_forfeit_percent")


# The service's names for what the API calls otherwise, so its problems point into the JSON sent.
ROUND_FIELDS = {"segment_ids": "segments", "region_ids": "regions", "max_share_per_supplier": "max_share_percent"}


def _settings(data: dict[str, Any]) -> rounds.RoundSettings:
    return rounds.RoundSettings(
        name=data["name"], description=data["description"], segment_ids=data["segments"], region_ids=data["regions"],
        demand_deadline=data["demand_deadline"], bid_deadline=data["bid_deadline"],
        confirmation_deadline=data["confirmation_deadline"],
        confirmation_period_days=data["confirmation_period_days"], min_lot_quantity=data["min_lot_quantity"],
        max_lot_quantity=data["max_lot_quantity"], max_levels_up=data["max_levels_up"],
        max_winners_per_lot=data["max_winners_per_lot"], max_share_per_supplier=data["max_share_percent"] / 100,
        line_service=data["line_service"], currency=data["currency"], deposit_per_vehicle=data["deposit_per_vehicle"],
        decline_forfeit_percent=data["decline_forfeit_percent"],
        withdrawal_forfeit_percent=data["withdrawal_forfeit_percent"], feedback_rule=data["feedback_rule"],
    )  # fmt: skip


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
    prefer_early_delivery = fields.Boolean(
        load_default=False, truthy={True}, falsy={False},
        metadata={"description": "among awards with as many vehicles at the same lowest price, the one delivering "
                                 "earliest (no effect in a round without delivery quarters)"},
    )  # fmt: skip


class ScenarioSchema(RunSchema):
    name = fields.String(required=True)
    max_winners_per_lot = fields.Integer(required=True)
    max_share_percent = fields.String(required=True)
    line_service = fields.String(required=True)
    prefer_early_delivery = fields.Boolean(required=True)
    early_delivery = fields.String(
        required=True,
        metadata={"description": "what prefer_early_delivery did: 'not asked'; 'no quarters' (the round has no "
                                 "delivery quarters); 'proven' (no award of as many vehicles at this price delivers "
                                 "earlier); 'not proven' (the search stopped first); '' until the scenario succeeded"},
    )  # fmt: skip
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
        "prefer_early_delivery": s.prefer_early_delivery,
        "early_delivery": s.early_delivery if s.status.value == "succeeded" else "", "awarded_quantity": s.awarded_quantity, "total_price": money(s.total_price, currency),
    }  # fmt: skip


DOCUMENT = {
    200: {
        "description": "the solver document (solver-io.md)",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _run_views(path: str, param: str, kind: str, load: Callable[[Any, int], Any], answer: Callable[[int], dict],
               schema: type[StrictSchema]) -> None:  # fmt: skip
    """The three reads of a solver run (pooling run or award scenario): the run, its input and output documents.
    `load` is the access policy's loader (404 or 403 for whoever may not see it); `answer` shapes the run."""
    rule = f"{path}/<int:{param}>"

    def one(**ids: int) -> dict[str, Any]:
        load(g.api_actor, ids[param])
        return answer(ids[param])

    def document(what: str) -> Callable[..., Response]:
        def view(**ids: int) -> Response:
            text = getattr(load(g.api_actor, ids[param]), f"{what}_json")
            if not text:
                raise Conflict(f"This {kind} has no {what} document yet.")
            return Response(text, mimetype="application/json")

        return view

    one.__doc__ = f"A {kind}: status, progress and result figures"
    short = kind.split()[0]
    bp.route(rule, endpoint=f"get_{short}")(bp.response(200, schema)(one))
    for what, doc in (("input", "The exact input document the solver got"), ("output", "The solver's output document")):
        view = document(what)
        view.__doc__ = doc
        bp.route(f"{rule}/{what}", endpoint=f"{short}_{what}")(bp.doc(responses=DOCUMENT)(view))


_run_views("/pooling-runs", "run_id", "pooling run", access.pooling_run, lambda i: pooling_json(pooling.get_run(i)),
           PoolingRunSchema)  # fmt: skip
_run_views("/scenarios", "scenario_id", "scenario", access.scenario, lambda i: scenario_json(award.get_scenario(i)),
           ScenarioSchema)  # fmt: skip


@bp.route("/rounds", methods=["POST"])
@idempotent
@bp.arguments(RoundInput)
@bp.response(201, RoundSchema)
@bp.doc(parameters=[IDEMPOTENCY])
def create_round(data: dict[str, Any]):
    """Create a round in draft (the settings of the coordinator's round form)"""
    with fields_named(ROUND_FIELDS):
        return round_json(rounds.create_round(_settings(data), g.api_actor))


@bp.route("/rounds/<int:round_id>", methods=["PUT"])
@bp.arguments(RoundInput)
@bp.response(200, RoundSchema)
def update_round(data: dict[str, Any], round_id: int):
    """Change a round's settings while it is a draft (every field, as when creating it)"""
    with fields_named(ROUND_FIELDS):
        return round_json(rounds.update_round(round_id, _settings(data), g.api_actor))


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
        time_limit=data.get("time_limit"), prefer_early_delivery=data["prefer_early_delivery"],
    )  # fmt: skip
    scenario = award.start_scenario(round_id, g.api_actor, rules)
    return scenario_json(access.scenario(g.api_actor, scenario.id))


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
