"""The round report: funnel and breakdowns checked against hand-computed figures, and its downloads."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from marketplace.services import award, reports
from tests.report_helpers import report_round

pytestmark = pytest.mark.commits  # the read-model store writes on a connection of its own (tests/conftest.py)

D = Decimal
# The round of tests/report_helpers.py, by hand (values in USD):
FUNNEL = {
    # posted: all six lines, the draft and the withdrawn one too, at their maximum prices
    "posted": (65, D(30 * 250_000 + 10 * 240_000 + 12 * 900_000 + 4 * 260_000 + 6 * 255_000 + 3 * 880_000)),
    "committed": (56, D(30 * 250_000 + 10 * 240_000 + 12 * 900_000 + 4 * 260_000)),  # 21,740,000
    "pooled": (52, D(30 * 250_000 + 10 * 240_000 + 12 * 900_000)),  # L4 stayed out
    "awarded": (52, 40 * D("230000") + 12 * D("850000.50")),  # awarded prices: 19,400,006.00
    "confirmed": (30, 30 * D("230000")),  # L1 confirmed; L2 declined; L3 pending
}
# key: (committed, pooled, awarded, confirmed, awarded value)
BY_SEGMENT = {
    "md_box_truck": (44, 40, 40, 30, D("9200000.00")),
    "transit_bus": (12, 12, 12, 0, D("10200006.00")),
}
BY_COUNTRY = {  # Los Angeles and California are in the US; Toronto and Vancouver in Canada
    "US": (40, 40, 40, 30, D("9200000.00")),
    "CA": (16, 12, 12, 0, D("10200006.00")),
}


def figures_of(rows):
    return {r.key: (r.committed, r.pooled, r.awarded, r.confirmed, r.awarded_value) for r in rows}


def test_the_report_matches_the_figures_computed_by_hand(world):
    made = report_round(world, "contracting")
    report = reports.round_report(made.round)
    assert [s.key for s in report.funnel] == ["posted", "committed", "pooled", "awarded", "confirmed"]
    assert {s.key: (s.vehicles, s.value) for s in report.funnel} == FUNNEL
    assert report.stage("posted").note == "includes 3 vehicles later withdrawn"
    assert report.stage("confirmed").note == "10 declined, 12 not decided yet"
    assert (report.declined, report.pending) == (10, 12)
    assert report.savings_vs_max == FUNNEL["pooled"][1] - FUNNEL["awarded"][1] == D("1299994.00")
    assert figures_of(report.by_segment) == BY_SEGMENT
    assert figures_of(report.by_region) == BY_COUNTRY
    assert [r.label for r in report.by_region] == ["United States", "Canada"]  # largest committed first
    # The awarded stage is the scenario comparison's figure, not a second computation.
    figures = award.figures(made.round, award.get_scenario(made.round.published_scenario_id))
    assert (figures.awarded, figures.total_price) == FUNNEL["awarded"]
    # ... and both agree with the solver output stored with the published scenario.
    stored = json.loads(award.get_scenario(made.round.published_scenario_id).output_json)
    assert (report.stage("awarded").vehicles, report.stage("awarded").value) == (
        stored["awarded_quantity"],
        Decimal(str(stored["total_price"])),
    )
    assert all(isinstance(s.value, Decimal) for s in report.funnel)


def test_stages_not_reached_count_zero_with_a_note(world):
    made = report_round(world, "demand_open")
    report = reports.round_report(made.round)
    assert {s.key: (s.vehicles, s.value) for s in report.funnel} == {
        **{k: FUNNEL[k] for k in ("posted", "committed")},
        "pooled": (0, D("0.00")), "awarded": (0, D("0.00")), "confirmed": (0, D("0.00")),
    }  # fmt: skip
    assert "not pooled yet" in report.stage("pooled").note
    assert "no award published yet" in report.stage("awarded").note
    assert report.savings_vs_max is None
    assert figures_of(report.by_segment)["md_box_truck"] == (44, 0, 0, 0, D("0.00"))


def test_the_page_shows_the_funnel_charts_and_tables(world, login):
    made = report_round(world, "contracting")
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{made.round.id}/report").get_data(as_text=True)
    for text in ("Demand funnel", "19,400,006 USD", "1,299,994", "10,200,006.00", "Medium-duty box truck", "Canada", "10 declined",
                 "Vehicles awarded, of committed", "40 of 44", "Download XLSX", "Download CSV"):  # fmt: skip
        assert text in page, text
    assert f'href="/coordinator/rounds/{made.round.id}/report"' in client.get(
        f"/coordinator/rounds/{made.round.id}/pooling"
    ).get_data(as_text=True)  # the round's navigation has a Report pill
    # A round that has not pooled yet still renders, its charts on committed demand.
    early = report_round(world, "demand_open")
    page = client.get(f"/coordinator/rounds/{early.round.id}/report").get_data(as_text=True)
    assert "not pooled yet" in page and "Vehicles committed" in page


def test_the_downloads_parse_back_to_the_same_figures(world, login):
    made = report_round(world, "contracting")
    client = login(world.coordinator)

    response = client.get(f"/coordinator/rounds/{made.round.id}/report.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    funnel = {r["key"]: (int(r["vehicles"]), D(r["value"])) for r in rows if r["section"] == "funnel"}
    assert funnel == FUNNEL

    def parsed(section):
        return {
            r["key"]: (int(r["committed_vehicles"]), int(r["pooled_vehicles"]), int(r["awarded_vehicles"]),
                       int(r["confirmed_vehicles"]), D(r["awarded_value"]))
            for r in rows if r["section"] == section
        }  # fmt: skip

    assert parsed("segment") == BY_SEGMENT
    assert parsed("country") == BY_COUNTRY

    response = client.get(f"/coordinator/rounds/{made.round.id}/report.xlsx")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Funnel", "By segment", "By country"]
    sheet = book["Funnel"]
    assert [c.value for c in sheet[1]] == reports.FUNNEL_HEADER and sheet["A1"].font.bold
    values = {row[0]: (row[1], row[2]) for row in sheet.iter_rows(min_row=2, max_row=6, values_only=True)}
    assert {k.lower(): (v, D(str(m)).quantize(D("0.01"))) for k, (v, m) in values.items()} == FUNNEL
    assert sheet["C2"].number_format == "#,##0.00"
    assert isinstance(sheet["B2"].value, int)
    for name, expected in (("By segment", BY_SEGMENT), ("By country", BY_COUNTRY)):
        sheet = book[name]
        assert sheet["A1"].font.bold and sheet["G2"].number_format == "#,##0.00"
        got = {
            row[0]: (row[2], row[3], row[4], row[5], D(str(row[6])).quantize(D("0.01")))
            for row in sheet.iter_rows(min_row=2, values_only=True)
        }
        assert got == expected
