"""Notices: what happened, told to the entitled users, in the app and by mail.

A domain event (services.events) that members are told of becomes an `Event` with a unique key
(handlers.py, the one place that subscribes and queues jobs). Deadline reminders come from the periodic
job. `deliver(event)` asks the recipient rules (recipients.py) who is
entitled, writes one Notice per user (unique on event key + user, so a re-run adds nothing) worded in
the user's time zone with a link to the page to act on, commits, and queues one mail job per notice
to mail now. `send_mail(notice_id)` mails a notice at most once: it locks the notice, skips it if it
was mailed, and marks it mailed in the same transaction as the local outbox row (no SMTP settings) or
right after the SMTP server accepted it.

Sealed information: an OEM's notice is composed from its own rows only (its bids, its allocations),
and never names a fleet; a clarification answer never names who asked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.models import (
    Allocation,
    Approval,
    Bid,
    BidRevision,
    Clarification,
    ConfirmationStatus,
    DemandLine,
    DemandStatus,
    Deposit,
    MailState,
    Notice,
    NotifyMode,
    Organization,
    OrganizationKind,
    PackageBid,
    PackageRevision,
    Region,
    Round,
    RoundCapacity,
    RoundPhase,
    User,
    VehicleModel,
)
from marketplace.notifications import recipients as rules
from marketplace.services import clock, events

log = logging.getLogger(__name__)
P = RoundPhase


@dataclass(frozen=True)
class Event:
    """Something members are told of. `key` is unique per event (a re-run of the same event adds nothing)."""

    kind: str
    key: str
    round_id: int | None = None
    object_id: int | None = None
    detail: str = ""  # "7 days" for a reminder


@dataclass(frozen=True)
class Draft:
    title: str
    body: str
    link: str
    own_stake: bool = False  # the user's own money or obligations: mailed even when mail is off


# ---------------------------------------------------------------- events the services record (services.events)

# Phase moves members are told of, by the phase the round moved to (handlers.tell_members_the_round_moved).
PHASE_EVENTS = {
    P.DEMAND_OPEN.value: "round_opened",
    P.DEMAND_CLOSED.value: "demand_closed",
    P.TENDERING.value: "lots_published",
    P.BIDS_CLOSED.value: "bids_closed",
    P.AWARDED.value: "award_published",
    P.CONTRACTING.value: "confirmations_open",
    P.CANCELLED.value: "round_cancelled",
}


def event_key(domain_event: Any) -> str:
    """The unique key of a domain event: its type and every field (a round enters a phase once, a deposit
    changes at one instant...), so the same event handled twice gives the same key and no second notice."""
    fields = json.dumps(dataclasses.asdict(domain_event), sort_keys=True, default=str)
    digest = hashlib.blake2b(fields.encode(), digest_size=12).hexdigest()
    return f"{type(domain_event).__name__}:{digest}"


def deliver_event(kind: str, key: str, round_id: int | None, object_id: int | None) -> int:
    """The job a handler queues: write the notices of one event. Returns how many it made."""
    return len(deliver(Event(kind, key, round_id=round_id, object_id=object_id)))


# ---------------------------------------------------------------- facts of a round (for the rules)


def round_facts(rnd: Round) -> rules.RoundFacts:
    regions = {r.id: rules.Region(r.id, r.level, r.parent_id) for r in db.session.execute(sa.select(Region)).scalars()}
    scope = rules.Scope(
        frozenset(s.id for s in rnd.segments), rules.covered_countries([r.id for r in rnd.regions], regions)
    )
    approved = Organization.approval == Approval.APPROVED
    past: dict[int, set[str]] = defaultdict(set)
    for org_id, segment_id in db.session.execute(
        sa.select(DemandLine.organization_id, DemandLine.segment_id).distinct()
    ):
        past[org_id].add(segment_id)
    lines: dict[tuple[int, DemandStatus], int] = {
        (org_id, status): n
        for org_id, status, n in db.session.execute(
            sa.select(DemandLine.organization_id, DemandLine.status, sa.func.count())
            .where(DemandLine.round_id == rnd.id)
            .group_by(DemandLine.organization_id, DemandLine.status)
        )
    }
    pending: dict[int, int] = {}
    if rnd.published_scenario_id is not None:
        pending = dict(
            db.session.execute(
                sa.select(DemandLine.organization_id, sa.func.count())
                .join(Allocation, Allocation.demand_line_id == DemandLine.id)
                .where(
                    Allocation.scenario_id == rnd.published_scenario_id,
                    Allocation.confirmation == ConfirmationStatus.PENDING,
                )
                .group_by(DemandLine.organization_id)
            ).all()
        )
    fleets = tuple(
        rules.Fleet(
            organization_id=org.id,
            country=org.country,
            past_segments=frozenset(past.get(org.id, ())),
            draft_lines=lines.get((org.id, DemandStatus.DRAFT), 0),
            lines=lines.get((org.id, DemandStatus.COMMITTED), 0),
            pending_allocations=pending.get(org.id, 0),
        )
        for org in db.session.execute(
            sa.select(Organization).where(Organization.kind == OrganizationKind.FLEET, approved)
        ).scalars()
    )
    models: dict[int, list[rules.CatalogModel]] = defaultdict(list)
    for org_id, segment_id, markets, retired in db.session.execute(
        sa.select(VehicleModel.organization_id, VehicleModel.segment_id, VehicleModel.markets, VehicleModel.retired)
    ):
        models[org_id].append(rules.CatalogModel(segment_id, frozenset(markets or ()), retired))
    capacity = set(
        db.session.execute(
            sa.select(RoundCapacity.organization_id).where(RoundCapacity.round_id == rnd.id, RoundCapacity.capacity > 0)
        ).scalars()
    )
    live = live_bid_counts(rnd.id)
    oems = tuple(
        rules.Oem(
            organization_id=org.id,
            models=tuple(models.get(org.id, ())),
            has_capacity=org.id in capacity,
            live_bids=live.get(org.id, 0),
        )
        for org in db.session.execute(
            sa.select(Organization).where(Organization.kind == OrganizationKind.OEM, approved)
        ).scalars()
    )
    askers = frozenset(
        db.session.execute(
            sa.select(Clarification.organization_id).where(Clarification.round_id == rnd.id).distinct()
        ).scalars()
    )
    return rules.RoundFacts(scope=scope, fleets=fleets, oems=oems, askers=askers)


def live_bid_counts(round_id: int) -> dict[int, int]:
    """Live bids and packages (current revision not a withdrawal) per OEM in a round."""
    counts: dict[int, int] = defaultdict(int)
    for owner, revision, key in (
        (Bid, BidRevision, BidRevision.bid_id),
        (PackageBid, PackageRevision, PackageRevision.package_id),
    ):
        latest = sa.select(key.label("owner_id"), sa.func.max(revision.number).label("number")).group_by(key).subquery()
        rows = db.session.execute(
            sa.select(owner.organization_id, sa.func.count())
            .join(latest, latest.c.owner_id == owner.id)
            .join(revision, sa.and_(key == owner.id, revision.number == latest.c.number))
            .where(owner.round_id == round_id, revision.withdrawn.is_(False))
            .group_by(owner.organization_id)
        )
        for org_id, n in rows:
            counts[org_id] += n
    return dict(counts)


# ---------------------------------------------------------------- wording, in the reader's time zone


def zone_of(user: User) -> ZoneInfo:
    try:
        return ZoneInfo(user.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when(value: datetime | None, user: User) -> str:
    if value is None:
        return "no deadline set"
    return value.astimezone(zone_of(user)).strftime("%Y-%m-%d %H:%M %Z")


def _money(amount: Decimal | int, currency: str) -> str:
    amount = Decimal(amount)
    text = f"{amount:,.2f}" if amount != amount.to_integral_value() else f"{amount:,.0f}"
    return f"{text} {currency}"


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _round_link(rnd: Round, kind: OrganizationKind) -> str:
    if kind is OrganizationKind.FLEET:
        return f"/fleet/rounds/{rnd.id}"
    if kind is OrganizationKind.OEM:
        return f"/oem/rounds/{rnd.id}" if rnd.phase not in (P.DRAFT, P.DEMAND_OPEN, P.DEMAND_CLOSED) else "/oem/"
    return f"/coordinator/rounds/{rnd.id}"


def _fleet_award(rnd: Round, org_id: int) -> tuple[int, int, Decimal]:
    """(vehicles asked on committed lines, vehicles allocated, total price) of one fleet's own lines."""
    asked = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(DemandLine.quantity), 0)).where(
            DemandLine.round_id == rnd.id,
            DemandLine.organization_id == org_id,
            DemandLine.status == DemandStatus.COMMITTED,
        )
    ).scalar_one()
    got, price = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(Allocation.quantity), 0),
            sa.func.coalesce(sa.func.sum(Allocation.quantity * Allocation.unit_price), 0),
        )
        .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
        .where(Allocation.scenario_id == rnd.published_scenario_id, DemandLine.organization_id == org_id)
    ).one()
    return int(asked), int(got), Decimal(price)


