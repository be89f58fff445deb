"""The OEM's pages: tenders open to it, its catalog, its sealed bids, packages, capacity and bid sheet.

Every form is a WTForms form whose values a service checks; a refused form comes back on its own page
with each message next to its field and everything typed kept. POST buttons carry only the CSRF
token, which the app-wide CSRFProtect checks before any view runs.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.access import oem_required
from marketplace.extensions import db
from marketplace.models import BidRevision, PackageRevision, RoundPhase
from marketplace.oem.forms import ActionForm, BidForm, BidSheetForm, CapacityForm, ModelForm, RetireForm, package_form
from marketplace.pagination import paginate
from marketplace.services import access, bid_sheet, bidding, catalog, quarter_capacity, reference_data, rounds
from marketplace.services.catalog import shortfalls
from marketplace.services.errors import Conflict, ValidationFailed
from marketplace.services.quarter_lists import quarters_text
from marketplace.views_common import apply_field_errors

bp = Blueprint("oem", __name__, url_prefix="/oem")


@bp.get("/")
@oem_required
def dashboard():
    visible = [r for r in rounds.visible_rounds(current_user) if r.phase is not RoundPhase.CANCELLED]
    models = catalog.models_of(current_user)
    tendering = [r for r in visible if r.phase is RoundPhase.TENDERING]
    progress = {}  # round id -> (lots with a live bid of this OEM, lots published)
    for rnd in tendering:
        live = [r for r in bidding.current_bids_of(rnd, current_user).values() if not r.withdrawn]
        progress[rnd.id] = (len(live), len(bidding.lots_of(rnd)))
    return render_template(
        "oem/dashboard.html",
        tendering=tendering,
        progress=progress,
        upcoming=[
            r for r in visible if r.phase in (RoundPhase.DEMAND_OPEN, RoundPhase.DEMAND_CLOSED, RoundPhase.POOLED)
        ],
        past=[
            r
            for r in visible
            if r.phase
            not in (RoundPhase.TENDERING, RoundPhase.DEMAND_OPEN, RoundPhase.DEMAND_CLOSED, RoundPhase.POOLED)
        ],
        tender_phases=bidding.TENDER_PHASES,
        models=list(models),
    )


# ---------------------------------------------------------------- catalog


def _model_form(form: ModelForm) -> ModelForm:
    form.segment_id.choices = [(s.id, s.short_name) for s in reference_data.segments()]
    return form


@bp.get("/catalog")
@oem_required
def catalog_list():
    return render_template("oem/catalog.html", models=catalog.models_of(current_user), form=ActionForm())


@bp.route("/catalog/new", methods=["GET", "POST"])
@oem_required
def new_model():
    form = _model_form(ModelForm())
    status = 200
    if form.validate_on_submit():
        try:
            model = catalog.create_model(form.values(), current_user)
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
            status = 400
        else:
            flash(f"“{model.name}” is in your catalog.", "success")
            return redirect(url_for("oem.catalog_list"))
    return render_template("oem/model_form.html", form=form, model=None), status


@bp.route("/catalog/<int:model_id>/edit", methods=["GET", "POST"])
@oem_required
def edit_model(model_id: int):
    model = access.own_model(current_user, model_id)
    form = _model_form(ModelForm(data=catalog.values_of(model) if request.method == "GET" else None))
    status = 200
    if form.validate_on_submit():
        try:
            catalog.update_model(model_id, form.values(), current_user)
        except ValidationFailed as exc:
            apply_field_errors(form, exc)
            status = 400
        else:
            flash(f"“{model.name}” saved.", "success")
            return redirect(url_for("oem.catalog_list"))
    return render_template("oem/model_form.html", form=form, model=model), status


@bp.post("/catalog/<int:model_id>/retire")
@oem_required
def retire_model(model_id: int):
    retired = RetireForm().retired.data != "0"  # anything but "0" retires: the safe reading of a stray value
    model = catalog.set_retired(model_id, retired, current_user)
    flash(
        f"“{model.name}” retired: it can no longer be offered in a new bid."
        if retired
        else f"“{model.name}” is back in your catalog.",
        "success",
    )
    return redirect(url_for("oem.catalog_list"))


# ---------------------------------------------------------------- tenders and bids


@bp.get("/rounds/<int:round_id>")
@oem_required
def tender(round_id: int):
    return _tender_page(bidding.tender_round(round_id, current_user))


def _tender_page(rnd: Any, capacity_form: CapacityForm | None = None, status: int = 200):
    """The tender page; a refused capacity comes back here with its message and what was typed."""
    capacity = bidding.capacity_of(rnd, current_user)
    if capacity_form is None:
        capacity_form = CapacityForm(formdata=None, capacity="" if capacity is None else str(capacity))
    return render_template(
        "oem/tender.html",
        rnd=rnd,
        lots=paginate(
            bidding.lots_query(rnd),
            sorts=bidding.TENDER_LOT_SORTS,
            default="lot",
            filters=bidding.tender_lot_filters(rnd, current_user),
        ),
        your_bid_choices=bidding.YOUR_BID_CHOICES,
        current=bidding.current_bids_of(rnd, current_user),  # the table shows what counts, not the history
        packages=bidding.packages_of(rnd, current_user),
        capacity=capacity,
        capacity_form=capacity_form,
        quarter_rows=quarter_capacity.rows_of(rnd, current_user),
        segment_names={s.id: s.short_name for s in reference_data.segments()},
        open=rnd.phase is RoundPhase.TENDERING,
        form=ActionForm(),
        sheet_form=BidSheetForm(),
    ), status


@bp.post("/rounds/<int:round_id>/capacity")
@oem_required
def capacity(round_id: int):
    form = CapacityForm()
    if form.validate_on_submit():
        try:
            row = bidding.set_capacity(round_id, form.capacity.data, current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            apply_field_errors(form, exc)
            return _tender_page(bidding.tender_round(round_id, current_user), form, exc.status)
        except Conflict as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            flash(
                f"Your capacity for this round: {row.capacity:,} vehicles over all your bids and packages.", "success"
            )
            for warning in bidding.capacity_warnings(bidding.tender_round(round_id, current_user), current_user):
                flash(warning, "warning")
    return redirect(url_for("oem.tender", round_id=round_id))


def _bid_values(revision: Any) -> dict[str, Any]:
    if revision is None or revision.withdrawn:
        return {}
    values: dict[str, Any] = {
        "model_code": revision.vehicle_model.code,
        "min_quantity": revision.min_quantity,
        "max_quantity": revision.max_quantity,
        "quarters": quarters_text(revision.quarters),
    }
    for n, tier in enumerate(revision.tiers, start=1):
        values[f"tier{n}_min"] = tier.min_quantity
        values[f"tier{n}_price"] = f"{tier.unit_price:.2f}"
    return values


@bp.route("/rounds/<int:round_id>/lots/<int:lot_id>/bid", methods=["GET", "POST"])
@oem_required
def bid(round_id: int, lot_id: int):
    rnd = bidding.tender_round(round_id, current_user)
    lot = bidding.lot_in(rnd, lot_id)
    lot_code = lot.code  # read before the submit commits and expires it
    status = 200
    if request.method == "POST":
        form = BidForm()
        if form.validate_on_submit():
            try:
                revision = bidding.submit_bid(round_id, lot_id, form.values(), current_user)
            except (ValidationFailed, Conflict) as exc:
                # Refused (bad values, or no capacity stated yet): the same page, with what was typed.
                db.session.rollback()
                apply_field_errors(form, exc)
                status = exc.status
            else:
                flash(f"Bid on {lot_code} saved as revision {revision.number}: it is the one that counts.", "success")
                for warning in [*bidding.tier_warnings(revision), *bidding.capacity_warnings(rnd, current_user)]:
                    flash(warning, "warning")
                return redirect(url_for("oem.bid", round_id=round_id, lot_id=lot_id))
    # The bid and its history only to show the page (a saved bid redirects without reading them).
    existing = bidding.bids_of(rnd, current_user).get(lot.id)
    if request.method != "POST":
        form = BidForm(formdata=None, data=_bid_values(existing.current if existing else None))
    models = catalog.models_of(current_user, include_retired=False)
    fits = {m.code: shortfalls(m, lot) for m in models}
    tier_rows = max(4, bidding.tier_count({k: v for k, v in form.values().items() if v not in (None, "")}) + 1)
    return render_template(
        "oem/bid.html",
        rnd=rnd,
        lot=lot,
        bid=existing,
        bid_form=form,
        models=sorted(models, key=lambda m: (bool(fits[m.code]), m.segment_id != lot.segment_id, m.name)),
        fits=fits,
        tier_rows=min(tier_rows, bidding.MAX_TIERS),
        capacity=bidding.capacity_of(rnd, current_user),
        open=rnd.phase is RoundPhase.TENDERING,
        form=ActionForm(),
    ), status


@bp.get("/bids/<bid:bid_id>")
@oem_required
def bid_detail(bid_id: int):
    own = access.own_bid(current_user, bid_id)
    return redirect(url_for("oem.bid", round_id=own.round_id, lot_id=own.lot_id))


@bp.get("/bids/<bid:bid_id>/history")
@oem_required
def bid_history(bid_id: int):
    """Every revision of a bid, a page at a time (the bid page shows only the one that counts)."""
    own, query = bidding.bid_history(bid_id, current_user)
    rnd = rounds.load_round(own.round_id)
    revisions = paginate(
        query, sorts={"number": BidRevision.number, "submitted": [BidRevision.submitted_at, BidRevision.number]},
        default="number", descending=True,
    )  # fmt: skip
    return render_template("oem/history.html", rnd=rnd, bid=own, package=None, revisions=revisions)


@bp.get("/packages/<package:package_id>/history")
@oem_required
def package_history(package_id: int):
    own, query = bidding.package_history(package_id, current_user)
    rnd = rounds.load_round(own.round_id)
    revisions = paginate(
        query, sorts={"number": PackageRevision.number,
                      "submitted": [PackageRevision.submitted_at, PackageRevision.number]},
        default="number", descending=True,
    )  # fmt: skip
    return render_template("oem/history.html", rnd=rnd, bid=None, package=own, revisions=revisions)


@bp.post("/bids/<bid:bid_id>/withdraw")
@oem_required
def withdraw_bid(bid_id: int):
    own = access.own_bid(current_user, bid_id)
    revision = bidding.withdraw_bid(bid_id, current_user)
    flash(
        f"Bid on {own.lot.code} withdrawn (revision {revision.number}). You may bid again until the deadline.",
        "success",
    )
    return redirect(url_for("oem.bid", round_id=own.round_id, lot_id=own.lot_id))


def _package_values(revision: Any, name: str) -> dict[str, Any]:
    values: dict[str, Any] = {"name": name}
    if revision is None or revision.withdrawn:
        return values
    values["quarters"] = quarters_text(revision.quarters)
    for item in revision.items:
        values[f"lot{item.lot_id}_model_code"] = item.vehicle_model.code
        values[f"lot{item.lot_id}_quantity"] = item.quantity
        values[f"lot{item.lot_id}_unit_price"] = f"{item.unit_price:.2f}"
    return values


def _package_page(rnd: Any, package: Any, form: Any, status: int):
    lots = bidding.lots_of(rnd)
    models = catalog.models_of(current_user, include_retired=False)
    return render_template(
        "oem/package.html",
        rnd=rnd,
        package=package,
        lots=lots,
        models=models,
        fits={(m.code, lot.id): not shortfalls(m, lot) for m in models for lot in lots},
        package_form=form,
        capacity=bidding.capacity_of(rnd, current_user),
        open=rnd.phase is RoundPhase.TENDERING,
        form=ActionForm(),
    ), status


def _submit_package(rnd: Any, package: Any, package_id: int | None):
    """Save the posted package, or show the page again with each message next to its field."""
    form = package_form(bidding.lots_of(rnd))
    if form.validate_on_submit():
        try:
            revision = bidding.submit_package(rnd.id, form.values(), current_user, package_id=package_id)
        except (ValidationFailed, Conflict) as exc:
            db.session.rollback()
            form.items_error = exc.field_errors.get("items")  # about the package as a whole, shown above the lots
            apply_field_errors(form, exc, skip=("items",))
            return _package_page(rnd, package, form, exc.status)
        flash(
            f"Package saved as revision {revision.number}: "
            + ("all of its items or none." if package is None else "it is the one that counts."),
            "success",
        )
        return redirect(url_for("oem.package", package_id=revision.package_id if package is None else package))
    return _package_page(rnd, package, form, 400)


@bp.route("/rounds/<int:round_id>/packages/new", methods=["GET", "POST"])
@oem_required
def new_package(round_id: int):
    rnd = bidding.tender_round(round_id, current_user)
    if request.method == "POST":
        return _submit_package(rnd, None, None)
    return _package_page(rnd, None, package_form(bidding.lots_of(rnd), formdata=None), 200)


@bp.route("/packages/<package:package_id>", methods=["GET", "POST"])
@oem_required
def package(package_id: int):
    own = access.own_package(current_user, package_id)
    rnd = bidding.tender_round(own.round_id, current_user)
    full = next(p for p in bidding.packages_of(rnd, current_user) if p.id == own.id)
    if request.method == "POST":
        return _submit_package(rnd, full, package_id)
    form = package_form(bidding.lots_of(rnd), formdata=None, data=_package_values(full.current, full.name))
    return _package_page(rnd, full, form, 200)


@bp.post("/packages/<package:package_id>/withdraw")
@oem_required
def withdraw_package(package_id: int):
    revision = bidding.withdraw_package(package_id, current_user)
    flash(f"Package withdrawn (revision {revision.number}).", "success")
    return redirect(url_for("oem.package", package_id=package_id))


# ---------------------------------------------------------------- bid sheet


@bp.get("/rounds/<int:round_id>/bid-sheet.xlsx")
@oem_required
def bid_sheet_download(round_id: int):
    rnd = bidding.tender_round(round_id, current_user)
    data = bid_sheet.build_sheet(rnd, current_user)
    name = f"bid-sheet-round-{rnd.id}.xlsx"
    return Response(
        data,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.post("/rounds/<int:round_id>/bid-sheet")
@oem_required
def bid_sheet_upload(round_id: int):
    upload = request.files.get("sheet")
    try:
        if upload is None or not upload.filename:
            raise bid_sheet.SheetRefused("Choose the bid sheet (.xlsx) to upload.")
        result = bid_sheet.upload_sheet(round_id, upload.filename, upload.read(), current_user)
    except bid_sheet.SheetRefused as exc:
        rnd = bidding.tender_round(round_id, current_user)
        return render_template(
            "oem/sheet_problems.html", rnd=rnd, message=exc.message, problems=exc.problems, sheet_form=BidSheetForm()
        ), 400
    except Conflict as exc:
        flash(exc.message, "danger")
        return redirect(url_for("oem.tender", round_id=round_id))
    for message, category in result.messages():
        flash(message, category)
    return redirect(url_for("oem.tender", round_id=round_id))
