"""The fleet's pages: rounds open to it and its own demand."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from marketplace.access import fleet_required, owned_by_actor
from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus, RoundPhase
from marketplace.services import rounds

bp = Blueprint("fleet", __name__, url_prefix="/fleet")


@bp.get("/")
@fleet_required
def dashboard():
    visible = [r for r in rounds.visible_rounds(current_user) if r.phase is not RoundPhase.CANCELLED]
    own = db.session.execute(
        owned_by_actor(
            sa.select(
                DemandLine.round_id, DemandLine.status, sa.func.count(DemandLine.id), sa.func.sum(DemandLine.quantity)
            ),
            DemandLine,
        ).group_by(DemandLine.round_id, DemandLine.status)
    )
    mine: dict[int, dict[str, int]] = {}
    for round_id, status, n, q in own:
        if status is DemandStatus.WITHDRAWN:
            continue
        entry = mine.setdefault(round_id, {"lines": 0, "vehicles": 0, "committed": 0})
        entry["lines"] += n
        entry["vehicles"] += int(q or 0)
        if status is DemandStatus.COMMITTED:
            entry["committed"] += int(q or 0)
    return render_template(
        "fleet/dashboard.html",
        open_rounds=[r for r in visible if r.phase is RoundPhase.DEMAND_OPEN],
        other_rounds=[r for r in visible if r.phase is not RoundPhase.DEMAND_OPEN],
        mine=mine,
    )