def _oem_award(rnd: Round, org_id: int) -> tuple[int, int, Decimal]:
    """(lots won, vehicles won, total price) of one OEM's own allocations: nothing of any other supplier."""
    lots, got, price = db.session.execute(
        sa.select(
            sa.func.count(sa.distinct(Allocation.lot_id)),
            sa.func.coalesce(sa.func.sum(Allocation.quantity), 0),
            sa.func.coalesce(sa.func.sum(Allocation.quantity * Allocation.unit_price), 0),
        ).where(Allocation.scenario_id == rnd.published_scenario_id, Allocation.organization_id == org_id)
    ).one()
    return int(lots), int(got), Decimal(price)


def _line_words(line: DemandLine) -> str:
    return (
        f"{_count(line.quantity, 'vehicle')}, {line.segment.name} in {line.region.name}, "
        f"delivery {line.earliest_quarter}-{line.latest_quarter}"
    )


def compose(event: Event, rnd: Round | None, org: Organization, user: User, facts: rules.RoundFacts | None) -> Draft:
    """The notice of `event` for one user of `org`, in the user's time zone. Only this organization's rows."""
    kind = event.kind
    name = f"“{rnd.name}”" if rnd is not None else ""
    if kind == "round_opened":
        assert rnd is not None
        segments = ", ".join(s.name for s in rnd.segments)
        regions = ", ".join(r.name for r in rnd.regions)
        if org.kind is OrganizationKind.OEM:
            body = (
                f"Fleets post demand for {segments} in {regions} until {when(rnd.demand_deadline, user)}. "
                "Lots are published for bidding after pooling."
            )
        else:
            body = f"Post and commit demand for {segments} in {regions} until {when(rnd.demand_deadline, user)}."
        return Draft(f"{name} is open for demand", body, _round_link(rnd, org.kind))
    if kind == "demand_deadline_near":
        assert rnd is not None and facts is not None
        drafts = next((f.draft_lines for f in facts.fleets if f.organization_id == org.id), 0)
        return Draft(
            f"Demand for {name} closes in {event.detail}",
            f"You have {_count(drafts, 'line')} not committed. Lines not committed by "
            f"{when(rnd.demand_deadline, user)} are left out of the round.",
            _round_link(rnd, org.kind),
        )
    if kind == "demand_closed":
        assert rnd is not None and facts is not None
        fleet = next((f for f in facts.fleets if f.organization_id == org.id), None)
        committed = fleet.lines if fleet else 0
        return Draft(
            f"Demand closed for {name}",
            f"Your {_count(committed, 'committed line')} {'goes' if committed == 1 else 'go'} to pooling; "
            "lines not committed are left out. "
            f"Bids are due by {when(rnd.bid_deadline, user)}, then the award.",
            _round_link(rnd, org.kind),
            own_stake=committed > 0,
        )
    if kind == "lots_published":
        assert rnd is not None
        from marketplace.services import bidding

        lots = len(bidding.lots_of(rnd))
        return Draft(
            f"Lots of {name} are published: bidding is open",
            f"{_count(lots, 'lot')} to bid on. State your capacity, then bid until {when(rnd.bid_deadline, user)}.",
            f"/oem/rounds/{rnd.id}",
        )
    if kind == "bid_deadline_near":
        assert rnd is not None
        live = live_bid_counts(rnd.id).get(org.id, 0)
        return Draft(
            f"Bids for {name} close in {event.detail}",
            f"You hold {_count(live, 'live bid')}. Bids close at {when(rnd.bid_deadline, user)}; "
            "after that nothing can be changed.",
            f"/oem/rounds/{rnd.id}",
        )
    if kind == "bids_closed":
        assert rnd is not None
        live = live_bid_counts(rnd.id).get(org.id, 0)
        return Draft(
            f"Bids closed for {name}",
            f"Your {_count(live, 'live bid')} are sealed and go to the award. You are told your result when the "
            "award is published.",
            f"/oem/rounds/{rnd.id}",
        )
    if kind == "award_published":
        assert rnd is not None
        if org.kind is OrganizationKind.OEM:
            lots, got, price = _oem_award(rnd, org.id)
            body = (
                f"You won {_count(got, 'vehicle')} on {_count(lots, 'lot')}, {_money(price, rnd.currency)} in all."
                if got
                else "You won no vehicles in this round."
            )
            return Draft(f"Your result in {name}", body, f"/oem/rounds/{rnd.id}/results", own_stake=True)
        asked, got, price = _fleet_award(rnd, org.id)
        return Draft(
            f"The award of {name} is published",
            f"{_count(got, 'vehicle')} of the {asked:,} you committed are allocated to you, "
            f"{_money(price, rnd.currency)} in all. You confirm or decline each allocation when confirmations open.",
            f"/fleet/rounds/{rnd.id}/allocations",
            own_stake=True,
        )
    if kind in ("confirmations_open", "confirmation_deadline_near"):
        assert rnd is not None and facts is not None
        pending = next((f.pending_allocations for f in facts.fleets if f.organization_id == org.id), 0)
        title = (
            f"Confirm your allocations of {name}"
            if kind == "confirmations_open"
            else f"Confirmations for {name} close in {event.detail}"
        )
        return Draft(
            title,
            f"{_count(pending, 'allocation')} of yours wait for your decision until "
            f"{when(rnd.confirmation_deadline, user)}. An allocation not confirmed by then counts as declined, "
            "and its deposit follows the round's decline rule.",
            f"/fleet/rounds/{rnd.id}/allocations",
            own_stake=True,
        )
    if kind == "round_cancelled":
        assert rnd is not None
        return Draft(
            f"{name} was cancelled",
            "The round will not go on. Any deposit held for it is released.",
            _round_link(rnd, org.kind) if org.kind is not OrganizationKind.OEM else "/oem/",
        )
    if kind.startswith("deposit_"):
        dep = db.session.get(Deposit, event.object_id)
        assert dep is not None
        line = db.session.get(DemandLine, dep.demand_line_id)
        state = kind.split("_", 1)[1]
        words = {
            "held": f"{_money(dep.held_amount, dep.currency)} is held on your card",
            "failed": f"the hold of {_money(dep.amount, dep.currency)} failed"
            + (f" ({dep.failure_message})" if dep.failure_message else "")
            + ": the line is not committed until a hold succeeds",
            "captured": f"{_money(dep.applied_amount + dep.forfeited_amount, dep.currency)} was charged"
            + (f" ({dep.outcome_reason})" if dep.outcome_reason else ""),
            "released": f"{_money(dep.released_amount, dep.currency)} was released"
            + (f" ({dep.outcome_reason})" if dep.outcome_reason else ""),
        }[state]
        return Draft(
            f"Deposit {state}: {line.quantity if line else ''} vehicles in {name}".replace("  ", " "),
            f"For your line of {_line_words(line) if line else 'this round'}: {words}.",
            "/payments/deposits",
            own_stake=True,
        )
    if kind == "organization_approved":
        return Draft(
            f"“{org.name}” is approved",
            "A coordinator approved your organization: you can now take part in rounds.",
            "/dashboard",
        )
    if kind == "clarification_answered":
        c = db.session.get(Clarification, event.object_id)
        assert c is not None and rnd is not None
        return Draft(
            f"A question about {name} was answered",
            f"Question: {c.question}\n\nAnswer: {c.answer}",
            f"/rounds/{rnd.id}/questions#q{c.id}",
        )
    if kind == "clarification_asked":
        assert rnd is not None
        return Draft(
            f"A new question about {name}",
            "A member asked a question; answer it on the round's questions page.",
            f"/rounds/{rnd.id}/questions",
        )
    if kind in BACKUP_KINDS:
        assert rnd is not None
        return _backup_notice(kind, event.object_id or 0, rnd, org)
    raise ValueError(f"no wording for event kind {kind!r}")


