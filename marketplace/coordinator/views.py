"""The coordinator's pages: all rounds, setting a round up, moving it through its phases, accounts."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.access import coordinator_required
from marketplace.coordinator.forms import (
    ApprovalForm,
    CoordinatorUserForm,
    MoveForm,
    PoolingRunForm,
    RoundForm,
    ScenarioForm,
    TransitionForm,
)
from marketplace.extensions import db
from marketplace.models import (
    AuditEntry,
    Region,
    RoundPhase,
    UnpooledLine,
    UnservedLine,
)
from marketplace.pagination import paginate, paginate_rows
from marketplace.services import (
    accounts,
    audit,
    award,
    contracting,
    demand,
    exports,
    moves,
    ocds,
    pooling,
    reference_data,
    reports,
    rounds,
)
from marketplace.services.errors import Conflict, DomainError, ValidationFailed
from marketplace.views_common import apply_field_errors

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


@bp.get("/")
@coordinator_required
def dashboard():
    all_rounds = rounds.visible_rounds(current_user)
    return render_template(
        "coordinator/dashboard.html",
        rounds=all_rounds,
        totals=demand.committed_totals(),
        transitions={r.id: rounds.allowed_transitions(r) for r in all_rounds},
        form=TransitionForm(),
    )


def _round_form(form: RoundForm) -> RoundForm:
    form.segment_ids.choices = [(s.id, s.name) for s in reference_data.segments()]
    regions = reference_data.regions()
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
    # The whole audit log, a page at a time, newest first; filter by what happened or who did it.
    entries = paginate(
        audit.round_log_query(rnd.id),
        prefix="log_", sorts={"when": [AuditEntry.id]}, default="when", descending=True,
        filters=audit.ROUND_LOG_FILTERS,
    )  # fmt: skip
    lines, vehicles = demand.committed_totals(rnd.id).get(rnd.id, (0, 0))
    return render_template(
        "coordinator/round_detail.html",
        rnd=rnd,
        entries=entries,
        transitions=rounds.allowed_transitions(rnd),
        committed_lines=lines,
        committed_vehicles=vehicles,
        form=TransitionForm(),
    )


def _phase(value: str) -> RoundPhase:
    try:
        return RoundPhase(value)
    except ValueError:
        raise ValidationFailed(f"“{value}” is not a phase of a round.") from None


def _confirm_page(preview: moves.Preview, form: MoveForm, *, action: str, hidden: dict, back: str, status: int = 200):
    """The confirmation step: the move's consequences in numbers, what is missing (with links), the form."""
    fixes = {
        "settings": url_for("coordinator.edit_round", round_id=preview.round.id),
        "pooling": url_for("coordinator.pooling_page", round_id=preview.round.id),
        "scenarios": url_for("coordinator.scenarios", round_id=preview.round.id),
    }
    page = render_template(
        "coordinator/confirm_move.html",
        rnd=preview.round,
        preview=preview,
        form=form,
        action=action,
        hidden=hidden,
        back=back,
        fixes=fixes,
    )
    return page, status


def _show_error(form: MoveForm, exc: DomainError) -> None:
    if isinstance(exc, ValidationFailed):
        apply_field_errors(form, exc)
    else:
        flash(exc.message, "danger")


def _publish_move(round_id: int, target: RoundPhase, publish, *, action: str, back: str, **chosen: int):
    """A publish that moves the round: its confirmation page (about the `chosen` run or scenario), then `publish`."""
    form = MoveForm()

    def page(status: int):
        preview = moves.preview(round_id, target, current_user, **chosen)
        status = status if preview.possible else 409
        return _confirm_page(preview, form, action=action, hidden={}, back=back, status=status)

    if request.method == "GET" or not form.validate_on_submit():
        return page(200 if request.method == "GET" else 400)
    try:
        return publish(form)
    except DomainError as exc:
        db.session.rollback()
        _show_error(form, exc)
        return page(exc.status)


