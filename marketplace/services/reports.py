"""The round report: the demand funnel and where the vehicles go, by segment and by country.

The funnel follows a round's demand from what fleets posted to what they confirmed:

    posted -> committed -> pooled -> awarded -> confirmed

Posted, committed and pooled demand is valued at the lines' maximum unit prices (what the
fleets said they would pay at most); awarded and confirmed vehicles at the awarded unit
prices. Pooled means in a lot of the round's *published* pooling run, awarded means in the
*published* award scenario; a stage the round has not reached yet counts zero, with a note.
Awarded totals come from `award.figures`, the same figures the scenario comparison shows.
Money is exact (Decimal) all the way to the downloads.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    AwardScenario,
    ConfirmationStatus,
    DemandLine,
    DemandStatus,
    Lot,
    LotMember,
    Region,
    Round,
    Segment,
)
from marketplace.services import award, clock, deliveries, read_models, spreadsheet
from marketplace.services.deliveries import QuarterRow

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass
class FunnelStage:
    key: str  # posted, committed, pooled, awarded, confirmed
    label: str
    vehicles: int
    value: Decimal
    priced_at: str  # "maximum unit prices" or "awarded unit prices"
    note: str = ""
    reached: bool = True  # False: the round has not got this far (the stage counts zero)


@dataclass
class BreakdownRow:
    """One segment or one country: how much of its committed demand was pooled, awarded, confirmed."""

    key: str
    label: str
    committed: int = 0
    pooled: int = 0
    awarded: int = 0
    confirmed: int = 0
    awarded_value: Decimal = ZERO


@dataclass
class RoundReport:
    round: Round
    currency: str
    generated_at: datetime
    funnel: list[FunnelStage]
    by_segment: list[BreakdownRow]
    by_region: list[BreakdownRow]
    savings_vs_max: Decimal | None = None  # against the fleets' maximum prices, once an award is published
    pooling_run_id: int | None = None
    scenario_name: str | None = None
    declined: int = 0
    pending: int = 0
    by_quarter: list[QuarterRow] = field(default_factory=list)  # empty: the award set no delivery quarters

    def stage(self, key: str) -> FunnelStage:
        return next(s for s in self.funnel if s.key == key)


def _country_of(regions: dict[str, Region]):
    """region id -> (country id, country name): walk up the tree; above country level, keep the node itself."""
    cache: dict[str, tuple[str, str]] = {}

    def country(region_id: str) -> tuple[str, str]:
        if region_id not in cache:
            node = regions.get(region_id)
            while node is not None and node.level not in ("country", "world_region") and node.parent_id:
                node = regions.get(node.parent_id)
            cache[region_id] = (node.id, node.name) if node is not None else (region_id, region_id)
        return cache[region_id]

    return country


def _row(rows: dict[str, BreakdownRow], key: str, label: str) -> BreakdownRow:
    if key not in rows:
        rows[key] = BreakdownRow(key=key, label=label)
    return rows[key]


def _sorted(rows: dict[str, BreakdownRow]) -> list[BreakdownRow]:
    return sorted(rows.values(), key=lambda r: (-r.committed, -r.awarded, r.label))


def round_report(rnd: Round) -> RoundReport:
    """The funnel and the breakdowns of one round: stored once computed, recomputed when its data changes."""
    return read_models.cached(rnd, "report", lambda: compute_report(rnd), _dump, lambda text: _load(rnd, text))


def _dump(report: RoundReport) -> str:
    data = {f.name: getattr(report, f.name) for f in fields(report) if f.name != "round"}
    data["funnel"] = [asdict(s) for s in report.funnel]
    data["by_segment"] = [asdict(r) for r in report.by_segment]
    data["by_region"] = [asdict(r) for r in report.by_region]
    data["by_quarter"] = [asdict(r) for r in report.by_quarter]
    return json.dumps(data, default=lambda v: str(v) if isinstance(v, Decimal) else v.isoformat())


def _load(rnd: Round, text: str) -> RoundReport:
    data = json.loads(text)

    def row(d: dict) -> BreakdownRow:
        return BreakdownRow(**{**d, "awarded_value": Decimal(d["awarded_value"])})

    return RoundReport(
        **{
            **data,
            "round": rnd,
            "generated_at": clock.parse(data["generated_at"]),
            "funnel": [FunnelStage(**{**s, "value": Decimal(s["value"])}) for s in data["funnel"]],
            "by_segment": [row(r) for r in data["by_segment"]],
            "by_region": [row(r) for r in data["by_region"]],
            "by_quarter": [QuarterRow(**r) for r in data.get("by_quarter", [])],
            "savings_vs_max": None if data["savings_vs_max"] is None else Decimal(data["savings_vs_max"]),
        }
    )


def _money(value: object) -> Decimal:
    """A sum of money from SQL (Decimal on PostgreSQL, a float on SQLite) to the cent."""
    return Decimal(str(value or 0)).quantize(CENT)


def compute_report(rnd: Round) -> RoundReport:
    """The funnel and the breakdowns of one round, from its lines, published lots and published award.

    Summed in SQL per (segment, region, status): a few hundred groups whatever the number of lines;
    the regions are then folded into their countries here."""
    regions = {r.id: r for r in db.session.execute(sa.select(Region)).scalars()}
    segments = {s.id: s for s in db.session.execute(sa.select(Segment)).scalars()}
    country = _country_of(regions)
    by_segment: dict[str, BreakdownRow] = {}
    by_region: dict[str, BreakdownRow] = {}

    def rows_of(segment_id: str, region_id: str) -> tuple[BreakdownRow, BreakdownRow]:
        segment = segments.get(segment_id)
        country_id, country_name = country(region_id)
        return (
            _row(by_segment, segment_id, segment.short_name if segment else segment_id),
            _row(by_region, country_id, country_name),
        )

    line_value = DemandLine.quantity * DemandLine.max_unit_price
    lines = db.session.execute(
        sa.select(DemandLine.segment_id, DemandLine.region_id, DemandLine.status, sa.func.count(DemandLine.id),
                  sa.func.sum(DemandLine.quantity), sa.func.sum(line_value))
        .where(DemandLine.round_id == rnd.id)
        .group_by(DemandLine.segment_id, DemandLine.region_id, DemandLine.status)
    ).all()  # fmt: skip
    posted_vehicles, posted_value, committed_vehicles, committed_value, withdrawn, line_count = 0, ZERO, 0, ZERO, 0, 0
    for segment_id, region_id, status, count, vehicles, value in lines:
        line_count += count
        posted_vehicles += int(vehicles)  # every line a fleet posted, including those later withdrawn
        posted_value += _money(value)
        if status is DemandStatus.WITHDRAWN:
            withdrawn += int(vehicles)
        if status is DemandStatus.COMMITTED:
            committed_vehicles += int(vehicles)
            committed_value += _money(value)
            for row in rows_of(segment_id, region_id):
                row.committed += int(vehicles)

    funnel = [
        FunnelStage(
            "posted",
            "Posted",
            posted_vehicles,
            posted_value,
            "maximum unit prices",
            f"includes {withdrawn:,} vehicles later withdrawn"
            if withdrawn
            else ("" if line_count else "no demand yet"),
        ),
        FunnelStage("committed", "Committed", committed_vehicles, committed_value, "maximum unit prices"),
    ]

    # Pooled: members of the published run's lots (a splittable line may sit in several lots, in part).
    pooled_vehicles, pooled_value = 0, ZERO
    if rnd.published_pooling_run_id is not None:
        members = db.session.execute(
            sa.select(DemandLine.segment_id, DemandLine.region_id, sa.func.sum(LotMember.quantity),
                      sa.func.sum(LotMember.quantity * DemandLine.max_unit_price))
            .join(DemandLine, DemandLine.id == LotMember.demand_line_id)
            .join(Lot, Lot.id == LotMember.lot_id)
            .where(Lot.pooling_run_id == rnd.published_pooling_run_id)
            .group_by(DemandLine.segment_id, DemandLine.region_id)
        ).all()  # fmt: skip
        for segment_id, region_id, vehicles, value in members:
            pooled_vehicles += int(vehicles)
            pooled_value += _money(value)
            for row in rows_of(segment_id, region_id):
                row.pooled += int(vehicles)
        pooled_note = ""
    else:
        pooled_note = "not pooled yet: lots are published when tendering opens"
    funnel.append(
        FunnelStage(
            "pooled", "Pooled", pooled_vehicles, pooled_value, "maximum unit prices", pooled_note, not pooled_note
        )
    )

    scenario = db.session.get(AwardScenario, rnd.published_scenario_id) if rnd.published_scenario_id else None
    report = RoundReport(
        round=rnd,
        currency=rnd.currency,
        generated_at=clock.now(),
        funnel=funnel,
        by_segment=[],
        by_region=[],
        pooling_run_id=rnd.published_pooling_run_id,
    )
    if scenario is None:
        funnel.append(
            FunnelStage("awarded", "Awarded", 0, ZERO, "awarded unit prices", "no award published yet", False)
        )
        funnel.append(
            FunnelStage(
                "confirmed", "Confirmed", 0, ZERO, "awarded unit prices", "fleets confirm after the award", False
            )
        )
    else:
        figures = award.figures(rnd, scenario)
        report.scenario_name = scenario.name
        report.savings_vs_max = figures.savings_vs_max
        allocations = db.session.execute(
            sa.select(DemandLine.segment_id, DemandLine.region_id, Allocation.confirmation,
                      sa.func.sum(Allocation.quantity), sa.func.sum(Allocation.quantity * Allocation.unit_price))
            .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
            .where(Allocation.scenario_id == scenario.id)
            .group_by(DemandLine.segment_id, DemandLine.region_id, Allocation.confirmation)
        ).all()  # fmt: skip
        confirmed_vehicles, confirmed_value = 0, ZERO
        for segment_id, region_id, confirmation, vehicles, value in allocations:
            if not confirmation.live:
                continue  # taken back from a supplier that dropped out, or a backup's refused offer
            vehicles, amount = int(vehicles), _money(value)
            for row in rows_of(segment_id, region_id):
                row.awarded += vehicles
                row.awarded_value += amount
            if confirmation is ConfirmationStatus.CONFIRMED:
                confirmed_vehicles += vehicles
                confirmed_value += amount
                for row in rows_of(segment_id, region_id):
                    row.confirmed += vehicles
            elif confirmation is ConfirmationStatus.DECLINED:
                report.declined += vehicles
            else:
                report.pending += vehicles
        funnel.append(
            FunnelStage(
                "awarded",
                "Awarded",
                figures.awarded,
                figures.total_price,
                "awarded unit prices",
                f"scenario “{scenario.name}”",
            )
        )
        parts = []
        if report.declined:
            parts.append(f"{report.declined:,} declined")
        if report.pending:
            parts.append(f"{report.pending:,} not decided yet")
        funnel.append(
            FunnelStage(
                "confirmed", "Confirmed", confirmed_vehicles, confirmed_value, "awarded unit prices", ", ".join(parts)
            )
        )
        report.by_quarter = deliveries.report_rows(scenario.id)
    for stage in funnel:
        stage.value = stage.value.quantize(CENT)
    for row in [*by_segment.values(), *by_region.values()]:
        row.awarded_value = row.awarded_value.quantize(CENT)
    report.by_segment = _sorted(by_segment)
    report.by_region = _sorted(by_region)
    return report


# ---------------------------------------------------------------- downloads

FUNNEL_HEADER = ["Stage", "Vehicles", "Value", "Currency", "Valued at", "Note"]
BREAKDOWN_HEADER = ["Code", "Name", "Committed vehicles", "Pooled vehicles", "Awarded vehicles",
                    "Confirmed vehicles", "Awarded value", "Currency"]  # fmt: skip


def _funnel_rows(report: RoundReport) -> Iterable[list]:
    for s in report.funnel:
        yield [s.label, s.vehicles, s.value, report.currency, s.priced_at, s.note]


def _breakdown_rows(report: RoundReport, rows: list[BreakdownRow]) -> Iterable[list]:
    for r in rows:
        yield [r.key, r.label, r.committed, r.pooled, r.awarded, r.confirmed, r.awarded_value, report.currency]


QUARTER_HEADER = ["Delivery quarter", "Awarded vehicles", "Confirmed vehicles"]


def report_csv(report: RoundReport) -> str:
    """The funnel and both breakdowns in one CSV: the first column says which table a row belongs to."""
    out = io.StringIO()
    writer = spreadsheet.CsvWriter(out, lineterminator="\n")
    writer.writerow(["section", "key", "name", "vehicles", "value", "committed_vehicles", "pooled_vehicles",
                     "awarded_vehicles", "confirmed_vehicles", "awarded_value", "currency", "note"])  # fmt: skip
    for s in report.funnel:
        writer.writerow(["funnel", s.key, s.label, s.vehicles, f"{s.value:.2f}", "", "", "", "", "",
                         report.currency, s.note])  # fmt: skip
    for section, rows in (("segment", report.by_segment), ("country", report.by_region)):
        for r in rows:
            writer.writerow([section, r.key, r.label, "", "", r.committed, r.pooled, r.awarded, r.confirmed,
                             f"{r.awarded_value:.2f}", report.currency, ""])  # fmt: skip
    for q in report.by_quarter:
        writer.writerow(["delivery_quarter", q.quarter, q.quarter, "", "", "", "", q.awarded, q.confirmed, "",
                         "", ""])  # fmt: skip
    return out.getvalue()


def report_xlsx(report: RoundReport) -> bytes:
    """One sheet per table; header rows bold, numbers as numbers, money with two decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheets = [
        ("Funnel", FUNNEL_HEADER, list(_funnel_rows(report)), {3}),
        ("By segment", BREAKDOWN_HEADER, list(_breakdown_rows(report, report.by_segment)), {7}),
        ("By country", BREAKDOWN_HEADER, list(_breakdown_rows(report, report.by_region)), {7}),
    ]
    if report.by_quarter:
        rows = [[q.quarter, q.awarded, q.confirmed] for q in report.by_quarter]
        sheets.append(("By delivery quarter", QUARTER_HEADER, rows, set()))
    for n, (title, header, rows, money_columns) in enumerate(sheets):
        sheet = book.active if n == 0 else book.create_sheet()
        assert sheet is not None
        sheet.title = title
        spreadsheet.append_row(sheet, header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            spreadsheet.append_row(sheet, row)
        for column in money_columns:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = "#,##0.00"
        for i, name in enumerate(header, start=1):
            width = max([len(str(name))] + [len(str(r[i - 1])) for r in rows])
            sheet.column_dimensions[sheet.cell(row=1, column=i).column_letter].width = min(width + 2, 60)
        sheet.freeze_panes = "A2"
    book["Funnel"].append([])
    spreadsheet.append_row(
        book["Funnel"], [f"Round “{report.round.name}”, generated {report.generated_at:%Y-%m-%d %H:%M} UTC"]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(rnd: Round, fmt: str) -> bytes | str:
    """The report as XLSX (bytes) or CSV (text), stored like the report itself."""
    if fmt == "csv":
        return read_models.cached(rnd, "report.csv", lambda: report_csv(round_report(rnd)), str, str)
    return read_models.cached(
        rnd, "report.xlsx", lambda: report_xlsx(round_report(rnd)), lambda b: base64.b64encode(b).decode(),
        base64.b64decode,
    )  # fmt: skip


def report_json(report: RoundReport) -> str:
    """The report as JSON (the API): money as decimal strings, instants in ISO 8601 with their offset."""
    return _dump(report)