# ---------------------------------------------------------------- backups promoted in contracting (services.backups)

BACKUP_KINDS = ("supplier_withdrew", "backup_offered", "backup_accepted", "backup_refused")


def _backup_recipients(kind: str, backup_id: int) -> set[int]:
    from marketplace.services import backups

    if kind == "supplier_withdrew":
        return backups.affected_fleets(backup_id)
    if kind == "backup_offered":
        return backups.offered_suppliers(backup_id)
    state = ConfirmationStatus.REFUSED if kind == "backup_refused" else ConfirmationStatus.PENDING
    fleets = set(
        db.session.execute(
            sa.select(DemandLine.organization_id)
            .join(Allocation, Allocation.demand_line_id == DemandLine.id)
            .where(Allocation.backup_id == backup_id, Allocation.confirmation == state)
        ).scalars()
    )
    return fleets


def _backup_notice(kind: str, backup_id: int, rnd: Round, org: Organization) -> Draft:
    """A fleet hears what became of its own lines; a backup supplier of its own part only (no fleet names)."""
    from marketplace.models import Backup

    backup = db.session.get(Backup, backup_id)
    assert backup is not None
    name = f"“{rnd.name}”"
    fleet_link = f"/fleet/rounds/{rnd.id}/allocations"
    mine = (
        sa.select(Allocation)
        .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
        .where(Allocation.scenario_id == backup.scenario_id, Allocation.lot_id == backup.lot_id)
    )
    if kind == "backup_offered":
        rows = db.session.execute(
            mine.where(Allocation.backup_id == backup.id, Allocation.organization_id == org.id)
        ).scalars()
        rows = list(rows)
        vehicles = sum(a.quantity for a in rows)
        value = sum((a.quantity * a.unit_price for a in rows), Decimal(0))
        return Draft(
            f"You are asked to step in as backup supplier in {name}",
            f"A winner of lot {backup.lot.code} dropped out. As the backup, you are asked to supply "
            f"{_count(vehicles, 'vehicle')} at your bid's price, {_money(value, rnd.currency)} in all: accept or refuse.",
            f"/oem/backups/{backup.public_id}",
            own_stake=True,
        )
    own = mine.where(DemandLine.organization_id == org.id)
    if kind == "supplier_withdrew":
        taken = list(
            db.session.execute(
                own.where(
                    Allocation.organization_id == backup.withdrawn_id,
                    Allocation.confirmation == ConfirmationStatus.WITHDRAWN,
                )
            ).scalars()
        )
        offered = sum(a.quantity for a in db.session.execute(own.where(Allocation.backup_id == backup.id)).scalars())
        cause = backup.cause.label if backup.cause else "dropped out"
        then = (
            f"A backup supplier is asked to supply {_count(offered, 'vehicle')} instead; once it accepts, you "
            "confirm or decline them."
            if offered
            else "Nobody can replace it: the deposits of these lines are given back."
        )
        return Draft(
            f"{backup.withdrawn.name} {cause} in {name}",
            f"Its {_count(sum(a.quantity for a in taken), 'vehicle')} for your lines in lot {backup.lot.code} "
            f"are taken back. {then}",
            fleet_link,
            own_stake=True,
        )
    rows = list(db.session.execute(own.where(Allocation.backup_id == backup.id)).scalars())
    vehicles = sum(a.quantity for a in rows if a.confirmation is not ConfirmationStatus.REFUSED)
    if kind == "backup_accepted":
        return Draft(
            f"Confirm your replacement vehicles in {name}",
            f"The backup supplier accepted: {_count(vehicles, 'vehicle')} in lot {backup.lot.code} wait for "
            "you to confirm or decline them. Declining a replacement gives your deposit back.",
            fleet_link,
            own_stake=True,
        )
    return Draft(
        f"The backup supplier refused in {name}",
        f"Your lines in lot {backup.lot.code} are not replaced: their deposits are given back.",
        fleet_link,
        own_stake=True,
    )


