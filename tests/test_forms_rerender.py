"""A refused form comes back on its own page with the message next to the field and what was typed
(issue 14 item 3): no bare 400/409 page for the pooling and scenario forms or a bid before capacity;
and saved-but-odd values get a warning (rising tier prices, a capacity below a bid's minimum)."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import BidRevision, PoolingRun, RoundPhase
from tests.factories import make_bid, make_model, make_round, make_tender


def test_a_bad_pooling_form_keeps_the_page_and_what_was_typed(world, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_CLOSED)
    client = login(world.coordinator)
    response = client.post(
        f"/coordinator/rounds/{rnd.id}/pooling",
        data={"min_lot_quantity": "9" * 5000, "max_lot_quantity": "20,5", "max_levels_up": "7", "time_limit": "30"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The pooling run was not started: fix the fields marked below." in page
    assert "Is too long for a number" in page and "Must be between 0 and 3." in page
    assert "“20,5” is not written in your organization&#39;s number format" in page
    assert 'value="20,5"' in page and 'value="7"' in page  # what was typed is kept
    assert "Pooling" in page and "Error 400" not in page
    assert db.session.execute(sa.select(sa.func.count(PoolingRun.id))).scalar_one() == 0


def test_a_bad_scenario_form_keeps_the_page_and_what_was_typed(world, login):
    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    rnd.phase = RoundPhase.BIDS_CLOSED  # scenarios are computed once bids are closed
    db.session.commit()
    client = login(world.coordinator)
    response = client.post(
        f"/coordinator/rounds/{rnd.id}/scenarios",
        data={"name": "Cap", "max_winners_per_lot": "0", "max_share_percent": "1e400", "line_service": "whole"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The scenario was not started: fix the fields marked below." in page
    assert "Must be between 1 and 20." in page and 'value="1e400"' in page and 'value="Cap"' in page


def test_the_round_form_bounds_every_number(world, login):
    client = login(world.coordinator)
    response = client.post(
        "/coordinator/rounds/new",
        data={"name": "Bounds", "min_lot_quantity": "1" + "0" * 30, "deposit_per_vehicle": "NaN"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Must be between 1 and 100,000." in page and "“NaN” is not a number" in page


def test_bidding_before_stating_capacity_keeps_the_typed_bid(world, login):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    client = login(world.oem)
    data = {"model_code": model.code, "min_quantity": "10", "max_quantity": "40", "tier1_min": "10",
            "tier1_price": "231000.50"}  # fmt: skip
    response = client.post(f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "State your capacity for this round first" in page and "231000.50" in page
    assert db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one() == 0


def test_rising_tier_prices_and_a_capacity_below_a_bids_minimum_are_warned(world, login):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    make_bid(world.oem, lots[0], model, tiers=((20, "230000"),))
    client = login(world.oem)
    data = {"model_code": model.code, "min_quantity": "10", "max_quantity": "40", "tier1_min": "10",
            "tier1_price": "230000", "tier2_min": "20", "tier2_price": "240000"}  # fmt: skip
    page = client.post(f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid", data=data, follow_redirects=True)
    assert "Tier 2 (from 20 vehicles) costs more per vehicle than tier 1" in page.get_data(as_text=True)
    page = client.post(f"/oem/rounds/{rnd.id}/capacity", data={"capacity": "5"}, follow_redirects=True)
    assert "Your capacity of 5 vehicles is below the minimum quantity of your bids on lot-1 (at least 10)" in (
        page.get_data(as_text=True)
    )
