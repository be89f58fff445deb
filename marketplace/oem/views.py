"""The OEM's pages: tenders open to it and its catalog."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from marketplace.access import oem_required, owned_by_actor
from marketplace.extensions import db
from marketplace.models import RoundPhase, VehicleModel
from marketplace.services import rounds

bp = Blueprint("oem", __name__, url_prefix="/oem")


@bp.get("/")
@oem_required
def dashboard():
    visible = [r for r in rounds.visible_rounds(current_user) if r.phase is not RoundPhase.CANCELLED]
    models = db.session.execute(
        owned_by_actor(sa.select(VehicleModel), VehicleModel).order_by(VehicleModel.segment_id, VehicleModel.name)
    ).scalars()
    return render_template(
        "oem/dashboard.html",
        tendering=[r for r in visible if r.phase is RoundPhase.TENDERING],
        upcoming=[
            r for r in visible if r.phase in (RoundPhase.DEMAND_OPEN, RoundPhase.DEMAND_CLOSED, RoundPhase.POOLED)
        ],
        past=[
            r
            for r in visible
            if r.phase
            not in (RoundPhase.TENDERING, RoundPhase.DEMAND_OPEN, RoundPhase.DEMAND_CLOSED, RoundPhase.POOLED)
        ],
        models=list(models),
    )
