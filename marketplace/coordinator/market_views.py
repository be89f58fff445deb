"""The coordinator's market pages: the participation tracker and bid matrix, exports, the audit log."""

from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user

from marketplace.access import coordinator_required
from marketplace.coordinator.market_forms import AuditFilterForm
from marketplace.coordinator.views import bp
from marketplace.filters import reader_zone
from marketplace.models import AuditEntry, Lot
from marketplace.pagination import contains, paginate
from marketplace.services import audit, exports, market, rounds
from marketplace.services.errors import ValidationFailed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(body: bytes | str, fmt: str, filename: str) -> Response:
    mimetype = XLSX if fmt == "xlsx" else "text/csv"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/rounds/<int:round_id>/market")
@coordinator_required
def market_view(round_id: int):
    rnd = market.market_round(round_id, current_user)
    lots = rows = bidders = None
    if market.bids_open(rnd):
        lots = paginate(
            market.lots_query(rnd), sorts=market.LOT_SORTS, default="lot", per_page=25,
            filters={"lot": lambda v: Lot.code.ilike(contains(v))},
        )  # fmt: skip
        rows = market.lot_markets(rnd, lots.items)
        bidders = market.bidders_of(rnd)
    return render_template(
        "coordinator/market.html", rnd=rnd, tracker=market.participation(rnd), lots=lots, rows=rows, bidders=bidders
    )


@bp.get("/rounds/<int:round_id>/bids.<any(xlsx, csv):fmt>")
@coordinator_required
def bids_download(round_id: int, fmt: str):
    rnd = market.market_round(round_id, current_user)
    market.require_unsealed(rnd)
    body = market.bids_xlsx(rnd) if fmt == "xlsx" else market.bids_csv(rnd)
    return download(body, fmt, f"round-{round_id}-bids.{fmt}")


# ---------------------------------------------------------------- scenario exports


@bp.get("/scenarios/<int:scenario_id>/<any(allocations, summary):what>.<any(xlsx, csv):fmt>")
@coordinator_required
def scenario_export(scenario_id: int, what: str, fmt: str):
    rnd, scenario = exports.scenario_for_export(scenario_id, current_user)
    filename = f"round-{rnd.id}-scenario-{scenario.id}-{what}.{fmt}"
    if fmt == "csv" and what == "allocations":
        rows = stream_with_context(exports.allocations_csv(rnd, scenario))
        return download(rows, fmt, filename)  # type: ignore[arg-type]
    if what == "allocations":
        return download(exports.allocations_xlsx(rnd, scenario), fmt, filename)
    body = exports.summary_xlsx(rnd, scenario) if fmt == "xlsx" else exports.summary_csv(rnd, scenario)
    return download(body, fmt, filename)


# ---------------------------------------------------------------- the audit log


def _audit_filters() -> tuple[AuditFilterForm, audit.AuditFilters | None]:
    form = AuditFilterForm(formdata=request.args)
    form.round_id.choices = [("", "All rounds")] + [(str(r.id), r.name) for r in rounds.visible_rounds(current_user)]
    if request.args and not form.check():
        return form, None
    zone = reader_zone()
    return form, audit.AuditFilters(
        who=form.who.data or "",
        what=form.what.data or "",
        object=form.object.data or "",
        round_id=int(form.round_id.data) if form.round_id.data else None,
        since=audit.day_start(form.since.data, zone),
        until=audit.day_start(form.until.data, zone, next_day=True),
    )


@bp.get("/audit")
@coordinator_required
def audit_log():
    form, filters = _audit_filters()
    query = audit.entries(current_user, filters or audit.AuditFilters(), refused=filters is None)
    entries = paginate(query, prefix="log_", sorts={"when": [AuditEntry.id]}, default="when", descending=True)
    return render_template("coordinator/audit.html", form=form, entries=entries), (400 if filters is None else 200)


@bp.get("/audit.csv")
@coordinator_required
def audit_csv():
    form, filters = _audit_filters()
    if filters is None:
        messages = "; ".join(e for f in form for e in f.errors)
        raise ValidationFailed(f"The audit log was not exported: {messages}.")
    rows = stream_with_context(audit.entries_csv(audit.entries(current_user, filters)))
    return download(rows, "csv", "audit-log.csv")  # type: ignore[arg-type]