def _back_url(round_id: int, back: str | None) -> str:
    if back == "dashboard":
        return url_for("coordinator.dashboard")
    return url_for("coordinator.round_detail", round_id=round_id)


@bp.get("/rounds/<int:round_id>/move/<target>")
@coordinator_required
def confirm_transition(round_id: int, target: str):
    preview = moves.preview(round_id, _phase(target), current_user)
    hidden = {"target": target, "back": request.args.get("back", "")}
    action = url_for("coordinator.transition", round_id=round_id)
    return _confirm_page(
        preview,
        MoveForm(),
        action=action,
        hidden=hidden,
        back=_back_url(round_id, request.args.get("back")),
        status=200 if preview.possible else 409,
    )


@bp.post("/rounds/<int:round_id>/transition")
@coordinator_required
def transition(round_id: int):
    form = MoveForm()
    target = _phase(form.target.data or "")
    hidden = {"target": target.value, "back": form.back.data or ""}
    action = url_for("coordinator.transition", round_id=round_id)

    def again(status: int):
        preview = moves.preview(round_id, target, current_user)
        if status == 409 and preview.must_decline_pending and form.confirm.data:
            # The refusal is about these two fields: say so next to them.
            if not form.decline_pending.data:
                form.decline_pending.errors = ["Tick this to close the round now."]
            if not (form.reason.data or "").strip():
                form.reason.errors = ["Say why the pending allocations are treated as declined."]
        return _confirm_page(
            preview, form, action=action, hidden=hidden, back=_back_url(round_id, form.back.data), status=status
        )

    if not form.validate_on_submit():
        preview = moves.preview(round_id, target, current_user)
        if not preview.possible:
            return again(409)
        return again(400)
    reason = (form.reason.data or "") if form.decline_pending.data else None
    try:
        rnd = rounds.transition(round_id, target, current_user, decline_pending_reason=reason)
    except DomainError as exc:
        db.session.rollback()
        _show_error(form, exc)
        return again(exc.status)
    flash(f"“{rnd.name}” is now in phase “{rnd.phase.label}”.", "success")
    return redirect(_back_url(round_id, form.back.data))


@bp.get("/organizations")
@coordinator_required
def organizations():
    orgs = accounts.all_organizations()
    return render_template(
        "coordinator/organizations.html",
        orgs=list(orgs),
        pending=accounts.pending_organizations(),
        action_form=ApprovalForm(),
    )


@bp.post("/organizations/<int:org_id>/<any(approve, reject):decision>")
@coordinator_required
def decide_organization(org_id: int, decision: str):
    org = accounts.decide_organization(current_user, org_id, approve=decision == "approve")
    flash(f"{org.kind.label} “{org.name}” is {org.approval.label}.", "success")
    return redirect(url_for("coordinator.organizations"))


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


# ---------------------------------------------------------------- solver runs (pooling runs and award scenarios)


def _progress(run):
    """What the page's progress bar polls for (static/js/progress.js)."""
    return {"id": run.id, "status": run.status.value, "progress": run.progress or {}, "error": run.error}


def _solver_document(run, which: str, filename: str) -> Response:
    """A run's exact solver input or output, as stored: `python -m solver ...` re-solves the input."""
    text = run.input_json if which == "input" else run.output_json
    if text is None:
        abort(404)
    return Response(
        text, mimetype="application/json", headers={"Content-Disposition": f"attachment; filename={filename}"}
    )


# ---------------------------------------------------------------- pooling


@bp.get("/rounds/<int:round_id>/pooling")
@coordinator_required
def pooling_page(round_id: int):
    return _pooling_page(round_id)


