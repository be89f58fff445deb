"""Everyone: the rounds visible to me, with their phase and deadlines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import g
from marshmallow import fields

from marketplace.api import blueprint
from marketplace.api.pagination import PageArgs, page, page_schema
from marketplace.api.schemas import Instant, Money, StrictSchema, money
from marketplace.models import FeedbackRule, Round
from marketplace.services import access, rounds

bp = blueprint("rounds", "Tender rounds visible to the token's organization (drafts: coordinators only).")


class RoundSchema(StrictSchema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    phase = fields.String(required=True, metadata={"enum": [p.value for p in rounds.P]})
    currency = fields.String(required=True)
    demand_deadline = Instant(required=True, allow_none=True)
    bid_deadline = Instant(required=True, allow_none=True)
    confirmation_deadline = Instant(required=True, allow_none=True)
    segments = fields.List(fields.String(), required=True)
    regions = fields.List(fields.String(), required=True)
    confirmation_period_days = fields.Integer(required=True)
    min_lot_quantity = fields.Integer(required=True)
    max_lot_quantity = fields.Integer(required=True)
    max_levels_up = fields.Integer(required=True)
    max_winners_per_lot = fields.Integer(required=True)
    max_share_percent = fields.String(required=True, metadata={"examples": ["100.0"]})
    line_service = fields.String(required=True, metadata={"enum": ["whole", "split"]})
    feedback_rule = fields.String(required=True, metadata={"enum": [r.value for r in FeedbackRule]})
    deposit_per_vehicle = Money(required=True)
    decline_forfeit_percent = fields.String(required=True, metadata={"examples": ["100.0"]})
    withdrawal_forfeit_percent = fields.String(required=True, metadata={"examples": ["0.0"]})
    phase_changed_at = Instant(required=True)

    class Meta:
        name = "Round"


def round_json(rnd: Round) -> dict[str, Any]:
    return {
        "id": rnd.id,
        "name": rnd.name,
        "description": rnd.description or "",
        "phase": rnd.phase.value,
        "currency": rnd.currency,
        "demand_deadline": rnd.demand_deadline,
        "bid_deadline": rnd.bid_deadline,
        "confirmation_deadline": rnd.confirmation_deadline,
        "segments": [s.id for s in rnd.segments],
        "regions": [r.id for r in rnd.regions],
        "confirmation_period_days": rnd.confirmation_period_days,
        "min_lot_quantity": rnd.min_lot_quantity,
        "max_lot_quantity": rnd.max_lot_quantity,
        "max_levels_up": rnd.max_levels_up,
        "max_winners_per_lot": rnd.max_winners_per_lot,
        "max_share_percent": f"{Decimal(rnd.max_share_per_supplier) * 100:.1f}",
        "line_service": rnd.line_service.value,
        "feedback_rule": rnd.feedback_rule.value,
        "deposit_per_vehicle": money(rnd.deposit_per_vehicle, rnd.currency),
        "decline_forfeit_percent": f"{Decimal(rnd.decline_forfeit_percent):.1f}",
        "withdrawal_forfeit_percent": f"{Decimal(rnd.withdrawal_forfeit_percent):.1f}",
        "phase_changed_at": rnd.phase_changed_at,
    }


RoundPage = page_schema(RoundSchema, "RoundPage")


@bp.route("/rounds")
@bp.arguments(PageArgs, location="query")
@bp.response(200, RoundPage)
def list_rounds(args: dict[str, Any]):
    """Rounds visible to me"""
    found = page(access.visible_rounds_query(g.api_actor), Round.id, args)
    return found.body([round_json(r) for r in found.items])


@bp.route("/rounds/<int:round_id>")
@bp.response(200, RoundSchema)
def get_round(round_id: int):
    """One round"""
    return round_json(access.visible(g.api_actor, rounds.load_round(round_id)))
