"""Public pages and the role-neutral ones: landing, dashboard dispatch, organization page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace.extensions import db
from marketplace.models import AuditEntry, DemandLine, Organization, OrganizationKind, Round, RoundPhase
from marketplace.services import accounts

bp = Blueprint("main", __name__)

DASHBOARDS = {
    OrganizationKind.COORDINATOR: "coordinator.dashboard",
    OrganizationKind.FLEET: "fleet.dashboard",
    OrganizationKind.OEM: "oem.dashboard",
}


@bp.get("/")
def landing():
    stats = {
        "fleets": db.session.execute(
            sa.select(sa.func.count(Organization.id)).where(Organization.kind == OrganizationKind.FLEET)
        ).scalar_one(),
        "oems": db.session.execute(
            sa.select(sa.func.count(Organization.id)).where(Organization.kind == OrganizationKind.OEM)
        ).scalar_one(),
        "open_rounds": db.session.execute(
            sa.select(sa.func.count(Round.id)).where(Round.phase == RoundPhase.DEMAND_OPEN)
        ).scalar_one(),
        "vehicles": db.session.execute(sa.select(sa.func.coalesce(sa.func.sum(DemandLine.quantity), 0))).scalar_one(),
    }
    return render_template("landing.html", stats=stats)


@bp.get("/healthz")
def healthz():
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/dashboard")
@login_required
def dashboard():
    return redirect(url_for(DASHBOARDS[current_user.kind]))


@bp.get("/organizations/<int:org_id>")
@login_required
def organization(org_id: int):
    org = accounts.organization_for(current_user, org_id)
    activity = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.organization_id == org.id).order_by(AuditEntry.id.desc()).limit(20)
    ).scalars()
    return render_template("organization.html", org=org, activity=list(activity))
