"""Sealed bids, tiers, packages, capacity, revisions, the bid deadline to the second, sealedness, bids_for_award."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import AuditEntry, Bid, BidRevision, PackageBid, RoundCapacity, RoundPhase
from marketplace.services import access, bidding, clock, rounds
from marketplace.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import make_bid, make_model, make_round, make_tender


@pytest.fixture
def tender(world):
    """A round in tendering with two lots (lot-1: 40 in US-CA; lot-2: 25 in US-TX needing 4,000 kg), a model each OEM."""
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    mine = make_model(world.oem.organization, name="eRoute 26")
    theirs = make_model(world.other_oem.organization, name="Other truck")
    return rnd, lots, mine, theirs


def values(model, min_q=10, max_q=40, tiers=((10, "230000"), (20, "221000.50"))):
    out = {"model_code": model.code, "min_quantity": min_q, "max_quantity": max_q}
    for n, (q, p) in enumerate(tiers, start=1):
        out[f"tier{n}_min"], out[f"tier{n}_price"] = q, p
    return out


def errors_of(call) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as exc:
        call()
    db.session.rollback()
    return exc.value.field_errors


# ---------------------------------------------------------------- a bid and its revisions


def test_a_tiered_bid_is_saved_as_revision_1_and_audited(world, tender):
    rnd, lots, mine, _ = tender
    bidding.set_capacity(rnd.id, "120", world.oem)
    revision = bidding.submit_bid(rnd.id, lots[0].id, values(mine), world.oem)
    assert revision.number == 1 and not revision.withdrawn
    assert (revision.min_quantity, revision.max_quantity) == (10, 40)
    assert [(t.min_quantity, t.unit_price) for t in revision.tiers] == [
        (10, Decimal("230000.00")),
        (20, Decimal("221000.50")),
    ]
    actions = db.session.execute(sa.select(AuditEntry.action).order_by(AuditEntry.id)).scalars().all()
    assert actions[-2:] == ["bid.capacity", "bid.submit"]


def test_revisions_are_kept_and_the_last_counts(world, tender):
    rnd, lots, mine, _ = tender
    make_bid(world.oem, lots[0], mine)
    bidding.submit_bid(rnd.id, lots[0].id, values(mine, tiers=((10, "225000"),)), world.oem)
    third = bidding.submit_bid(
        rnd.id, lots[0].id, values(mine, min_q=5, tiers=((5, "229000"), (30, "210000"))), world.oem
    )
    bid = access.own_bid(world.oem, third.bid_id)
    assert [r.number for r in bid.revisions] == [1, 2, 3]
    assert bid.current.number == 3 and bid.current.min_quantity == 5
    assert [str(t.unit_price) for t in bid.revisions[1].tiers] == ["225000.00"]
    assert db.session.execute(sa.select(sa.func.count(Bid.id))).scalar_one() == 1


def test_withdrawal_is_a_revision_and_a_new_bid_may_follow(world, tender):
    rnd, lots, mine, _ = tender
    first = make_bid(world.oem, lots[0], mine)
    withdrawn = bidding.withdraw_bid(first.bid_id, world.oem)
    assert withdrawn.number == 2 and withdrawn.withdrawn
    with pytest.raises(Conflict, match="already withdrawn"):
        bidding.withdraw_bid(first.bid_id, world.oem)
    again = bidding.submit_bid(rnd.id, lots[0].id, values(mine), world.oem)
    assert again.number == 3 and not again.withdrawn


def test_capacity_is_required_before_the_first_bid(world, tender):
    rnd, lots, mine, _ = tender
    with pytest.raises(Conflict, match="State your capacity"):
        bidding.submit_bid(rnd.id, lots[0].id, values(mine), world.oem)
    assert db.session.execute(sa.select(sa.func.count(Bid.id))).scalar_one() == 0


def test_capacity_rules(world, tender):
    rnd, *_ = tender
    for bad in ("-1", "ten", "2.5", ""):
        assert errors_of(lambda bad=bad: bidding.set_capacity(rnd.id, bad, world.oem)) == {
            "capacity": "must be a whole number of vehicles, 0 or more"
        }
    bidding.set_capacity(rnd.id, "0", world.oem)
    bidding.set_capacity(rnd.id, 250, world.oem)
    rows = db.session.execute(sa.select(RoundCapacity)).scalars().all()
    assert [(r.organization_id, r.capacity) for r in rows] == [(world.oem.organization_id, 250)]


# ---------------------------------------------------------------- every rule of a bid, with its message

SHORT = "must be a whole number of vehicles, at least 1"


def test_quantity_range_messages(world, tender):
    rnd, lots, mine, _ = tender
    bidding.set_capacity(rnd.id, 100, world.oem)
    lot = lots[0]

    def submit(**kw):
        return lambda: bidding.submit_bid(rnd.id, lot.id, {**values(mine), **kw}, world.oem)

    assert errors_of(submit(min_quantity="0", tier1_min="0"))["min_quantity"] == SHORT
    assert errors_of(submit(min_quantity="ten"))["min_quantity"] == SHORT
    assert errors_of(submit(min_quantity="41"))["min_quantity"] == "must be at most the lot's 40 vehicles"
    assert errors_of(submit(max_quantity=""))["max_quantity"] == SHORT
    assert errors_of(submit(max_quantity="41"))["max_quantity"] == "must be at most the lot's 40 vehicles"
    assert errors_of(submit(max_quantity="8", tier2_min="", tier2_price=""))["max_quantity"] == (
        "must be at least the minimum quantity (10)"
    )


def test_tier_messages(world, tender):
    rnd, lots, mine, _ = tender
    bidding.set_capacity(rnd.id, 100, world.oem)

    def submit(**kw):
        return lambda: bidding.submit_bid(rnd.id, lots[0].id, {**values(mine), **kw}, world.oem)

    assert errors_of(submit(tier1_min="12")) == {
        "tier1_min": "the first tier must start at the bid's minimum quantity (10)"
    }
    assert errors_of(submit(tier2_min="10")) == {
        "tier2_min": "must be above tier 1's 10: tier minimums strictly increase"
    }
    assert errors_of(submit(tier2_min="9")) == {
        "tier2_min": "must be above tier 1's 10: tier minimums strictly increase"
    }
    assert errors_of(submit(max_quantity="15")) == {"tier2_min": "must be at most the bid's maximum quantity (15)"}
    assert errors_of(submit(tier2_price="221000.505")) == {
        "tier2_price": "more than 2 decimals: prices are exact to the cent"
    }
    assert errors_of(submit(tier2_price="0")) == {"tier2_price": "must be above 0 USD"}
    assert errors_of(submit(tier2_price="-5")) == {"tier2_price": "must be above 0 USD"}
    assert errors_of(submit(tier2_price="cheap")) == {
        "tier2_price": "must be an amount in USD above 0, such as 185000 or 185000.50"
    }
    assert errors_of(submit(tier2_price="")) == {
        "tier2_price": "must be an amount in USD above 0, such as 185000 or 185000.50"
    }
    assert errors_of(submit(tier2_min="")) == {
        "tier2_min": "must be the whole number of vehicles from which this tier's price applies"
    }
    assert errors_of(submit(tier1_min="", tier1_price="", tier2_min="", tier2_price="")) == {
        "tier1_min": "give at least one tier: the unit price from the minimum quantity"
    }
    assert errors_of(submit(tier1_min="", tier1_price="", tier2_min="10", tier2_price="1")) == {
        "tier2_min": "tier 2 follows an empty tier: fill the tiers in order, without gaps"
    }
    # Blank trailing rows of the form are no tiers.
    revision = bidding.submit_bid(rnd.id, lots[0].id, {**values(mine), "tier3_min": "", "tier3_price": ""}, world.oem)
    assert len(revision.tiers) == 2
    assert db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one() == 1


def test_the_model_must_be_ones_own_live_and_meet_the_lot(world, tender):
    rnd, lots, mine, theirs = tender
    bidding.set_capacity(rnd.id, 100, world.oem)

    def model_error(model_code, lot=lots[0]):
        data = {**values(mine, max_q=25), "model_code": model_code}
        return errors_of(lambda: bidding.submit_bid(rnd.id, lot.id, data, world.oem))["model_code"]

    assert model_error("") == "choose a model from your catalog"
    assert (
        model_error(theirs.code)
        == f"“{theirs.code}” is not a model of your catalog that can be offered (unknown or retired)"
    )
    retired = make_model(world.oem.organization, retired=True)
    assert "unknown or retired" in model_error(retired.code)
    bus = make_model(world.oem.organization, name="City bus", segment_id="transit_bus")
    assert (
        model_error(bus.code)
        == "City bus does not meet lot lot-1: it is a transit bus, the lot is for medium-duty box truck"
    )
    short = make_model(world.oem.organization, name="Shorty", range_km=250)
    assert (
        model_error(short.code)
        == "Shorty does not meet lot lot-1: its range of 250 km is below the lot's minimum of 300 km"
    )
    unstated = make_model(world.oem.organization, name="Mystery", range_km=None)
    assert (
        model_error(unstated.code)
        == "Mystery does not meet lot lot-1: its range is not stated, the lot needs at least 300 km"
    )
    light = make_model(world.oem.organization, name="Light", payload_kg=3000, charging=["CCS2"])
    assert model_error(light.code, lots[1]) == (
        "Light does not meet lot lot-2: its payload of 3,000 kg is below the lot's minimum of 4,000 kg; "
        "it charges with CCS2, the lot needs CCS1"
    )
    # lot-1 sets no payload: a model without a stated payload may bid on it.
    no_payload = make_model(world.oem.organization, name="NoPayload", payload_kg=None)
    assert bidding.submit_bid(rnd.id, lots[0].id, values(no_payload), world.oem).number == 1


# ---------------------------------------------------------------- the bid deadline to the second


def test_a_bid_at_the_last_second_counts_and_one_at_the_deadline_is_refused(world, frozen_clock):
    start = clock.now()
    frozen_clock.freeze(start)
    deadline = start + timedelta(days=20, hours=1)
    rnd, lots = make_tender(world.coordinator, world.fleet.organization, bid_deadline=deadline)
    mine = make_model(world.oem.organization)
    bidding.set_capacity(rnd.id, 100, world.oem)

    frozen_clock.freeze(deadline - timedelta(seconds=1))
    assert bidding.submit_bid(rnd.id, lots[0].id, values(mine), world.oem).number == 1

    frozen_clock.freeze(deadline)
    with pytest.raises(Conflict) as exc:
        bidding.submit_bid(rnd.id, lots[0].id, values(mine), world.oem)
    assert exc.value.message == (
        f"Bids closed at {deadline:%Y-%m-%d %H:%M:%S} UTC (the bid deadline): you cannot bid any more. Nothing was saved."
    )
    db.session.rollback()
    for late in (
        lambda: bidding.withdraw_bid(db.session.execute(sa.select(Bid.id)).scalar_one(), world.oem),
        lambda: bidding.set_capacity(rnd.id, 5, world.oem),
    ):
        with pytest.raises(Conflict, match="Bids closed at"):
            late()
        db.session.rollback()
    assert db.session.execute(sa.select(sa.func.count(BidRevision.id))).scalar_one() == 1
    assert rounds.load_round(rnd.id).phase is RoundPhase.BIDS_CLOSED


def test_bids_closed_by_hand_refuse_bids_too(world, tender):
    rnd, lots, mine, _ = tender
    bidding.set_capacity(rnd.id, 100, world.oem)
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    with pytest.raises(Conflict, match="not “Tendering”"):
        bidding.submit_bid(rnd.id, lots[0].id, values(mine), world.oem)


def test_no_bid_before_the_lots_are_published(world):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)
    with pytest.raises(Conflict, match="not published yet"):
        bidding.tender_round(rnd.id, world.oem)
    with pytest.raises(Conflict):
        bidding.set_capacity(rnd.id, 5, world.oem)
    draft = make_round(world.coordinator, RoundPhase.DRAFT)
    with pytest.raises(NotFound):
        bidding.tender_round(draft.id, world.oem)


# ---------------------------------------------------------------- packages


def package_values(lots, model, items=((10, "228000"), (25, "219999.99")), name="West + Texas"):
    out = {"name": name}
    for lot, (q, p) in zip(lots, items, strict=False):
        out |= {f"lot{lot.id}_model_code": model.code, f"lot{lot.id}_quantity": q, f"lot{lot.id}_unit_price": p}
    return out


def test_a_package_over_two_lots_is_revised_and_withdrawn(world, tender):
    rnd, lots, mine, _ = tender
    bidding.set_capacity(rnd.id, 100, world.oem)
    first = bidding.submit_package(rnd.id, package_values(lots, mine), world.oem)
    assert first.number == 1 and [(i.lot_id, i.quantity) for i in first.items] == [(lots[0].id, 10), (lots[1].id, 25)]
    second = bidding.submit_package(
        rnd.id,
        package_values(lots, mine, items=((12, "227000"), (20, "219000"))),
        world.oem,
        package_id=first.package_id,
    )
    assert second.number == 2 and second.package_id == first.package_id
    gone = bidding.withdraw_package(first.package_id, world.oem)
    assert gone.number == 3 and gone.withdrawn and gone.items == []
    package = bidding.packages_of(rnd, world.oem)[0]
    assert package.name == "West + Texas" and [r.number for r in package.revisions] == [1, 2, 3]
    with pytest.raises(Conflict, match="already withdrawn"):
        bidding.withdraw_package(first.package_id, world.oem)


def test_package_rules(world, tender):
    rnd, lots, mine, _ = tender
    bidding.set_capacity(rnd.id, 100, world.oem)
    k0, k1 = f"lot{lots[0].id}", f"lot{lots[1].id}"

    def submit(data):
        return lambda: bidding.submit_package(rnd.id, data, world.oem)

    one = package_values(lots[:1], mine)
    assert errors_of(submit(one)) == {
        "items": "a package covers at least 2 lots: fill model, quantity and unit price for each of them"
    }
    good = package_values(lots, mine)
    assert errors_of(submit({**good, f"{k0}_quantity": "41"})) == {
        f"{k0}_quantity": "must be at most the lot's 40 vehicles"
    }
    assert errors_of(submit({**good, f"{k0}_quantity": "0"})) == {f"{k0}_quantity": SHORT}
    assert errors_of(submit({**good, f"{k1}_unit_price": "1.001"})) == {
        f"{k1}_unit_price": "more than 2 decimals: prices are exact to the cent"
    }
    assert errors_of(submit({**good, f"{k1}_model_code": ""})) == {
        f"{k1}_model_code": "choose a model from your catalog"
    }
    light = make_model(world.oem.organization, name="Light", payload_kg=3000)
    assert errors_of(submit({**good, f"{k1}_model_code": light.code})) == {
        f"{k1}_model_code": "Light does not meet lot lot-2: its payload of 3,000 kg is below the lot's minimum of 4,000 kg"
    }
    assert errors_of(submit({**good, "name": "x" * 201})) == {"name": "must be at most 200 characters (it has 201)"}
    assert db.session.execute(sa.select(sa.func.count(PackageBid.id))).scalar_one() == 0


# ---------------------------------------------------------------- sealed


def test_an_oem_never_sees_another_oems_bids(world, tender):
    rnd, lots, mine, theirs = tender
    their_bid = make_bid(world.other_oem, lots[0], theirs)
    their_package = bidding.submit_package(rnd.id, package_values(lots, theirs), world.other_oem)
    assert bidding.bids_of(rnd, world.oem) == {}
    assert bidding.packages_of(rnd, world.oem) == []
    assert bidding.capacity_of(rnd, world.oem) is None
    for call in (
        lambda: access.own_bid(world.oem, their_bid.bid_id),
        lambda: bidding.withdraw_bid(their_bid.bid_id, world.oem),
        lambda: access.own_package(world.oem, their_package.package_id),
        lambda: bidding.withdraw_package(their_package.package_id, world.oem),
        lambda: bidding.submit_package(
            rnd.id, package_values(lots, mine), world.oem, package_id=their_package.package_id
        ),
    ):
        with pytest.raises(NotFound):
            call()
    # Bidding on the same lot makes a bid of its own, numbered from 1: nothing says another exists.
    assert make_bid(world.oem, lots[0], mine).number == 1


def test_fleets_and_coordinators_cannot_bid(world, tender):
    rnd, lots, mine, _ = tender
    for user in (world.fleet, world.coordinator):
        with pytest.raises(Forbidden):
            bidding.submit_bid(rnd.id, lots[0].id, values(mine), user)
        with pytest.raises(Forbidden):
            bidding.tender_round(rnd.id, user)


# ---------------------------------------------------------------- the award side


def test_bids_for_award_is_sealed_until_bids_close_then_gives_current_revisions(world, tender):
    rnd, lots, mine, theirs = tender
    make_bid(world.oem, lots[0], mine)
    latest = bidding.submit_bid(rnd.id, lots[0].id, values(mine, tiers=((10, "229000"), (30, "215000.10"))), world.oem)
    gone = make_bid(world.oem, lots[1], mine, max_quantity=25)
    bidding.withdraw_bid(gone.bid_id, world.oem)
    theirs_rev = make_bid(world.other_oem, lots[1], theirs, tiers=((5, "199000"),), max_quantity=20)
    package = bidding.submit_package(rnd.id, package_values(lots, theirs), world.other_oem)
    with pytest.raises(Conflict, match="sealed"):
        bidding.bids_for_award(rnd)
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)

    result = bidding.bids_for_award(rounds.load_round(rnd.id))
    assert [(b.bid_id, b.revision_number) for b in result.bids] == [(latest.bid_id, 2), (theirs_rev.bid_id, 1)]
    mine_bid = result.bids[0]
    assert (mine_bid.lot_code, mine_bid.min_quantity, mine_bid.max_quantity) == ("lot-1", 10, 40)
    assert [(t.min_quantity, t.unit_price) for t in mine_bid.tiers] == [
        (10, Decimal("229000.00")),
        (30, Decimal("215000.10")),
    ]
    assert mine_bid.tiers[0].min_quantity == mine_bid.min_quantity
    assert [p.package_id for p in result.packages] == [package.package_id]
    assert [(i.lot_code, i.quantity, i.unit_price) for i in result.packages[0].items] == [
        ("lot-1", 10, Decimal("228000.00")),
        ("lot-2", 25, Decimal("219999.99")),
    ]
    assert result.capacities == {world.oem.organization_id: 500, world.other_oem.organization_id: 500}