# ---------------------------------------------------------------- who: organizations, then their users


def entitled_organizations(event: Event, facts: rules.RoundFacts | None) -> set[int]:
    kind = event.kind
    if kind.startswith("deposit_"):
        dep = db.session.get(Deposit, event.object_id)
        return {dep.organization_id} if dep is not None else set()
    if kind == "organization_approved":
        return {event.object_id} if event.object_id is not None else set()
    if kind == "clarification_asked":
        return set(
            db.session.execute(
                sa.select(Organization.id).where(Organization.kind == OrganizationKind.COORDINATOR)
            ).scalars()
        )
    if kind in BACKUP_KINDS:
        return _backup_recipients(kind, event.object_id or 0)
    assert facts is not None
    by_kind = {
        "round_opened": rules.round_opened,
        "demand_deadline_near": rules.demand_deadline_near,
        "demand_closed": rules.demand_closed,
        "lots_published": rules.lots_published,
        "bid_deadline_near": rules.bid_deadline_near,
        "bids_closed": rules.bids_closed,
        "award_published": lambda f: rules.award_published_fleets(f) | rules.award_published_oems(f),
        "confirmations_open": rules.confirmations_due,
        "confirmation_deadline_near": rules.confirmations_due,
        "round_cancelled": rules.participants,
        "clarification_answered": rules.participants,
    }
    return by_kind[kind](facts)


