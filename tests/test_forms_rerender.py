"""A refused form comes back on its own page with the message next to the field and what was typed
(issue 14 item 3): no bare 400/409 page for the pooling and scenario forms or a bid before capacity;
and saved-but-odd values get a warning (rising tier prices, a capacity below a bid's minimum)."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import BidRevision, PackageRevision, PoolingRun, Round, RoundPhase
from marketplace.services import bidding
from tests.bidding_helpers import package_values
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
    assert 'value="231000.50"' in page and 'value="40"' in page and f'value="{model.code}" selected' in page
    # The message links to the capacity form, which is on the tender page.
    assert f'href="/oem/rounds/{rnd.id}#capacity"' in page and 'id="capacity"' in client.get(
        f"/oem/rounds/{rnd.id}"
    ).get_data(as_text=True)
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


def test_a_refused_bid_shows_each_message_next_to_its_field_and_keeps_the_bid(world, login):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    bidding.set_capacity(rnd.id, 500, world.oem)
    client = login(world.oem)
    data = {"model_code": model.code, "min_quantity": "10", "max_quantity": "9" * 5000, "tier1_min": "10",
            "tier1_price": "185000,50", "tier2_min": "20", "tier2_price": "1e5"}  # fmt: skip
    response = client.post(f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The bid has problems: fix the fields marked below. Nothing was saved." in page
    assert '<div class="invalid-feedback d-block" data-error="max_quantity">is too long for a number' in page
    assert 'data-error="tier1_price">“185000,50” is not written in your organization&#39;s number format' in page
    assert "write it as 185000.50" in page
    assert 'data-error="tier2_price">“1e5” is written with an exponent: write it in full: 100000' in page
    assert 'value="185000,50"' in page and 'value="1e5"' in page and 'value="20"' in page
    assert db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one() == 0


def test_a_refused_capacity_comes_back_on_the_tender_page_with_what_was_typed(world, login):
    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    client = login(world.oem)
    response = client.post(f"/oem/rounds/{rnd.id}/capacity", data={"capacity": "1.500"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Error 400" not in page
    assert 'data-error="capacity">“1.500” is 1.5 in your organization&#39;s number format (1,234.56' in page
    assert "if you meant 1,500, write 1500" in page
    assert "if you meant 1,500, write 1500" in page
    assert 'value="1.500"' in page and 'data-testid="capacity-form"' in page
    assert bidding.capacity_of(rnd, world.oem) is None
    ok = client.post(f"/oem/rounds/{rnd.id}/capacity", data={"capacity": "1,500"}, follow_redirects=True)
    assert "Your capacity for this round: 1,500 vehicles" in ok.get_data(as_text=True)


def test_a_refused_package_keeps_every_item_and_names_each_field(world, login):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    bidding.set_capacity(rnd.id, 500, world.oem)
    client = login(world.oem)
    data = package_values(lots, model, items=((10, "228000"), ("１０", "219999.999")), name="West\x00Texas")
    response = client.post(f"/oem/rounds/{rnd.id}/packages/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The package has problems: fix the fields marked below. Nothing was saved." in page
    assert 'data-error="name">holds an invisible control character (NUL)' in page
    assert f'data-error="lot{lots[1].id}_quantity">“１０” uses digits other than 0-9: type it as 10' in page
    assert f'data-error="lot{lots[1].id}_unit_price">more than 2 decimals' in page
    assert 'value="１０"' in page and 'value="219999.999"' in page and 'value="228000"' in page
    only_one = package_values(lots[:1], model)
    page = client.post(f"/oem/rounds/{rnd.id}/packages/new", data=only_one).get_data(as_text=True)
    assert 'data-error="items">a package covers at least 2 lots' in page
    assert db.session.execute(sa.select(sa.func.count(PackageRevision.id))).scalar_one() == 0


def test_a_deadline_in_year_1_or_9999_is_a_message_beside_the_field_in_any_time_zone(world, login):
    world.coordinator.time_zone = "Etc/GMT+12"  # UTC-12: year 1 or 9999 would overflow on the way to UTC
    db.session.commit()
    client = login(world.coordinator)
    data = {"name": "Far", "segment_ids": ["md_box_truck"], "region_ids": ["US-CA"], "line_service": "whole",
            "currency": "USD", "demand_deadline": "0001-01-01T00:00", "bid_deadline": "9999-12-31T23:59"}  # fmt: skip
    response = client.post("/coordinator/rounds/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert page.count("Give a date from 2000 to 2099.") == 2
    assert 'value="0001-01-01T00:00"' in page and 'value="9999-12-31T23:59"' in page
    assert db.session.execute(sa.select(sa.func.count(Round.id))).scalar_one() == 0


def test_a_nul_in_a_round_name_or_description_is_a_message_not_a_crash(world, login):
    # PostgreSQL cannot even compare a NUL (the name-clash check raised a 500 there); every text field refuses it.
    client = login(world.coordinator)
    data = {"name": "Bus\x00es", "description": "Two\x00lines", "segment_ids": ["md_box_truck"],
            "region_ids": ["US-CA"], "line_service": "whole", "currency": "USD", "confirmation_period_days": "14",
            "min_lot_quantity": "20", "max_lot_quantity": "400", "max_levels_up": "2", "max_winners_per_lot": "2",
            "max_share_percent": "100", "deposit_per_vehicle": "0", "decline_forfeit_percent": "100",
            "withdrawal_forfeit_percent": "0"}  # fmt: skip
    response = client.post("/coordinator/rounds/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert page.count("invisible control character (NUL)") == 2
    assert db.session.execute(sa.select(sa.func.count(Round.id))).scalar_one() == 0