def _pooling_page(round_id: int, form: PoolingRunForm | None = None, status: int = 200):
    """The pooling page; a refused run form comes back here with its messages and what was typed."""
    rnd = rounds.load_round(round_id)
    runs = pooling.runs_of(rnd.id)
    selected = None
    wanted = request.args.get("run", type=int)
    for run in runs:
        if run.id == wanted or (wanted is None and run.id == rnd.published_pooling_run_id):
            selected = run
    if selected is None and wanted is None:
        selected = next((r for r in runs if r.status.value == "succeeded"), None)
    form = form or PoolingRunForm(
        formdata=None,
        min_lot_quantity=rnd.min_lot_quantity,
        max_lot_quantity=rnd.max_lot_quantity,
        max_levels_up=rnd.max_levels_up,
    )
    lines, vehicles = demand.committed_totals(rnd.id).get(rnd.id, (0, 0))
    lots = unpooled = None
    if selected is not None and selected.status.value == "succeeded":
        lots = paginate(
            pooling.lots_query(selected.id), prefix="lots_", sorts=pooling.LOT_SORTS, default="code",
            filters=pooling.LOT_FILTERS,
        )  # fmt: skip
        unpooled = paginate(
            pooling.unpooled_query(selected.id), prefix="out_",
            sorts={"line": [UnpooledLine.demand_line_id, UnpooledLine.id],
                   "vehicles": [UnpooledLine.quantity, UnpooledLine.id]},
            default="line",
        )  # fmt: skip
    return render_template(
        "coordinator/pooling.html",
        rnd=rnd,
        runs=runs,
        selected=selected,
        lots=lots,
        unpooled=unpooled,
        form=form,
        action_form=TransitionForm(),
        committed_lines=lines,
        committed_vehicles=vehicles,
    ), status


@bp.get("/lots/<int:lot_id>")
@coordinator_required
def lot_detail(lot_id: int):
    """One lot of a pooling run and its members, a page at a time (the pooling page lists the lots only)."""
    lot = pooling.get_lot(lot_id)
    rnd = rounds.load_round(lot.round_id)
    members = paginate(
        pooling.members_query(lot.id), sorts=pooling.MEMBER_SORTS, default="line", filters=pooling.MEMBER_FILTERS
    )
    return render_template("coordinator/lot.html", rnd=rnd, lot=lot, members=members)


@bp.post("/rounds/<int:round_id>/pooling")
@coordinator_required
def start_pooling(round_id: int):
    form = PoolingRunForm()
    if not form.validate_on_submit():
        flash("The pooling run was not started: fix the fields marked below.", "danger")
        return _pooling_page(round_id, form, 400)
    try:
        run = pooling.start_run(
            round_id,
            current_user,
            min_lot_quantity=form.min_lot_quantity.data,
            max_lot_quantity=form.max_lot_quantity.data,
            max_levels_up=form.max_levels_up.data,
            time_limit=float(form.time_limit.data or 30),
        )
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        apply_field_errors(form, exc)
        return _pooling_page(round_id, form, exc.status)
    flash(f"Pooling run #{run.id} started.", "success")
    return redirect(url_for("coordinator.pooling_page", round_id=round_id, run=run.id))


@bp.get("/pooling-runs/<int:run_id>/progress")
@coordinator_required
def pooling_progress(run_id: int):
    return _progress(pooling.get_run(run_id))


@bp.post("/pooling-runs/<int:run_id>/cancel")
@coordinator_required
def cancel_pooling(run_id: int):
    run = pooling.cancel_run(run_id, current_user)
    flash(f"Pooling run #{run.id} is being cancelled.", "info")
    return redirect(url_for("coordinator.pooling_page", round_id=run.round_id, run=run.id))


@bp.route("/pooling-runs/<int:run_id>/publish", methods=["GET", "POST"])
@coordinator_required
def publish_pooling(run_id: int):
    run = pooling.get_run(run_id)

    def publish(form: MoveForm):
        rnd = pooling.publish_run(run_id, current_user)
        flash(f"The lots of pooling run #{run_id} are published: OEMs can bid until the bid deadline.", "success")
        return redirect(url_for("coordinator.pooling_page", round_id=rnd.id))

    back = url_for("coordinator.pooling_page", round_id=run.round_id, run=run_id)
    action = url_for("coordinator.publish_pooling", run_id=run_id)
    return _publish_move(run.round_id, RoundPhase.TENDERING, publish, action=action, back=back, run_id=run_id)


