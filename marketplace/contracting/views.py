"""After the award: fleets' allocations and their confirmations, OEMs' results, the coordinator's view."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.access import coordinator_required, fleet_required, oem_required
from marketplace.contracting.forms import AnswerForm, DecideManyForm, PromoteForm
from marketplace.coordinator.forms import TransitionForm
from marketplace.filters import count_of
from marketplace.models import UnservedLine
from marketplace.pagination import kept_state, paginate, paginate_rows
from marketplace.services import backups, contracting, deliveries, feedback
from marketplace.services.errors import Conflict, ValidationFailed

bp = Blueprint("contracting", __name__)

FLEET_FILTERS = ("supplier", "status")


def _fleet_lists() -> dict[str, str]:
    """The fleet's two lists as it had them (allocations, unserved lines): a decision returns to the same rows."""
    return kept_state("", FLEET_FILTERS) | kept_state("out_", ())


@bp.get("/fleet/rounds/<int:round_id>/allocations")
@fleet_required
def fleet_allocations(round_id: int):
    q = contracting.fleet_result_queries(round_id, current_user)
    allocations = paginate(
        q.allocations, sorts=contracting.ALLOCATION_SORTS, default="line",
        filters={k: contracting.ALLOCATION_FILTERS[k] for k in FLEET_FILTERS},
    )  # fmt: skip
    unserved = paginate(
        q.unserved, prefix="out_", sorts={"line": [UnservedLine.demand_line_id, UnservedLine.id]}, default="line"
    )
    return render_template(
        "contracting/fleet.html",
        rnd=q.rnd,
        allocations=allocations,
        unserved=unserved,
        schedule=deliveries.schedule(q.allocations),
        form=TransitionForm(),
        keep=_fleet_lists(),
    )


@bp.post("/fleet/allocations/<allocation:allocation_id>/<any(confirm, decline):decision>")
@fleet_required
def decide(allocation_id: int, decision: str):
    allocation = contracting.decide(allocation_id, decision == "confirm", current_user)
    flash(
        f"You {'confirmed' if decision == 'confirm' else 'declined'} {count_of(allocation.quantity, 'vehicle')} "
        f"from {allocation.supplier.name}.",
        "success" if decision == "confirm" else "info",
    )
    return redirect(
        url_for("contracting.fleet_allocations", round_id=allocation.demand_line.round_id, **_fleet_lists())
    )


@bp.get("/oem/rounds/<int:round_id>/results")
@oem_required
def oem_results(round_id: int):
    q = contracting.oem_result_query(round_id, current_user)
    allocations = paginate(
        q.allocations, sorts=contracting.ALLOCATION_SORTS, default="lot",
        filters={k: contracting.ALLOCATION_FILTERS[k] for k in ("lot", "fleet", "status")},
    )  # fmt: skip
    found = feedback.for_oem(q.rnd, current_user)
    return render_template(
        "contracting/oem.html",
        rnd=q.rnd,
        allocations=allocations,
        totals=q.totals(),
        quarters=deliveries.won_against_capacity(q.rnd, q.allocations, current_user),
        feedback=found,
        lots=paginate_rows(found.rows, prefix="fb_"),
        backup_offers=backups.offers_of(round_id, current_user),
    )


@bp.get("/coordinator/rounds/<int:round_id>/contracting")
@coordinator_required
def coordinator_allocations(round_id: int):
    q, counts = contracting.all_allocation_query(round_id, current_user)
    allocations = paginate(
        q.allocations, sorts=contracting.ALLOCATION_SORTS, default="id", filters=contracting.ALLOCATION_FILTERS
    )
    return render_template("contracting/coordinator.html", rnd=q.rnd, allocations=allocations, counts=counts)


@bp.get("/fleet/rounds/<int:round_id>/allocations/review")
@fleet_required
def review_decisions(round_id: int):
    """The summary before deciding several allocations: vehicles, price against maximum prices, deposit."""
    form = DecideManyForm(formdata=request.args, meta={"csrf": False})
    keep = _fleet_lists()  # the list as the fleet had it, carried by the tick form
    if not form.check():
        for message in form.messages:
            flash(message, "danger")
        return redirect(url_for("contracting.fleet_allocations", round_id=round_id, **keep))
    summary = contracting.decision_summary(round_id, form.ids.data, form.decision.data == "confirm", current_user)
    return render_template(
        "contracting/decide_review.html",
        rnd=summary.round,
        summary=summary,
        post_form=DecideManyForm(formdata=None),
        keep=keep,
    )


