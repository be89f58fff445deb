"""The OEM's capacity by quarter for a round (a production ramp, per segment where it matters), beside its total."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from marketplace.access import oem_required
from marketplace.extensions import db
from marketplace.filters import count_of
from marketplace.models import RoundPhase
from marketplace.oem.forms import quarter_capacity_form
from marketplace.oem.views import bp
from marketplace.services import bidding, quarter_capacity, reference_data
from marketplace.services.errors import Conflict, ValidationFailed
from marketplace.views_common import apply_field_errors


def _quarter_values(rows: list[Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for n, row in enumerate(rows, start=1):
        values[f"row{n}_quarter"] = row.quarter
        values[f"row{n}_segment"] = row.segment_id or ""
        values[f"row{n}_capacity"] = str(row.capacity)
    return values


@bp.route("/rounds/<int:round_id>/capacity/quarters", methods=["GET", "POST"])
@oem_required
def quarter_capacity_page(round_id: int):
    """The OEM's capacity by quarter (a ramp, per segment where it matters) beside its round total."""
    rnd = bidding.tender_round(round_id, current_user)
    status = 200
    if request.method == "POST":
        rows = min(max(quarter_capacity.row_count(request.form), 1), quarter_capacity.ROWS_MAX)
        form = quarter_capacity_form(rows)
        if form.validate_on_submit():
            try:
                saved = quarter_capacity.set_rows(round_id, form.values(), current_user)
            except (ValidationFailed, Conflict) as exc:
                db.session.rollback()
                form.rows_error = exc.field_errors.get("rows")  # about the rows together, shown above them
                apply_field_errors(form, exc, skip=("rows",))
                status = exc.status
            else:
                flash(
                    f"Your capacity by quarter is saved ({count_of(len(saved), 'row')})."
                    if saved
                    else "No capacity by quarter: you can deliver in any quarter, up to your total.",
                    "success",
                )
                return redirect(url_for("oem.quarter_capacity_page", round_id=round_id))
    else:
        existing = quarter_capacity.rows_of(rnd, current_user)
        spare = 4 if rnd.phase is RoundPhase.TENDERING else 0  # once bids close, only what was stated
        rows = min(len(existing) + spare, quarter_capacity.ROWS_MAX)
        form = quarter_capacity_form(rows, formdata=None, data=_quarter_values(existing))
    lots = bidding.lots_of(rnd)
    return render_template(
        "oem/quarter_capacity.html",
        rnd=rnd,
        qform=form,
        rows=rows,
        segments=reference_data.segments(),
        capacity=bidding.capacity_of(rnd, current_user),
        open=rnd.phase is RoundPhase.TENDERING,
        first_quarter=min((lot.earliest_quarter for lot in lots), default=None),
        last_quarter=max((lot.latest_quarter for lot in lots), default=None),
    ), status