def mail_state_for(user: User, draft: Draft) -> MailState:
    """Mail now, in the digest, or not at all: the user's choice, except for their own money and obligations."""
    try:
        mode = NotifyMode(user.notify_mode)
    except ValueError:
        mode = NotifyMode.IMMEDIATELY
    if draft.own_stake or mode is NotifyMode.IMMEDIATELY:
        return MailState.QUEUED
    return MailState.DIGEST if mode is NotifyMode.DIGEST else MailState.NONE


def deliver(event: Event) -> list[int]:
    """Write the event's notices (one per entitled user, never twice), commit, then queue their mails.

    Returns the ids of the notices made now (empty on a re-run)."""
    for _attempt in range(3):
        try:
            made = _write_notices(event)
            to_mail = tuple(notice_id for notice_id, state in made if state is MailState.QUEUED)
            if to_mail:  # mailed by jobs after this commit (handlers.mail_the_notices)
                events.record(events.NoticesToMail(to_mail))
            db.session.commit()
            break
        except IntegrityError:  # another worker wrote some of the same notices at the same moment
            db.session.rollback()
    else:
        raise RuntimeError(f"notices of {event.key} could not be written")
    return [notice_id for notice_id, _ in made]


def _write_notices(event: Event) -> list[tuple[int, MailState]]:
    rnd = db.session.get(Round, event.round_id) if event.round_id is not None else None
    facts = round_facts(rnd) if rnd is not None else None
    org_ids = entitled_organizations(event, facts)
    if not org_ids:
        return []
    done = set(db.session.execute(sa.select(Notice.user_id).where(Notice.event_key == event.key)).scalars())
    users = db.session.execute(
        sa.select(User)
        .join(Organization, Organization.id == User.organization_id)
        .where(User.organization_id.in_(org_ids), User.active.is_(True))
        .order_by(User.id)
    ).scalars()
    made = []
    for user in users:
        if user.id in done:
            continue
        draft = compose(event, rnd, user.organization, user, facts)
        notice = Notice(
            user_id=user.id,
            event_key=event.key,
            kind=event.kind,
            round_id=rnd.id if rnd is not None else None,
            title=draft.title[:300],
            body=draft.body,
            link=draft.link,
            own_stake=draft.own_stake,
            mail_state=mail_state_for(user, draft),
        )
        db.session.add(notice)
        db.session.flush()
        made.append((notice.id, notice.mail_state))
    return made