@bp.get("/pooling-runs/<int:run_id>/<any(input, output):which>.json")
@coordinator_required
def pooling_document(run_id: int, which: str):
    """The exact solver document of a run: `python -m solver pool input.json` reproduces output.json."""
    run = pooling.get_run(run_id)
    return _solver_document(run, which, f"round-{run.round_id}-pooling-run-{run.id}-{which}.json")


# ---------------------------------------------------------------- award scenarios


def _scenario_form(rnd, form: ScenarioForm | None = None) -> ScenarioForm:
    form = form or ScenarioForm(
        max_winners_per_lot=rnd.max_winners_per_lot,
        max_share_percent=rnd.max_share_per_supplier * 100,
        line_service=rnd.line_service.value,
    )
    form.excluded_supplier_ids.choices = [(org.id, org.name) for org in award.bidders(rnd)]
    return form


@bp.get("/rounds/<int:round_id>/scenarios")
@coordinator_required
def scenarios(round_id: int):
    return _scenarios_page(round_id)


def _scenarios_page(round_id: int, form: ScenarioForm | None = None, status: int = 200):
    """The scenarios page; a refused scenario form comes back here with its messages and what was typed."""
    rnd = rounds.load_round(round_id)
    found = award.scenarios_of(rnd.id)
    compared = [award.figures(rnd, s) for s in found if s.status.value == "succeeded"]
    charts = award.comparison_charts(compared)
    return render_template(
        "coordinator/scenarios.html",
        rnd=rnd,
        scenarios=found,
        compared=compared,
        charts=charts,
        segment_names={seg.id: seg.short_name for seg in rnd.segments},
        form=form or _scenario_form(rnd),
        action_form=TransitionForm(),
    ), status


@bp.post("/rounds/<int:round_id>/scenarios")
@coordinator_required
def start_scenario(round_id: int):
    rnd = rounds.load_round(round_id)
    form = _scenario_form(rnd, ScenarioForm())
    if not form.validate_on_submit():
        flash("The scenario was not started: fix the fields marked below.", "danger")
        return _scenarios_page(round_id, form, 400)
    try:
        scenario = award.start_scenario(
            round_id,
            current_user,
            award.ScenarioRules(
                name=form.name.data or "",
                max_winners_per_lot=form.max_winners_per_lot.data,
                max_share_per_supplier=(form.max_share_percent.data or 0) / 100,
                line_service=form.line_service.data,
                excluded_supplier_ids=list(form.excluded_supplier_ids.data or []),
                time_limit=float(form.time_limit.data or 30),
                prefer_early_delivery=bool(form.prefer_early_delivery.data),
            ),
        )
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        apply_field_errors(form, exc)
        return _scenarios_page(round_id, form, exc.status)
    flash(f"Scenario “{scenario.name}” started.", "success")
    return redirect(url_for("coordinator.scenarios", round_id=round_id))


@bp.get("/scenarios/<int:scenario_id>")
@coordinator_required
def scenario_detail(scenario_id: int):
    scenario = award.get_scenario(scenario_id)
    rnd = rounds.load_round(scenario.round_id)
    figures = award.figures(rnd, scenario) if scenario.status.value == "succeeded" else None
    allocations = unserved = None
    if figures is not None:
        allocations = paginate(
            contracting.allocations_of(scenario.id), sorts=contracting.ALLOCATION_SORTS, default="lot",
            filters={k: contracting.ALLOCATION_FILTERS[k] for k in ("lot", "fleet", "supplier")},
        )  # fmt: skip
        unserved = paginate(
            contracting.unserved_of(scenario.id), prefix="out_",
            sorts={"line": [UnservedLine.demand_line_id, UnservedLine.id]}, default="line",
        )  # fmt: skip
    suppliers = lots = None
    if figures is not None:  # the summary by supplier and by lot (services/exports.py), paged like the lists
        suppliers = paginate_rows(exports.by_supplier(scenario), prefix="sup_")
        summary = exports.lot_summary(rnd, scenario)
        lots = paginate(summary.query, prefix="bylot_", sorts=summary.sorts, default="lot", filters=summary.filters,
                        rows=exports.lot_rows)  # fmt: skip
    return render_template(
        "coordinator/scenario_detail.html", rnd=rnd, scenario=scenario, figures=figures, allocations=allocations,
        unserved=unserved, suppliers=suppliers, lots=lots, awarded_choices=exports.AWARDED_CHOICES,
    )  # fmt: skip


