"""Acceptance: a round walked in the browser against a real SMTP server (aiosmtpd on 127.0.0.1).

At each step exactly the entitled members get mail; no mail or notice carries sealed information
(another OEM's bid, a fleet's name to an OEM); a retried mail job and a re-delivered event send
nothing twice.
"""

from __future__ import annotations

import email
import threading
from email.policy import default as default_policy

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from marketplace.extensions import db
from marketplace.models import MailState, Notice, RoundPhase
from tests.browser_steps import bid, create_round, flash_says, move, phase, post_demand, session_for
from tests.conftest import screenshot
from tests.factories import make_bid, make_model, make_org, make_user

pytestmark = pytest.mark.browser


class Inbox:
    """What the SMTP server accepted: (recipient, subject, body), and recipients whose next mail it refuses."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, str, str]] = []
        self.refuse_once: set[str] = set()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            refused = self.refuse_once & set(envelope.rcpt_tos)
            if refused:
                self.refuse_once -= refused
                return "451 4.3.0 Try again later"
            message = email.message_from_bytes(envelope.content, policy=default_policy)
            body = message.get_body(preferencelist=("plain",)).get_content()
            for rcpt in envelope.rcpt_tos:
                self.mails.append((rcpt, str(message["Subject"]), body))
        return "250 OK"

    def take(self) -> list[tuple[str, str, str]]:
        with self.lock:
            mails, self.mails = self.mails, []
        return mails


@pytest.fixture
def smtp(app):
    from aiosmtpd.controller import Controller

    class OnAnyFreePort(Controller):
        """Listens on a port the system picks (port 0) and learns which before it checks it answers:
        a port probed free and bound later can be taken in between by another process."""

        def _trigger_server(self):
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    inbox = Inbox()
    # ready_timeout: aiosmtpd gives up after 5 s by default, which a busy machine can exceed.
    controller = OnAnyFreePort(inbox, hostname="127.0.0.1", port=0, ready_timeout=60)
    controller.start()
    # MAIL_TIMEOUT: each mail is sent while its request runs; a starved SMTP thread must make it slow, not lost.
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_TIMEOUT=60)
    try:
        yield inbox
    finally:
        app.config.update(MAIL_SERVER=None)
        controller.stop()


def recipients(mails, subject_part: str) -> set[str]:
    return {to for to, subject, _ in mails if subject_part in subject}


def test_a_round_mails_exactly_the_entitled_members_and_nothing_sealed(world, chromium, live_server, smtp):
    model_a = make_model(world.oem.organization, name="Volta Box 300")
    model_b = make_model(world.other_oem.organization, name="Ampere Hauler")
    bus_maker = make_user(make_org("oem", name="Only Buses Inc"))
    make_model(bus_maker.organization, segment_id="school_bus")
    abroad = make_user(make_org("fleet", name="Reparto MX", country="MX"))
    world.fleet.time_zone = "America/Chicago"
    db.session.commit()
    fleet_names = {world.fleet.organization.name, world.other_fleet.organization.name}
    oem_a, oem_b = world.oem.email, world.other_oem.email
    fleet_a, fleet_b = world.fleet.email, world.other_fleet.email

    # The coordinator opens a round for box trucks in the US.
    coordinator = session_for(chromium, live_server, world.coordinator)
    round_id = create_round(coordinator, "2027 Texas box trucks")
    move(coordinator, "Open demand…", "Open demand")
    assert phase(round_id) is RoundPhase.DEMAND_OPEN
    mails = smtp.take()
    # Fleets at home and OEMs whose catalog fits; not the bus maker, not the fleet abroad, not the coordinator.
    assert recipients(mails, "is open for demand") == {fleet_a, fleet_b, oem_a, oem_b}
    assert {to for to, _, _ in mails} == {fleet_a, fleet_b, oem_a, oem_b}
    body_a = next(b for to, _, b in mails if to == fleet_a)
    assert "2030-01-10 06:00 CST" in body_a  # 12:00 UTC in the fleet's zone (the coordinator types in UTC)
    assert f"/fleet/rounds/{round_id}" in body_a

    # Two fleets post and commit demand: nothing to mail (no audited event members are told of).
    page_a = session_for(chromium, live_server, world.fleet)
    post_demand(page_a, round_id, 12)
    page_b = session_for(chromium, live_server, world.other_fleet)
    post_demand(page_b, round_id, 10)
    assert smtp.take() == []

    # Fleet A asks a question: only the coordinators hear of it.
    page_a.goto(f"/rounds/{round_id}/questions")
    page_a.get_by_label("Your question").fill("Is a 350 km winter range required?")
    page_a.get_by_role("button", name="Send the question").click()
    flash_says(page_a, "Your question is sent")
    assert {to for to, _, _ in smtp.take()} == {world.coordinator.email, world.coordinator2.email}
    # The coordinator answers: published to the participants, without the asker's name.
    coordinator.goto(f"/rounds/{round_id}/questions")
    expect(coordinator.get_by_test_id("waiting")).to_contain_text(world.fleet.organization.name)
    coordinator.get_by_label("Answer").fill("No: 300 km at -10 °C is enough.")
    coordinator.get_by_role("button", name="Publish the answer").click()
    flash_says(coordinator, "Answer published")  # mailed while the request ran
    mails = smtp.take()
    assert recipients(mails, "was answered") == {fleet_a, fleet_b, oem_a, oem_b}
    assert all("300 km at -10 °C" in body and world.fleet.organization.name not in body for _, _, body in mails)
    page_b.goto(f"/rounds/{round_id}/questions")
    expect(page_b.get_by_test_id("published")).to_contain_text("winter range")
    expect(page_b.get_by_test_id("published")).not_to_contain_text(world.fleet.organization.name)

    # Demand closes: both fleets (their lines go to pooling); no OEM.
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    move(coordinator, "Close demand…", "Close demand")
    assert {to for to, _, _ in smtp.take()} == {fleet_a, fleet_b}

    # Lots published: the OEMs whose catalog fits, nobody else; no fleet named.
    coordinator.goto(f"/coordinator/rounds/{round_id}/pooling")
    coordinator.get_by_role("button", name="Run pooling").click()
    flash_says(coordinator, "Pooling run #")
    move(coordinator, "Publish these lots and open bidding…", "Publish lots and open bidding", done="are published")
    assert phase(round_id) is RoundPhase.TENDERING
    mails = smtp.take()
    assert {to for to, _, _ in mails} == {oem_a, oem_b}
    assert not any(name in subject + body for _, subject, body in mails for name in fleet_names)

    # The OEMs bid (one in the browser, one through the service); bids close: both OEMs, no price in it.
    page_oem = session_for(chromium, live_server, world.oem)
    bid(page_oem, round_id, 100, model_a.code, "231000")
    from marketplace.models import Lot

    lot = db.session.execute(sa.select(Lot).where(Lot.round_id == round_id)).scalars().first()
    make_bid(world.other_oem, lot, model_b, tiers=((5, "229500.50"),), max_quantity=22)
    assert smtp.take() == []
    coordinator.goto(f"/coordinator/rounds/{round_id}")
    move(coordinator, "Close bids…", "Close bids")
    mails = smtp.take()
    assert {to for to, _, _ in mails} == {oem_a, oem_b}
    assert not any("231,000" in body or "229,500" in body for _, _, body in mails)

    # The award: OEM A's mail is refused once by the server (451), to be retried.
    smtp.refuse_once = {oem_a}
    coordinator.goto(f"/coordinator/rounds/{round_id}/scenarios")
    coordinator.get_by_label("Scenario name").fill("Round rules")
    coordinator.get_by_role("button", name="Compute scenario").click()
    flash_says(coordinator, "Scenario “Round rules” started")
    coordinator.get_by_role("link", name="Publish this award…").first.click()
    coordinator.get_by_label("I have read what this move does and want to make it").check()
    coordinator.get_by_role("button", name="Publish the award").click()
    flash_says(coordinator, "The award is published")
    assert phase(round_id) is RoundPhase.AWARDED
    mails = smtp.take()
    assert {to for to, _, _ in mails} == {oem_b, fleet_a, fleet_b}  # A's was refused
    winner = next(body for to, _, body in mails if to == oem_b)
    assert "You won 22 vehicles on 1 lot" in winner
    for to, subject, body in mails:
        if to == oem_b:  # an OEM never sees a fleet's name or the other OEM's name or bid
            assert not any(name in subject + body for name in fleet_names)
            assert world.oem.organization.name not in body and "231,000" not in body
    assert "12 vehicles of the 12 you committed" in next(b for to, _, b in mails if to == fleet_a)

    # Huey retries the refused job: it mails A's result once; a second retry and a re-delivered
    # event mail nothing more.
    from marketplace import jobs

    db.session.expire_all()
    refused = db.session.execute(
        sa.select(Notice).join(Notice.user).where(Notice.kind == "award_published", Notice.user_id == world.oem.id)
    ).scalar_one()
    assert refused.mail_state is MailState.QUEUED and "451" in refused.mail_error
    jobs.send_notice_mail(refused.id)
    jobs.send_notice_mail(refused.id)
    jobs.deliver_event(refused.kind, refused.event_key, round_id, None)  # the award's event handled again
    mails = smtp.take()
    assert [(to, subject) for to, subject, _ in mails] == [(oem_a, "Your result in “2027 Texas box trucks”")]
    assert mails[0][2].startswith("Your result") and "You won no vehicles in this round." in mails[0][2]
    assert abroad.email not in {to for to, _, _ in mails} and bus_maker.email not in {to for to, _, _ in mails}

    # In the app: the fleet's navigation counts its unread notices; each links to the page to act on.
    page_a.goto("/notices")
    expect(page_a.get_by_test_id("nav-unread")).to_have_text("4 unread")  # opened, answer, demand closed, award
    screenshot(page_a, "notices-fleet")
    page_a.get_by_role("button", name="Open").first.click()
    expect(page_a).to_have_url(f"/fleet/rounds/{round_id}/allocations")
    expect(page_a.get_by_test_id("nav-unread")).to_have_text("3 unread")
    page_oem.goto("/notices")
    oem_text = page_oem.get_by_test_id("notices").inner_text()
    assert not any(name in oem_text for name in fleet_names) and world.other_oem.organization.name not in oem_text
    for page in (coordinator, page_a, page_b, page_oem):
        page.context.close()