# ---------------------------------------------------------------- reminders before deadlines (periodic job)


def due_reminders(at: datetime | None = None) -> list[Event]:
    """Reminders due now: demand deadline in 7 days / 1 day, bid deadline in 3 days / 1 day, confirmation
    deadline in 3 days / 1 day. The key names the deadline, so a moved deadline reminds again."""
    at = at or clock.now()
    events = []
    checks = (
        (P.DEMAND_OPEN, "demand_deadline", "demand_deadline_near", rules.DEMAND_REMINDERS),
        (P.TENDERING, "bid_deadline", "bid_deadline_near", rules.BID_REMINDERS),
        (P.CONTRACTING, "confirmation_deadline", "confirmation_deadline_near", rules.CONFIRMATION_REMINDERS),
    )
    for phase, attr, kind, steps in checks:
        deadline_col = getattr(Round, attr)
        rows = db.session.execute(
            sa.select(Round.id, deadline_col).where(
                Round.phase == phase,
                deadline_col.is_not(None),
                deadline_col > at,
                deadline_col <= at + timedelta(days=8),
            )
        ).all()
        for round_id, deadline in rows:
            due = rules.due_reminder((deadline - at).total_seconds(), steps)
            if due is not None:
                days, label = due
                key = f"reminder:{kind}:{days}d:round-{round_id}:{deadline.isoformat()}"
                events.append(Event(kind, key, round_id=round_id, detail=label))
    return events


