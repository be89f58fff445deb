"""After the award: fleets' allocations and their confirmations, OEMs' results, the coordinator's view."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from marketplace.access import coordinator_required, fleet_required, oem_required
from marketplace.coordinator.forms import TransitionForm
from marketplace.filters import count_of
from marketplace.models import UnservedLine
from marketplace.pagination import paginate, paginate_rows
from marketplace.services import contracting, feedback

bp = Blueprint("contracting", __name__)


@bp.get("/fleet/rounds/<int:round_id>/allocations")
@fleet_required
def fleet_allocations(round_id: int):
    q = contracting.fleet_result_queries(round_id, current_user)
    allocations = paginate(
        q.allocations, sorts=contracting.ALLOCATION_SORTS, default="line",
        filters={k: contracting.ALLOCATION_FILTERS[k] for k in ("supplier", "status")},
    )  # fmt: skip
    unserved = paginate(
        q.unserved, prefix="out_", sorts={"line": [UnservedLine.demand_line_id, UnservedLine.id]}, default="line"
    )
    return render_template(
        "contracting/fleet.html", rnd=q.rnd, allocations=allocations, unserved=unserved, form=TransitionForm()
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
    return redirect(url_for("contracting.fleet_allocations", round_id=allocation.demand_line.round_id))


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
        feedback=found,
        lots=paginate_rows(found.rows, prefix="fb_"),
    )


@bp.get("/coordinator/rounds/<int:round_id>/contracting")
@coordinator_required
def coordinator_allocations(round_id: int):
    q, counts = contracting.all_allocation_query(round_id, current_user)
    allocations = paginate(
        q.allocations, sorts=contracting.ALLOCATION_SORTS, default="id", filters=contracting.ALLOCATION_FILTERS
    )
    return render_template("contracting/coordinator.html", rnd=q.rnd, allocations=allocations, counts=counts)
