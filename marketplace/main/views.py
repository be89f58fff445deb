"""Public pages and the role-neutral ones: landing, dashboard dispatch, organization page."""

from __future__ import annotations

import functools

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


@functools.cache
def _landing_counts() -> sa.Select:
    """The landing page's four figures in one statement, built once (the most visited page)."""
    return sa.select(
        sa.select(sa.func.count(Organization.id)).where(Organization.kind == OrganizationKind.FLEET).scalar_subquery(),
        sa.select(sa.func.count(Organization.id)).where(Organization.kind == OrganizationKind.OEM).scalar_subquery(),
        sa.select(sa.func.count(Round.id)).where(Round.phase == RoundPhase.DEMAND_OPEN).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.sum(DemandLine.quantity), 0)).scalar_subquery(),
    )


@bp.get("/")
def landing():
    fleets, oems, open_rounds, vehicles = db.session.execute(_landing_counts()).one()
    stats = {"fleets": fleets, "oems": oems, "open_rounds": open_rounds, "vehicles": int(vehicles)}
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