def send_reminders(at: datetime | None = None) -> int:
    made = 0
    for event in due_reminders(at):
        try:
            made += len(deliver(event))
        except Exception:  # one round's failure must not stop the others; the next run tries again
            db.session.rollback()
            log.exception("reminder %s failed", event.key)
    return made


# ---------------------------------------------------------------- mail


def send_mail(notice_id: int) -> str:
    """Mail one notice, at most once. Raises when the SMTP server refused (the job retries)."""
    from marketplace.notifications import mail

    notice = db.session.execute(sa.select(Notice).where(Notice.id == notice_id).with_for_update()).scalar_one_or_none()
    if notice is None:
        return "no such notice"
    if notice.mail_state is not MailState.QUEUED:
        db.session.rollback()
        return f"not mailed: {notice.mail_state.value}"
    notice.mail_attempts += 1
    user = notice.user
    try:
        mail.send(
            to=user.email,
            subject=notice.title,
            body=mail_body(user, [notice]),
            message_id=mail.message_id(f"notice-{notice.id}"),
        )
    except Exception as exc:
        notice.mail_error = f"{type(exc).__name__}: {exc}"[:500]
        db.session.commit()  # keep the attempt and its error; the lock is released
        raise
    notice.mail_state = MailState.SENT
    notice.mailed_at = clock.now()
    notice.mail_error = ""
    db.session.commit()
    return "sent"


def absolute(link: str) -> str:
    return current_app.config.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/") + link


