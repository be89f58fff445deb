"""Notices and mail: who is told what, once, in their time zone, with nothing sealed in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    AwardScenario,
    DemandStatus,
    MailState,
    Notice,
    NotifyMode,
    OutboxMail,
    Round,
    RoundPhase,
    RunStatus,
)
from marketplace.notifications import recipients as rules
from marketplace.notifications import service
from marketplace.services import rounds
from tests.factories import make_bid, make_line, make_model, make_org, make_round, make_tender, make_user

# ---------------------------------------------------------------- the pure rules

REGIONS = {
    "m49-021": rules.Region("m49-021", "world_region", None),
    "US": rules.Region("US", "country", "m49-021"),
    "CA": rules.Region("CA", "country", "m49-021"),
    "MX": rules.Region("MX", "country", None),
    "US-CA": rules.Region("US-CA", "subdivision", "US"),
    "us-ca-la": rules.Region("us-ca-la", "metro", "US-CA"),
}


def test_a_world_region_covers_its_countries_and_a_metro_its_country():
    assert rules.covered_countries(["m49-021"], REGIONS) == {"US", "CA"}
    assert rules.covered_countries(["us-ca-la"], REGIONS) == {"US"}
    assert rules.covered_countries(["MX"], REGIONS) == {"MX"}


def test_a_fleet_hears_of_rounds_at_home_in_its_segments():
    scope = rules.Scope(frozenset({"transit_bus"}), frozenset({"US"}))
    assert rules.fleet_interested(scope, rules.Fleet(1, "US"))  # new fleet: every round at home
    assert rules.fleet_interested(scope, rules.Fleet(1, "US", frozenset({"transit_bus", "school_bus"})))
    assert not rules.fleet_interested(scope, rules.Fleet(1, "US", frozenset({"md_box_truck"})))
    assert not rules.fleet_interested(scope, rules.Fleet(1, "MX"))


def test_an_oem_hears_when_a_model_still_sold_fits_segment_and_market():
    scope = rules.Scope(frozenset({"transit_bus"}), frozenset({"US"}))
    fits = rules.CatalogModel("transit_bus", frozenset({"US"}))
    assert rules.catalog_fits(scope, rules.Oem(1, (fits,)))
    assert not rules.catalog_fits(scope, rules.Oem(1, (rules.CatalogModel("transit_bus", frozenset({"US"}), True),)))
    assert not rules.catalog_fits(scope, rules.Oem(1, (rules.CatalogModel("md_box_truck", frozenset({"US"})),)))
    assert not rules.catalog_fits(scope, rules.Oem(1, (rules.CatalogModel("transit_bus", frozenset({"MX"})),)))


def test_deadline_and_tender_rules_pick_only_those_concerned():
    scope = rules.Scope(frozenset({"transit_bus"}), frozenset({"US"}))
    facts = rules.RoundFacts(
        scope,
        fleets=(rules.Fleet(1, "US", draft_lines=2), rules.Fleet(2, "US", lines=3, pending_allocations=1),
                rules.Fleet(3, "US")),
        oems=(rules.Oem(10, has_capacity=True), rules.Oem(11, live_bids=2), rules.Oem(12)),
    )  # fmt: skip
    assert rules.demand_deadline_near(facts) == {1}
    assert rules.demand_closed(facts) == {1, 2}
    assert rules.bid_deadline_near(facts) == {10, 11}
    assert rules.award_published_fleets(facts) == {2}
    assert rules.award_published_oems(facts) == {10, 11}
    assert rules.confirmations_due(facts) == {2}
    assert rules.participants(facts) == {1, 2, 10, 11}


def test_the_reminder_due_is_the_closest_step_not_yet_past():
    day = 86400
    assert rules.due_reminder(8 * day, rules.DEMAND_REMINDERS) is None
    assert rules.due_reminder(6.5 * day, rules.DEMAND_REMINDERS) == (7, "7 days")
    assert rules.due_reminder(0.5 * day, rules.DEMAND_REMINDERS) == (1, "1 day")
    assert rules.due_reminder(-1, rules.DEMAND_REMINDERS) is None


# ---------------------------------------------------------------- notices and mail, end to end in-process


def notices_of(user) -> list[Notice]:
    db.session.expire_all()
    return list(db.session.execute(sa.select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)).scalars())


def outbox_to(user) -> list[OutboxMail]:
    return list(db.session.execute(sa.select(OutboxMail).where(OutboxMail.recipients == user.email)).scalars())


def test_opening_a_round_tells_fleets_at_home_and_oems_whose_catalog_fits_once(world):
    make_model(world.oem.organization, segment_id="md_box_truck")
    make_model(world.other_oem.organization, segment_id="school_bus")  # not in the round's segments
    foreign = make_user(make_org("fleet", country="MX"))
    world.fleet.time_zone = "America/Los_Angeles"
    db.session.commit()
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN)

    assert [n.kind for n in notices_of(world.fleet)] == ["round_opened"]
    assert [n.kind for n in notices_of(world.oem)] == ["round_opened"]
    assert notices_of(world.other_oem) == [] and notices_of(foreign) == []
    notice = notices_of(world.fleet)[0]
    assert notice.link == f"/fleet/rounds/{rnd.id}"
    local = rnd.demand_deadline.astimezone(service.zone_of(world.fleet)).strftime("%Y-%m-%d %H:%M")
    assert local in notice.body and ("PST" in notice.body or "PDT" in notice.body)  # the reader's zone
    mails = outbox_to(world.fleet)
    assert len(mails) == 1 and notice.title in mails[0].subject and f"/fleet/rounds/{rnd.id}" in mails[0].body

    # The same event again (a job delivered twice, a retry) and the same mail job again: nothing more.
    event = service.Event("round_opened", notice.event_key, round_id=rnd.id)
    assert service.deliver(event) == []
    assert service.send_mail(notice.id).startswith("not mailed")
    assert len(outbox_to(world.fleet)) == 1 and len(notices_of(world.fleet)) == 1


def test_a_failed_send_is_retried_and_mails_once(world, app, monkeypatch):
    from marketplace.notifications import mail

    calls = []
    real_send = mail.send

    def flaky(**kwargs):
        calls.append(kwargs["to"])
        if len(calls) == 1:
            raise OSError("connection refused")
        return real_send(**kwargs)

    monkeypatch.setattr(mail, "send", flaky)
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, segment_ids=["md_box_truck"])
    notice = notices_of(world.fleet)[0]
    # The first attempt failed inside the job: the notice still waits, with the error kept.
    assert notice.mail_state is MailState.QUEUED and "connection refused" in notice.mail_error
    assert service.send_mail(notice.id) == "sent"  # Huey's retry
    assert service.send_mail(notice.id).startswith("not mailed")  # a late duplicate of the job
    assert len(outbox_to(world.fleet)) == 1
    assert rnd.id


def test_digest_and_off_keep_mail_back_except_for_own_money(world, frozen_clock):
    world.fleet.notify_mode = NotifyMode.DIGEST.value
    world.other_fleet.notify_mode = NotifyMode.OFF.value
    world.fleet.time_zone = "Europe/Amsterdam"
    db.session.commit()
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, segment_ids=["md_box_truck"])
    assert [n.mail_state for n in notices_of(world.fleet)] == [MailState.DIGEST]
    assert [n.mail_state for n in notices_of(world.other_fleet)] == [MailState.NONE]
    assert outbox_to(world.fleet) == [] and outbox_to(world.other_fleet) == []

    # 08:00 in Amsterdam is 07:00 UTC in winter: one digest, once.
    assert service.send_digests(datetime(2030, 1, 15, 6, 30, tzinfo=UTC)) == 0
    assert service.send_digests(datetime(2030, 1, 15, 7, 5, tzinfo=UTC)) == 1
    assert service.send_digests(datetime(2030, 1, 15, 7, 30, tzinfo=UTC)) == 0
    digest = outbox_to(world.fleet)
    assert len(digest) == 1 and "digest" in digest[0].subject and rnd.name in digest[0].body

    # Off still mails what concerns the fleet's own obligations (its allocations to confirm).
    line = make_line(rnd, world.other_fleet.organization, status=DemandStatus.COMMITTED)
    event = service.Event("confirmations_open", "test:confirm", round_id=rnd.id)
    _allocate(rnd, line, world.oem, Decimal("200000"))
    service.deliver(event)
    assert [m.subject for m in outbox_to(world.other_fleet)] == [f"Confirm your allocations of “{rnd.name}”"]


def _allocate(rnd: Round, line, oem, price: Decimal, scenario: AwardScenario | None = None) -> AwardScenario:
    model = make_model(oem.organization)
    if scenario is None:
        scenario = AwardScenario(round_id=rnd.id, name="Round rules", status=RunStatus.SUCCEEDED, max_winners_per_lot=2,
                                 max_share_per_supplier=Decimal("1"), line_service=rnd.line_service)  # fmt: skip
        db.session.add(scenario)
        db.session.flush()
    from marketplace.models import Lot, PoolingRun

    run = PoolingRun(
        round_id=rnd.id, min_lot_quantity=1, max_lot_quantity=400, max_levels_up=2, status=RunStatus.SUCCEEDED
    )
    db.session.add(run)
    db.session.flush()
    lot = Lot(round_id=rnd.id, pooling_run_id=run.id, code=f"lot-{line.id}", segment_id=line.segment_id, region_id="US",
              earliest_quarter="2027Q1", latest_quarter="2027Q4", charging="CCS1", min_range_km=0, min_payload_kg=0,
              quantity=line.quantity, fleet_count=1)  # fmt: skip
    db.session.add(lot)
    db.session.flush()
    db.session.add(Allocation(scenario_id=scenario.id, lot_id=lot.id, demand_line_id=line.id,
                              organization_id=oem.organization_id, vehicle_model_id=model.id,
                              quantity=line.quantity, unit_price=price))  # fmt: skip
    rnd = db.session.get(Round, rnd.id)
    rnd.published_scenario_id = scenario.id
    db.session.commit()
    return scenario


def test_the_award_tells_each_oem_its_own_result_only_and_each_fleet_its_allocation(world):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model_a = make_model(world.oem.organization)
    model_b = make_model(world.other_oem.organization)
    make_bid(world.oem, lots[0], model_a, tiers=((10, "231000"),))
    make_bid(world.other_oem, lots[0], model_b, tiers=((10, "229500"),))
    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    line = db.session.execute(sa.select(Round).where(Round.id == rnd.id)).scalar_one()
    from marketplace.models import DemandLine

    line = db.session.execute(sa.select(DemandLine).where(DemandLine.round_id == rnd.id)).scalars().first()
    _allocate(rnd, line, world.other_oem, Decimal("229500"))
    rounds.transition(rnd.id, RoundPhase.AWARDED, world.coordinator)

    winner = [n for n in notices_of(world.other_oem) if n.kind == "award_published"]
    loser = [n for n in notices_of(world.oem) if n.kind == "award_published"]
    fleet = [n for n in notices_of(world.fleet) if n.kind == "award_published"]
    assert len(winner) == len(loser) == len(fleet) == 1
    assert "You won 40 vehicles on 1 lot" in winner[0].body
    assert loser[0].body == "You won no vehicles in this round."
    assert "40 vehicles of the" in fleet[0].body and fleet[0].link.endswith("/allocations")
    # Sealed: no OEM notice or mail names a fleet or another OEM, or another OEM's price.
    for oem, other in ((world.oem, world.other_oem), (world.other_oem, world.oem)):
        texts = [n.title + n.body for n in notices_of(oem)] + [m.subject + m.body for m in outbox_to(oem)]
        for text in texts:
            assert world.fleet.organization.name not in text
            assert other.organization.name not in text
    assert not any("229,500" in n.body or "229500" in n.body for n in notices_of(world.oem))
    # The coordinator is told nothing of the award (its own moves).
    assert notices_of(world.coordinator) == []


def test_demand_reminders_go_to_fleets_with_lines_not_committed_once(world, frozen_clock):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, segment_ids=["md_box_truck"])
    make_line(rnd, world.fleet.organization, status=DemandStatus.DRAFT)
    make_line(rnd, world.other_fleet.organization, status=DemandStatus.COMMITTED)
    at = rnd.demand_deadline - timedelta(days=6)
    assert service.send_reminders(at) == 1
    assert service.send_reminders(at + timedelta(minutes=10)) == 0  # the next run of the periodic job
    reminders = [n for n in notices_of(world.fleet) if n.kind == "demand_deadline_near"]
    assert (
        len(reminders) == 1 and "closes in 7 days" in reminders[0].title and "1 line not committed" in reminders[0].body
    )
    assert not [n for n in notices_of(world.other_fleet) if n.kind == "demand_deadline_near"]
    assert service.send_reminders(rnd.demand_deadline - timedelta(hours=5)) == 1  # the 1-day reminder


def test_approving_an_organization_tells_its_users(world, client, login):
    from marketplace.models import Approval

    org = make_org("fleet")
    org.approval = Approval.PENDING
    user = make_user(org)
    db.session.commit()
    login(world.coordinator).post(f"/coordinator/organizations/{org.id}/approve")
    assert [n.kind for n in notices_of(user)] == ["organization_approved"]


# ---------------------------------------------------------------- pages


def test_the_navigation_shows_the_unread_count_and_opening_a_notice_reads_it(world, client, login):
    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, segment_ids=["md_box_truck"])
    c = login(world.fleet)
    page = c.get("/notices").get_data(as_text=True)
    assert 'data-testid="nav-unread">1<' in page and rnd.name in page
    notice = notices_of(world.fleet)[0]
    response = c.post(f"/notices/{notice.id}/open")
    assert response.status_code == 302 and response.location == f"/fleet/rounds/{rnd.id}"
    assert 'data-testid="nav-unread"' not in c.get("/notices").get_data(as_text=True)
    # Another user's notice is not found.
    other = login(world.other_fleet)
    assert other.post(f"/notices/{notice.id}/open").status_code == 404


def test_the_preference_form_saves_a_choice_and_refuses_an_unknown_one(world, client, login):
    c = login(world.fleet)
    response = c.post("/notices/preferences", data={"notify_mode": "hourly"})
    assert response.status_code == 400 and "Not a valid choice" in response.get_data(as_text=True)
    db.session.expire_all()
    assert world.fleet.notify_mode == "immediately"
    assert c.post("/notices/preferences", data={"notify_mode": "digest"}).status_code == 302
    db.session.expire_all()
    assert world.fleet.notify_mode == "digest"


def test_the_outbox_page_shows_kept_mails_and_is_gone_with_smtp(world, client, login, app):
    make_round(world.coordinator, RoundPhase.DEMAND_OPEN, segment_ids=["md_box_truck"])
    c = login(world.coordinator)
    page = c.get("/dev/outbox").get_data(as_text=True)
    assert world.fleet.email in page and "never sent" in page
    app.config["MAIL_SERVER"] = "127.0.0.1"
    try:
        assert c.get("/dev/outbox").status_code == 404
    finally:
        app.config["MAIL_SERVER"] = None


# ---------------------------------------------------------------- money, rollbacks, the other reminders


def test_deposit_changes_are_told_to_their_fleet_only_and_mailed_even_with_mail_off(world, app):
    from marketplace.gateways import use
    from tests.deposit_helpers import deposit_round, draft_line, held_deposit
    from tests.fake_gateway import DECLINED, FakeGateway

    use(FakeGateway())
    app.config["STRIPE_SECRET_KEY"] = "sk_test_fake"
    try:
        world.fleet.notify_mode = NotifyMode.OFF.value
        db.session.commit()
        rnd = deposit_round(world, segment_ids=["md_box_truck"])
        held_deposit(rnd, world, "pm_card_visa", quantity=2)
        from marketplace.services import deposits

        (failing,) = deposits.open_deposits([draft_line(rnd, world)], world.fleet)
        deposits.confirm_deposit(failing.id, DECLINED, world.fleet)
        rounds.transition(rnd.id, RoundPhase.CANCELLED, world.coordinator)  # releases both
    finally:
        use(None)
    kinds = sorted(n.kind for n in notices_of(world.fleet) if n.kind.startswith("deposit_"))
    assert kinds == ["deposit_failed", "deposit_held", "deposit_released", "deposit_released"]
    held = next(n for n in notices_of(world.fleet) if n.kind == "deposit_held")
    assert "2,469.12 USD is held" in held.body and "2 vehicles, Medium-duty box truck" in held.body
    assert held.own_stake and held.link == "/payments/deposits"
    # Mail is off, but money is mailed; the round's opening (not money) was not.
    subjects = [m.subject for m in outbox_to(world.fleet)]
    assert len(subjects) == 4 and all(s.startswith("Deposit ") for s in subjects)
    assert not [n for n in notices_of(world.other_fleet) if n.kind.startswith("deposit_")]


def test_a_rolled_back_change_tells_nobody(world):
    from marketplace.services import events

    rnd = make_round(world.coordinator, RoundPhase.DRAFT, segment_ids=["md_box_truck"])
    rnd.phase = RoundPhase.DEMAND_OPEN
    events.record(events.RoundMoved(rnd.id, "draft", "demand_open", world.coordinator.id))
    db.session.rollback()
    db.session.commit()  # a later commit does not tell the rolled-back event either
    assert notices_of(world.fleet) == [] and outbox_to(world.fleet) == []


def test_the_same_event_handled_twice_writes_its_notices_once(world):
    from marketplace import handlers
    from marketplace.services import events

    rnd = make_round(world.coordinator, RoundPhase.DEMAND_OPEN, segment_ids=["md_box_truck"])
    assert len(notices_of(world.fleet)) == 1
    handlers.tell_members_the_round_moved(events.RoundMoved(rnd.id, "draft", "demand_open", world.coordinator.id))
    assert len(notices_of(world.fleet)) == 1 and len(outbox_to(world.fleet)) == 1


def test_bid_and_confirmation_reminders_go_to_those_concerned(world, frozen_clock):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    make_bid(world.oem, lots[0], make_model(world.oem.organization))
    assert service.send_reminders(rnd.bid_deadline - timedelta(days=2)) == 1
    reminder = [n for n in notices_of(world.oem) if n.kind == "bid_deadline_near"]
    assert len(reminder) == 1 and "close in 3 days" in reminder[0].title and "1 live bid" in reminder[0].body
    assert not [n for n in notices_of(world.other_oem) if n.kind == "bid_deadline_near"]

    rounds.transition(rnd.id, RoundPhase.BIDS_CLOSED, world.coordinator)
    from marketplace.models import DemandLine

    line = db.session.execute(sa.select(DemandLine).where(DemandLine.round_id == rnd.id)).scalars().first()
    _allocate(rnd, line, world.oem, Decimal("230000"))
    rounds.transition(rnd.id, RoundPhase.AWARDED, world.coordinator)
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, world.coordinator)
    assert [n.kind for n in notices_of(world.fleet)].count("confirmations_open") == 1
    db.session.expire_all()
    deadline = db.session.get(Round, rnd.id).confirmation_deadline
    assert service.send_reminders(deadline - timedelta(hours=20)) == 1
    last = notices_of(world.fleet)[-1]
    assert last.kind == "confirmation_deadline_near" and "1 day" in last.title and last.own_stake
