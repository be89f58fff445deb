"""The fleet's pages: rounds open to it, its demand lines (form and spreadsheet), commitment and pool progress."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.access import fleet_required
from marketplace.filters import count_of
from marketplace.fleet.forms import CommitForm, ConfirmForm, DemandLineForm, UploadForm
from marketplace.models import DemandLine, Round, RoundPhase
from marketplace.pagination import kept_state, paginate, paginate_rows
from marketplace.services import access, demand, demand_upload, reference_data, rounds, values
from marketplace.services.errors import Conflict, ValidationFailed
from marketplace.views_common import apply_field_errors

bp = Blueprint("fleet", __name__, url_prefix="/fleet")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/")
@fleet_required
def dashboard():
    visible = [r for r in rounds.visible_rounds(current_user) if r.phase is not RoundPhase.CANCELLED]
    mine = demand.totals_by_round(current_user)
    return render_template(
        "fleet/dashboard.html",
        open_rounds=[r for r in visible if r.phase is RoundPhase.DEMAND_OPEN],
        other_rounds=[r for r in visible if r.phase is not RoundPhase.DEMAND_OPEN],
        mine=mine,
    )


# ---------------------------------------------------------------- the round and its lines


@bp.get("/rounds/<int:round_id>")
@fleet_required
def round_page(round_id: int):
    rnd = demand.round_for_fleet(round_id, current_user)
    lines = paginate(
        demand.lines_query(rnd, current_user), sorts=demand.LINE_SORTS, default="line", filters=demand.LINE_FILTERS
    )
    shown = lines.items  # progress and lots for the lines on this page only
    return render_template(
        "fleet/round.html",
        rnd=rnd,
        lines=lines,
        totals=demand.totals_for(rnd, current_user),
        progress=demand.pool_progress(rnd, shown),
        outcome=demand.pool_outcome(rnd, shown),
        region_names=_region_names(),
        form=ConfirmForm(),
        deposit_due=demand.deposit_due(rnd),
        steps=demand.next_steps(rnd),
    )


def _lines_kept() -> dict[str, str]:
    """The round page's list of lines as the fleet had it (page, order, filters): an action started from it
    (review and commit, edit, withdraw) carries it and returns to the same rows."""
    return kept_state("", demand.LINE_FILTERS)


def _back_to_lines(round_id: int, **extra: str):
    return redirect(url_for("fleet.round_page", round_id=round_id, **_lines_kept(), **extra))


def _region_names() -> dict[str, str]:
    return reference_data.region_names()


def _region_options(rnd: Round) -> list[tuple[str, str]]:
    """(id, "Los Angeles — California, United States") for the searchable region list, in tree order."""
    regions = demand.scope_regions(rnd)
    names = {r.id: r for r in reference_data.regions()}
    options = []
    for region in regions:
        path, parent = [], region.parent
        while parent is not None and parent.level != "world_region":
            path.append(parent.name)
            parent = names.get(parent.parent_id) if parent.parent_id else None
        label = "\u2003" * region.depth + region.name + (f" — {', '.join(path)}" if path else "")
        options.append((region.id, label))
    return options


def _line_form(rnd: Round, form: DemandLineForm) -> DemandLineForm:
    form.segment.choices = [("", "Choose a segment…")] + [(s.id, s.name) for s in rnd.segments]
    return form


def _render_line_form(rnd: Round, form: DemandLineForm, line: DemandLine | None, status: int = 200):
    return (
        render_template(
            "fleet/line_form.html",
            rnd=rnd,
            keep=_lines_kept(),
            form=form,
            line=line,
            region_options=_region_options(rnd),
            quarters=demand.upcoming_quarters(),
            this_quarter=demand.current_quarter(),
        ),
        status,
    )


@bp.route("/rounds/<int:round_id>/lines/new", methods=["GET", "POST"])
@fleet_required
def new_line(round_id: int):
    rnd = demand.open_round(round_id, current_user, doing="post demand")
    form = _line_form(rnd, DemandLineForm())
    if request.method == "GET" and rnd.segments:
        form.segment.data = rnd.segments[0].id if len(rnd.segments) == 1 else ""
    if form.validate_on_submit():
        try:
            line = demand.create_line(round_id, form.values(), current_user)
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
        else:
            flash(
                f"Demand line saved: {count_of(line.quantity, 'vehicle')}. It is a draft until you commit it.",
                "success",
            )
            return redirect(url_for("fleet.round_page", round_id=round_id, _anchor=f"line-{line.id}"))
    return _render_line_form(rnd, form, None, 400 if request.method == "POST" else 200)


@bp.route("/lines/<int:line_id>/edit", methods=["GET", "POST"])
@fleet_required
def edit_line(line_id: int):
    line = access.own_line(current_user, line_id)
    rnd = demand.open_round(line.round_id, current_user, doing="edit demand")
    form = _line_form(rnd, DemandLineForm())
    if request.method == "GET":
        form.fill_from(line)
    if form.validate_on_submit():
        try:
            demand.update_line(line_id, form.values(), current_user)
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
        else:
            flash("Demand line saved.", "success")
            return _back_to_lines(rnd.id, _anchor=f"line-{line_id}")
    return _render_line_form(rnd, form, line, 400 if request.method == "POST" else 200)


@bp.route("/lines/<int:line_id>/withdraw", methods=["GET", "POST"])
@fleet_required
def withdraw_line(line_id: int):
    line = access.own_line(current_user, line_id)
    rnd = demand.open_round(line.round_id, current_user, doing="withdraw demand")
    form = ConfirmForm()
    if form.validate_on_submit():
        demand.withdraw_line(line_id, current_user)
        flash(f"Line withdrawn: {count_of(line.quantity, 'vehicle')} no longer count in this round.", "success")
        return _back_to_lines(rnd.id)
    page = render_template(
        "fleet/withdraw.html", rnd=rnd, line=line, form=form, region_names=_region_names(), keep=_lines_kept()
    )
    return page, (400 if request.method == "POST" else 200)


@bp.get("/rounds/<int:round_id>/commit")
@fleet_required
def commit_review(round_id: int):
    """What committing the chosen draft lines puts at stake (vehicles, maximum spend, deposit), before the POST."""
    form = CommitForm(request.args, meta={"csrf": False})  # a GET that only shows what a commit would do
    try:
        line_ids = None if form.all.data else values.read_ids(form.line_ids.data or [])
        summary = demand.commit_summary(round_id, line_ids, current_user)
    except values.Invalid:
        flash("Some of the chosen lines are not lines of this page: reload the page and choose again.", "danger")
        return _back_to_lines(round_id)
    except (ValidationFailed, Conflict) as exc:
        flash(exc.message, "danger")
        return _back_to_lines(round_id)
    return render_template(
        "fleet/commit_review.html", rnd=summary.round, summary=summary, form=ConfirmForm(), keep=_lines_kept()
    )


@bp.post("/rounds/<int:round_id>/commit")
@fleet_required
def commit_lines(round_id: int):
    form = CommitForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        line_ids = None if form.all.data else values.read_ids(form.line_ids.data or [])
    except values.Invalid:
        flash("Some of the chosen lines are not lines of this page: reload the page and choose again.", "danger")
        return _back_to_lines(round_id)
    try:
        result = demand.commit_lines(round_id, line_ids, current_user)
    except (ValidationFailed, Conflict) as exc:
        flash(exc.message, "danger")
        return _back_to_lines(round_id)
    if result.committed:
        n = len(result.committed)
        message = f"Committed {n} line{'s' if n != 1 else ''} ({result.vehicles} vehicles)"
        if result.without_deposit:
            message += ": payments off: committed without a deposit."
        flash(message + ("" if result.without_deposit else "."), "success")
    if result.awaiting_deposit:
        flash(f"{len(result.awaiting_deposit)} line(s) wait for their deposit before they count.", "warning")
        return redirect(url_for("payments.my_deposits"))  # where each deposit has its "Pay deposit" button
    return _back_to_lines(round_id)


# ---------------------------------------------------------------- spreadsheets


@bp.get("/rounds/<int:round_id>/template.<fmt>")
@fleet_required
def upload_template(round_id: int, fmt: str):
    rnd = demand.round_for_fleet(round_id, current_user)
    if fmt == "xlsx":
        body, mimetype = demand_upload.template_xlsx(rnd), XLSX
    elif fmt == "csv":
        body, mimetype = demand_upload.template_csv(rnd), "text/csv; charset=utf-8"
    else:
        abort(404)
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="demand-lines-template-round-{rnd.id}.{fmt}"'},
    )


@bp.route("/rounds/<int:round_id>/upload", methods=["GET", "POST"])
@fleet_required
def upload(round_id: int):
    rnd = demand.open_round(round_id, current_user, doing="upload demand")
    form = UploadForm()
    problems: list[demand_upload.Problem] = []
    rows = 0
    if form.validate_on_submit():
        file = form.file.data
        if file is None or not getattr(file, "filename", ""):
            form.file.errors = ["Choose a .xlsx or .csv file to upload."]
        else:
            try:
                check = demand_upload.check_upload(round_id, file.filename, file.read(), current_user)
            except demand_upload.UploadRefused as exc:
                form.file.errors = [exc.message]
            else:
                if check.ok:
                    assert check.upload is not None
                    return redirect(url_for("fleet.upload_preview", round_id=round_id, token=check.upload.token))
                problems, rows = check.problems, check.rows
    status = 400 if request.method == "POST" else 200
    return render_template(
        "fleet/upload.html",
        rnd=rnd,
        form=form,
        problems=problems[: demand_upload.SHOWN_PROBLEMS],
        hidden_problems=max(0, len(problems) - demand_upload.SHOWN_PROBLEMS),
        problem_rows=len({p.row for p in problems}),
        rows=rows,
        columns=demand_upload.COLUMN_HELP,
        max_rows=demand_upload.MAX_ROWS,
    ), status


@bp.get("/rounds/<int:round_id>/upload/<token>")
@fleet_required
def upload_preview(round_id: int, token: str):
    rnd, staged, checked = demand_upload.preview(round_id, token, current_user)
    return render_template(
        "fleet/upload_preview.html",
        rnd=rnd,
        upload=staged,
        checked=checked,
        rows=paginate_rows(checked, per_page=100),
        vehicles=sum(line.quantity for _, line in checked),
        region_names=_region_names(),
        segment_names={s.id: s.short_name for s in rnd.segments},
        number_format=values.number_format_of(current_user),
        form=ConfirmForm(),
    )


@bp.post("/rounds/<int:round_id>/upload/<token>/save")
@fleet_required
def upload_save(round_id: int, token: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = demand_upload.save_upload(round_id, token, current_user)
    except ValidationFailed as exc:
        flash(exc.message, "danger")
        return redirect(url_for("fleet.upload", round_id=round_id))
    flash(
        f"Saved {result.lines:,} demand lines ({result.vehicles:,} vehicles) as drafts: commit them to count in the pool.",
        "success",
    )
    return redirect(url_for("fleet.round_page", round_id=round_id))


@bp.get("/rounds/<int:round_id>/export.xlsx")
@fleet_required
def export_lines(round_id: int):
    rnd = demand.round_for_fleet(round_id, current_user)
    body = demand_upload.export_xlsx(rnd, demand.lines_of(rnd, current_user))
    return Response(
        body,
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="demand-lines-round-{rnd.id}.xlsx"'},
    )