@bp.post("/fleet/rounds/<int:round_id>/allocations/decide")
@fleet_required
def decide_many(round_id: int):
    form = DecideManyForm()
    back = url_for("contracting.fleet_allocations", round_id=round_id, **_fleet_lists())
    if not form.check():
        for message in form.messages:
            flash(message, "danger")
        return redirect(back), 303
    confirm = form.decision.data == "confirm"
    try:
        decided = contracting.decide_many(round_id, form.ids.data, confirm, current_user)
    except (Conflict, ValidationFailed) as exc:
        flash(f"Nothing was {'confirmed' if confirm else 'declined'}: {exc.message}", "danger")
        return redirect(back), 303
    vehicles = sum(a.quantity for a in decided)
    flash(
        f"You {'confirmed' if confirm else 'declined'} {count_of(len(decided), 'allocation')} "
        f"({count_of(vehicles, 'vehicle')}).",
        "success" if confirm else "info",
    )
    return redirect(back)


# ---------------------------------------------------------------- backups (services.backups)


@bp.get("/coordinator/rounds/<int:round_id>/backups")
@coordinator_required
def backups_page(round_id: int):
    found = backups.overview_query(round_id, current_user)
    listing = paginate(found.backups, sorts=backups.OVERVIEW_SORTS, default="lot", filters=backups.OVERVIEW_FILTERS)
    views = backups.views_of(found, listing.items)
    return render_template(
        "contracting/backups.html",
        rnd=found.round,
        found=found,
        listing=listing,
        views=views,
        backups_show=list(backups.SHOW),
    )


@bp.route("/coordinator/rounds/<int:round_id>/backups/<backup:backup_id>/promote", methods=["GET", "POST"])
@coordinator_required
def promote_backup(round_id: int, backup_id: int):
    """The confirmation page of a promotion (what it takes back, offers, leaves unserved), then the move.
    The backups list's page, order and filters ride along (`back`) so the coordinator returns to the rows it left."""
    back = kept_state("", backups.OVERVIEW_FILTERS)
    form = PromoteForm()
    if request.method == "POST" and form.validate():
        try:
            done = backups.promote(round_id, backup_id, form.cause.data, form.reason.data, current_user)
        except ValidationFailed as exc:
            for name, message in exc.field_errors.items():
                getattr(form, name).errors = [message]
            flash(exc.message, "danger")
        else:
            flash(
                f"{done.view.backup.withdrawn.name} is out of {done.view.backup.lot.code}: "
                f"{count_of(done.offered, 'vehicle')} offered to the backup, {done.unreplaced:,} not replaced.",
                "success",
            )
            return redirect(url_for("contracting.backups_page", round_id=round_id, **back), 303)
    summary = backups.promotion(round_id, backup_id, current_user)
    status = 422 if request.method == "POST" else 200
    page = render_template("contracting/promote.html", rnd=summary.round, summary=summary, form=form, back=back)
    return page, status


@bp.get("/oem/backups/<backup:backup_id>")
@oem_required
def backup_offer(backup_id: int):
    offer = backups.offer_for(backup_id, current_user)
    return render_template("contracting/backup_offer.html", rnd=offer.round, offer=offer, form=AnswerForm())


@bp.post("/oem/backups/<backup:backup_id>/<any(accept, refuse):answer>")
@oem_required
def answer_backup(backup_id: int, answer: str):
    offer = backups.answer(backup_id, answer == "accept", current_user)
    flash(
        f"You {'accepted' if answer == 'accept' else 'refused'} to supply {count_of(offer.vehicles, 'vehicle')} "
        f"on {offer.backup.lot.code}.",
        "success" if answer == "accept" else "info",
    )
    return redirect(url_for("contracting.backup_offer", backup_id=offer.backup.public_id), 303)
