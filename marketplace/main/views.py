"""Public pages and the role-neutral ones: landing, dashboard dispatch, organization page."""

from __future__ import annotations

import functools
import time

import sqlalchemy as sa
from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace.extensions import db
from marketplace.models import OrganizationKind
from marketplace.services import access, accounts, audit

bp = Blueprint("main", __name__)

DASHBOARDS = {
    OrganizationKind.COORDINATOR: "coordinator.dashboard",
    OrganizationKind.FLEET: "fleet.dashboard",
    OrganizationKind.OEM: "oem.dashboard",
}


@bp.get("/")
def landing():
    return render_template("landing.html", stats=accounts.landing_figures())


HEARTBEAT_STALE_SECONDS = 30  # workers beat every 5 s


@bp.get("/healthz")
def healthz():
    """For the load balancer and operators: 200 when this web process can serve (its database, and
    Redis when configured), else 503. The workers' last heartbeat is reported, not required: a web
    host stays in the pool while workers restart."""
    from marketplace import jobs

    report: dict[str, object] = {}
    healthy = True
    try:
        db.session.execute(sa.text("SELECT 1"))
        report["database"] = "ok"
    except Exception as exc:
        db.session.rollback()
        report["database"] = f"unreachable ({type(exc).__name__})"
        healthy = False
    redis_url = current_app.config.get("REDIS_URL")
    redis_ok = True
    if redis_url:
        try:
            _redis(redis_url).ping()
            report["redis"] = "ok"
        except Exception as exc:
            report["redis"] = f"unreachable ({type(exc).__name__})"
            healthy = redis_ok = False
    else:
        report["redis"] = "not configured (jobs queue in SQLite)"
    beat = jobs.last_heartbeat() if redis_ok else None
    if beat:
        age = round(max(0.0, time.time() - beat["at"]), 1)
        report["worker"] = {
            "status": "ok" if age <= HEARTBEAT_STALE_SECONDS else "stale",
            "last_heartbeat_seconds_ago": age,
            "last_worker": beat["worker"],
        }
    else:
        report["worker"] = {"status": "no heartbeat yet", "last_heartbeat_seconds_ago": None}
    report["status"] = "ok" if healthy else "error"
    return report, 200 if healthy else 503


@functools.cache
def _redis(url: str):
    import redis

    # Short timeouts: a health check that hangs is worse than one that says "unreachable".
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


@bp.get("/dashboard")
@login_required
def dashboard():
    return redirect(url_for(DASHBOARDS[current_user.kind]))


@bp.get("/organizations/<int:org_id>")
@login_required
def organization(org_id: int):
    org = access.organization(current_user, org_id)
    return render_template("organization.html", org=org, activity=audit.recent_of_organization(org.id))
