"""The coordinator's pages: all rounds, setting a round up, moving it through its phases, accounts."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.access import coordinator_required
from marketplace.coordinator.forms import CoordinatorUserForm, RoundForm, TransitionForm
from marketplace.extensions import db
from marketplace.models import AuditEntry, DemandLine, DemandStatus, Organization, Region, Segment
from marketplace.services import accounts, rounds
from marketplace.services.errors import ValidationFailed
from marketplace.views_common import apply_field_errors

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


def _demand_totals() -> dict[int, tuple[int, int]]:
    """Per round: (committed lines, committed vehicles)."""
    rows = db.session.execute(
        sa.select(DemandLine.round_id, sa.func.count(DemandLine.id), sa.func.sum(DemandLine.quantity))
        .where(DemandLine.status == DemandStatus.COMMITTED)
        .group_by(DemandLine.round_id)
    )
    return {round_id: (n, int(q or 0)) for round_id, n, q in rows}


@bp.get("/")
@coordinator_required
def dashboard():
    all_rounds = rounds.visible_rounds(current_user)
    return render_template(
        "coordinator/dashboard.html",
        rounds=all_rounds,
        totals=_demand_totals(),
        transitions={r.id: rounds.allowed_transitions(r) for r in all_rounds},
        form=TransitionForm(),
    )


def _round_form(form: RoundForm) -> RoundForm:
    form.segment_ids.choices = [
        (s.id, s.name)
        for s in db.session.execute(sa.select(Segment).order_by(Segment.beachhead_wave, Segment.name)).scalars()
    ]
    regions = db.session.execute(sa.select(Region).order_by(Region.id)).scalars().all()
    form.region_ids.choices = [(r.id, _region_label(r)) for r in _tree_order(regions)]
    return form


def _tree_order(regions: list[Region]) -> list[Region]:
    children: dict[str | None, list[Region]] = {}
    for r in regions:
        children.setdefault(r.parent_id, []).append(r)
    out: list[Region] = []

    def walk(parent: str | None) -> None:
        for r in sorted(children.get(parent, []), key=lambda x: x.name):
            out.append(r)
            walk(r.id)

    walk(None)
    return out


def _region_label(r: Region) -> str:
    return "\u2003" * r.depth + f"{r.name} ({r.id})"


@bp.route("/rounds/new", methods=["GET", "POST"])
@coordinator_required
def new_round():
    form = _round_form(RoundForm())
    if form.validate_on_submit():
        try:
            rnd = rounds.create_round(form.to_settings(), current_user)
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
        else:
            flash(f"Round “{rnd.name}” created in draft.", "success")
            return redirect(url_for("coordinator.round_detail", round_id=rnd.id))
    return render_template("coordinator/round_form.html", form=form, rnd=None), (400 if form.errors else 200)


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@coordinator_required
def edit_round(round_id: int):
    rnd = rounds.load_round(round_id)
    form = _round_form(RoundForm())
    if request.method == "GET":
        form.fill_from(rounds.settings_of(rnd))
    if form.validate_on_submit():
        try:
            rounds.update_round(round_id, form.to_settings(), current_user)
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
        else:
            flash("Round saved.", "success")
            return redirect(url_for("coordinator.round_detail", round_id=round_id))
    return render_template("coordinator/round_form.html", form=form, rnd=rnd), (400 if form.errors else 200)


@bp.get("/rounds/<int:round_id>")
@coordinator_required
def round_detail(round_id: int):
    rnd = rounds.load_round(round_id)
    entries = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.round_id == rnd.id).order_by(AuditEntry.id.desc()).limit(100)
    ).scalars()
    lines, vehicles = _demand_totals().get(rnd.id, (0, 0))
    return render_template(
        "coordinator/round_detail.html",
        rnd=rnd,
        entries=list(entries),
        transitions=rounds.allowed_transitions(rnd),
        committed_lines=lines,
        committed_vehicles=vehicles,
        form=TransitionForm(),
    )


@bp.post("/rounds/<int:round_id>/transition")
@coordinator_required
def transition(round_id: int):
    TransitionForm().validate_on_submit()  # CSRF is checked globally; the form has no fields
    rnd = rounds.transition(round_id, request.form.get("target", ""), current_user)
    flash(f"“{rnd.name}” is now in phase “{rnd.phase.label}”.", "success")
    back = request.form.get("back")
    if back == "dashboard":
        return redirect(url_for("coordinator.dashboard"))
    return redirect(url_for("coordinator.round_detail", round_id=round_id))


@bp.get("/organizations")
@coordinator_required
def organizations():
    orgs = db.session.execute(sa.select(Organization).order_by(Organization.kind, Organization.name)).scalars()
    return render_template("coordinator/organizations.html", orgs=list(orgs))


@bp.route("/users/new", methods=["GET", "POST"])
@coordinator_required
def new_coordinator():
    form = CoordinatorUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_coordinator(
                actor=current_user,
                email=form.email.data or "",
                name=form.name.data or "",
                password=form.password.data or "",
            )
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
        else:
            flash(f"Coordinator account {user.email} created.", "success")
            return redirect(url_for("main.organization", org_id=user.organization_id))
    return render_template("coordinator/user_form.html", form=form), (400 if form.errors else 200)