@bp.get("/scenarios/<int:scenario_id>/progress")
@coordinator_required
def scenario_progress(scenario_id: int):
    return _progress(award.get_scenario(scenario_id))


@bp.post("/scenarios/<int:scenario_id>/cancel")
@coordinator_required
def cancel_scenario(scenario_id: int):
    scenario = award.cancel_scenario(scenario_id, current_user)
    flash(f"Scenario “{scenario.name}” is being cancelled.", "info")
    return redirect(url_for("coordinator.scenarios", round_id=scenario.round_id))


@bp.route("/scenarios/<int:scenario_id>/publish", methods=["GET", "POST"])
@coordinator_required
def publish_scenario(scenario_id: int):
    scenario = award.get_scenario(scenario_id)

    def publish(form: MoveForm):
        rnd = award.publish_scenario(scenario_id, current_user, reason=form.reason.data)
        flash("The award is published: each OEM sees what it won and each fleet its allocation.", "success")
        return redirect(url_for("coordinator.scenarios", round_id=rnd.id))

    back = url_for("coordinator.scenarios", round_id=scenario.round_id)
    action = url_for("coordinator.publish_scenario", scenario_id=scenario_id)
    ids = {"scenario_id": scenario_id}
    return _publish_move(scenario.round_id, RoundPhase.AWARDED, publish, action=action, back=back, **ids)


@bp.get("/scenarios/<int:scenario_id>/<any(input, output):which>.json")
@coordinator_required
def scenario_document(scenario_id: int, which: str):
    """The exact solver document of a scenario: `python -m solver award input.json` reproduces output.json."""
    scenario = award.get_scenario(scenario_id)
    return _solver_document(scenario, which, f"round-{scenario.round_id}-scenario-{scenario.id}-{which}.json")


# ---------------------------------------------------------------- round report and open data


@bp.get("/rounds/<int:round_id>/report")
@coordinator_required
def round_report(round_id: int):
    report = reports.round_report(rounds.load_round(round_id))
    # The charts show the furthest stage the round reached, against committed demand.
    stage, measure = (
        ("awarded", "Vehicles awarded, of committed")
        if report.scenario_name
        else ("pooled", "Vehicles pooled, of committed")
        if report.pooling_run_id
        else ("committed", "Vehicles committed")
    )

    def bars(rows):  # _bars.html leaves a label about 16 characters before the bar starts
        label = lambda text: text if len(text) <= 16 else text[:15].rstrip() + "…"  # noqa: E731
        of = "" if stage == "committed" else " of {:,}"
        return [(label(r.label), getattr(r, stage), f"{getattr(r, stage):,}" + of.format(r.committed)) for r in rows]

    charts = {"measure": measure, "segment": bars(report.by_segment), "country": bars(report.by_region)}
    return render_template("coordinator/report.html", rnd=report.round, report=report, charts=charts)


@bp.get("/rounds/<int:round_id>/report.<any(xlsx, csv):fmt>")
@coordinator_required
def round_report_download(round_id: int, fmt: str):
    body = reports.download(rounds.load_round(round_id), fmt)
    mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if fmt == "xlsx" else "text/csv"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename=round-{round_id}-report.{fmt}"}
    )


@bp.get("/rounds/<int:round_id>/ocds.json")
@coordinator_required
def round_ocds(round_id: int):
    """The round as an OCDS 1.1 release package (coordinators only; what it withholds: services/ocds.py)."""
    return Response(
        ocds.package_text(rounds.load_round(round_id), uri=request.base_url),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=round-{round_id}-ocds-release-package.json"},
    )
