"""The coordinator's market view: counts while bids are sealed, the bid matrix and its download after."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from marketplace.extensions import db
from marketplace.services import bidding
from tests.factories import make_bid, make_model
from tests.report_helpers import report_round


def test_during_tendering_the_coordinator_sees_counts_only(world, login):
    made = report_round(world, "tendering")
    make_bid(world.oem, made.lots["lot-1"], make_model(made.oem_a, name="eBox 26"), tiers=((10, "231500"),))
    bidding.set_capacity(made.round.id, 30, world.other_oem)  # a capacity, no bid yet
    client = login(world.coordinator)
    page = client.get(f"/coordinator/rounds/{made.round.id}/market")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="oems-with-capacity">2<' in html
    assert 'data-testid="lots-with-bids">1 <' in html and "of 2 lots" in html
    # Sealed: no price, no model, no OEM name, no matrix.
    for secret in ("231,500", "eBox 26", made.oem_a.name, made.oem_b.name, "bid-matrix"):
        assert secret not in html
    assert client.get(f"/coordinator/rounds/{made.round.id}/bids.xlsx").status_code == 409
    # A withdrawn bid is not a live bid.
    bidding.withdraw_bid(next(iter(bidding.bids_of(made.round, world.oem).values())).id, world.oem)
    html = client.get(f"/coordinator/rounds/{made.round.id}/market").get_data(as_text=True)
    assert 'data-testid="lots-with-bids">0 <' in html
    # OEMs never see the tracker.
    assert login(world.oem).get(f"/coordinator/rounds/{made.round.id}/market").status_code == 403


def test_after_bids_close_the_matrix_names_lots_and_oems_as_the_screens_do(world, login):
    made = report_round(world, "bids_closed")
    client = login(world.coordinator)
    html = client.get(f"/coordinator/rounds/{made.round.id}/market").get_data(as_text=True)
    assert 'data-testid="bid-matrix"' in html
    for shown in ("lot-1", "lot-2", made.oem_a.name, made.oem_b.name, made.oem_c.name, "230,000", "850,000.50",
                  "245,000"):  # fmt: skip
        assert shown in html
    # lot-1's reserve is the lowest of its lines' maximum prices (240,000 and 250,000): 245,000 is 102 %.
    assert "240,000–250,000" in html and "245,000 (102 %)" in html and "230,000 (96 %)" in html
    internal = [f"lot-{lot.id}" for lot in made.lots.values() if f"lot-{lot.id}" not in made.lots]
    assert all(f">{name}<" not in html for name in internal)
    assert "org-" not in html


def test_the_bid_matrix_downloads_as_xlsx_and_csv_without_formulas(world, login):
    made = report_round(world, "bids_closed")
    made.oem_c.name = '=HYPERLINK("http://evil.example")'
    db.session.commit()
    client = login(world.coordinator)
    response = client.get(f"/coordinator/rounds/{made.round.id}/bids.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    matrix = book["Matrix"]
    header = [c.value for c in matrix[1]]
    assert header[:5] == ["Lot", "Segment", "Region", "Lot vehicles", "Reserve (lowest)"]
    assert set(header[5:]) == {made.oem_a.name, made.oem_b.name, made.oem_c.name}
    evil = matrix.cell(row=1, column=header.index(made.oem_c.name) + 1)
    assert evil.data_type == "s"  # text, not a formula
    rows = {r[0]: r for r in matrix.iter_rows(min_row=2, values_only=True) if r[0] and r[0].startswith("lot-")}
    assert rows["lot-1"][header.index(made.oem_a.name)] == 230000
    assert rows["lot-1"][header.index(made.oem_b.name)] is None
    coverage = {r[0]: r for r in book["Coverage"].iter_rows(min_row=2, values_only=True)}
    assert coverage["lot-1"][4:7] == (2, 80, 100)  # two OEMs, 40 + 40 vehicles offered on a 40-vehicle lot
    text = client.get(f"/coordinator/rounds/{made.round.id}/bids.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Lot" and len(rows) == 4  # three bids of one tier each
    assert any(r[7] == "'" + made.oem_c.name for r in rows[1:])