def mail_body(user: User, notices: Iterable[Notice]) -> str:
    parts = []
    for n in notices:
        stamp = n.created_at.astimezone(zone_of(user)).strftime("%Y-%m-%d %H:%M %Z") if n.created_at else ""
        parts.append(f"{n.title}\n{stamp}\n\n{n.body}\n\nOpen: {absolute(n.link)}")
    footer = f"\n\n--\nYou get these mails from the ZEV Marketplace. Choose how: {absolute('/notices/preferences')}"
    return "\n\n----\n\n".join(parts) + footer


DIGEST_HOUR = 8  # local time of the reader


def send_digests(at: datetime | None = None) -> int:
    """Hourly: users who chose a daily digest and whose local time is 08:xx get one mail with their
    waiting notices. Each notice is marked mailed with the digest, so it is never in two digests."""
    from marketplace.notifications import mail

    at = at or clock.now()
    user_ids = list(
        db.session.execute(sa.select(Notice.user_id).where(Notice.mail_state == MailState.DIGEST).distinct()).scalars()
    )
    sent = 0
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        if user is None or at.astimezone(zone_of(user)).hour != DIGEST_HOUR:
            continue
        notices = list(
            db.session.execute(
                sa.select(Notice)
                .where(Notice.user_id == user_id, Notice.mail_state == MailState.DIGEST)
                .order_by(Notice.id)
                .with_for_update()
            ).scalars()
        )
        if not notices:
            db.session.rollback()
            continue
        local_day = at.astimezone(zone_of(user)).strftime("%Y-%m-%d")
        try:
            mail.send(
                to=user.email,
                subject=f"Your ZEV Marketplace digest of {local_day}: {_count(len(notices), 'notice')}",
                body=mail_body(user, notices),
                message_id=mail.message_id(f"digest-{user.id}-{notices[-1].id}"),
            )
        except Exception:
            db.session.rollback()
            log.exception("digest for user %s not sent", user_id)
            continue
        for n in notices:
            n.mail_state = MailState.SENT
            n.mailed_at = at
        db.session.commit()
        sent += 1
    return sent


# ---------------------------------------------------------------- the user's own notices and choice


def unread_count(user: User) -> int:
    return db.session.execute(
        sa.select(sa.func.count()).where(Notice.user_id == user.id, Notice.read_at.is_(None))
    ).scalar_one()


def notices_query(user: User) -> Any:
    return sa.select(Notice).where(Notice.user_id == user.id).order_by(Notice.created_at.desc(), Notice.id.desc())


def open_notice(user: User, notice_id: int) -> Notice:
    """Mark one of the user's own notices read; another user's answers as not found."""
    from marketplace.services.errors import NotFound

    notice = db.session.execute(
        sa.select(Notice).where(Notice.id == notice_id, Notice.user_id == user.id)
    ).scalar_one_or_none()
    if notice is None:
        raise NotFound("No such notice.")
    if notice.read_at is None:
        notice.read_at = clock.now()
        db.session.commit()
    return notice


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        sa.update(Notice).where(Notice.user_id == user.id, Notice.read_at.is_(None)).values(read_at=clock.now())
    )
    db.session.commit()
    return result.rowcount or 0


def set_mode(user: User, mode: NotifyMode) -> None:
    from marketplace.services import audit

    before = user.notify_mode
    if before == mode.value:
        return
    user.notify_mode = mode.value
    if mode is NotifyMode.IMMEDIATELY:
        # Waiting digest notices go out now rather than never.
        waiting = list(
            db.session.execute(
                sa.select(Notice.id).where(Notice.user_id == user.id, Notice.mail_state == MailState.DIGEST)
            ).scalars()
        )
        for notice_id in waiting:
            db.session.get(Notice, notice_id).mail_state = MailState.QUEUED
    else:
        waiting = []
    audit.record(user, "user.notifications", user, summary=f"Mail of notices: {mode.label}.",
                 before={"notify_mode": before}, after={"notify_mode": mode.value})  # fmt: skip
    if waiting:
        events.record(events.NoticesToMail(tuple(waiting)))
    db.session.commit()
