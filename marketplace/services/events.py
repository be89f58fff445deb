"""Domain events: what happened, told to the handlers once the change is committed.

A use case records its events with `record(...)` in the transaction that makes the change; they
wait in the session and are dispatched only after that transaction commits (a rolled-back change
tells nobody). Each handler runs in a fresh app context, so it has its own database session: the
committing session may emit no more SQL at that point. A failing handler is logged and does not
undo the committed change; every job a handler enqueues is safe to re-run, and the periodic jobs
pick up what a lost one left.

Handlers are registered with `@subscribe(EventType)` in one module, `marketplace.handlers`,
which is also the only module that enqueues background jobs. Events are plain frozen dataclasses
of ids and values (no ORM objects): a handler loads what it needs in its own session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from marketplace.extensions import db

log = logging.getLogger(__name__)

_PENDING = "domain_events"  # key in Session.info


@dataclass(frozen=True)
class Event:
    """Base of every domain event."""


# ---------------------------------------------------------------- rounds


@dataclass(frozen=True)
class RoundMoved(Event):
    """A round changed phase, by the coordinator (`actor_id`) or a deadline (`by_deadline`)."""

    round_id: int
    source: str  # RoundPhase values
    target: str
    actor_id: int | None = None
    by_deadline: bool = False


@dataclass(frozen=True)
class PoolingRunStarted(Event):
    run_id: int
    round_id: int


@dataclass(frozen=True)
class LotsPublished(Event):
    """The coordinator published a pooling run's lots: the round is in tendering."""

    round_id: int
    pooling_run_id: int


@dataclass(frozen=True)
class AwardScenarioStarted(Event):
    scenario_id: int
    round_id: int


@dataclass(frozen=True)
class AwardPublished(Event):
    """The coordinator published an award scenario: the round is awarded."""

    round_id: int
    scenario_id: int


# ---------------------------------------------------------------- demand and bids


@dataclass(frozen=True)
class DemandCommitted(Event):
    """A fleet committed demand lines (with their deposits held, when payments are on)."""

    round_id: int
    organization_id: int
    line_ids: tuple[int, ...]


@dataclass(frozen=True)
class BidSubmitted(Event):
    """An OEM submitted or revised a bid on one lot (`revision` 1 is the first)."""

    round_id: int
    lot_id: int
    bid_id: int
    organization_id: int
    revision: int


@dataclass(frozen=True)
class BidWithdrawn(Event):
    round_id: int
    lot_id: int
    bid_id: int
    organization_id: int


@dataclass(frozen=True)
class PackageSubmitted(Event):
    round_id: int
    package_id: int
    organization_id: int
    revision: int


@dataclass(frozen=True)
class PackageWithdrawn(Event):
    round_id: int
    package_id: int
    organization_id: int


# ---------------------------------------------------------------- contracting and deposits


@dataclass(frozen=True)
class AllocationDecided(Event):
    """A fleet confirmed or declined one of its allocations."""

    allocation_id: int
    round_id: int
    demand_line_id: int
    fleet_id: int  # organization ids
    oem_id: int
    confirmed: bool


@dataclass(frozen=True)
class BackupPromoted(Event):
    """A coordinator promoted a backup: a winner's allocations in a lot were withdrawn, the backup's offered."""

    backup_id: int
    round_id: int
    line_ids: tuple[int, ...]  # demand lines whose allocations were taken back


@dataclass(frozen=True)
class BackupAnswered(Event):
    """A backup supplier accepted (its allocations wait for the fleets) or refused its part of a promoted backup."""

    backup_id: int
    round_id: int
    organization_id: int  # the backup supplier
    accepted: bool
    line_ids: tuple[int, ...]


@dataclass(frozen=True)
class DepositDecided(Event):
    """The round's outcome decided what becomes of a deposit (capture, release, refund, forfeit).

    `settle` is False when the use case carries the outcome out itself right after its commit.
    """

    deposit_id: int
    round_id: int
    organization_id: int
    outcome: str  # DepositOutcome value
    settle: bool = True


@dataclass(frozen=True)
class DepositContradicted(Event):
    """A Stripe event contradicted the ledger: Stripe must be asked for the payment's state."""

    deposit_id: int


@dataclass(frozen=True)
class StripeEventReceived(Event):
    """A verified webhook event was recorded (`stripe_event_id` is our row id)."""

    stripe_event_id: int


@dataclass(frozen=True)
class SettlementAsked(Event):
    """A coordinator asked to settle a round's deposits by its outcome now."""

    round_id: int
    actor_id: int | None


# ---------------------------------------------------------------- organizations


@dataclass(frozen=True)
class OrganizationRegistered(Event):
    """A fleet or OEM registered itself and waits for a coordinator's approval."""

    organization_id: int


@dataclass(frozen=True)
class OrganizationDecided(Event):
    """A coordinator approved (or rejected) a self-registered organization."""

    organization_id: int
    approved: bool
    actor_id: int | None


@dataclass(frozen=True)
class DepositChanged(Event):
    """A deposit's ledger state changed (held, failed, captured, released, ...), at `at` (ISO instant)."""

    deposit_id: int
    round_id: int
    organization_id: int
    state: str  # DepositState value
    at: str


# ---------------------------------------------------------------- clarifications


@dataclass(frozen=True)
class ClarificationAsked(Event):
    clarification_id: int
    round_id: int


@dataclass(frozen=True)
class ClarificationAnswered(Event):
    """The coordinator answered a question: published to the round's participants without the asker."""

    clarification_id: int
    round_id: int


@dataclass(frozen=True)
class NoticesToMail(Event):
    """Notices were written that are to be mailed now (marketplace.notifications)."""

    notice_ids: tuple[int, ...]


# ---------------------------------------------------------------- recording and dispatch

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]
_HANDLERS: dict[type[Event], list[Handler]] = {}


def subscribe(*kinds: type[Event]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Register a handler of these event types (in `marketplace.handlers`)."""

    def register(handler: Callable[[E], None]) -> Callable[[E], None]:
        for kind in kinds:
            _HANDLERS.setdefault(kind, []).append(handler)
        return handler

    return register


def handlers_of(kind: type[Event]) -> list[Handler]:
    return list(_HANDLERS.get(kind, ()))


def record(event: Event) -> None:
    """Tell the handlers about `event` once the current transaction commits (never if it rolls back)."""
    db.session.info.setdefault(_PENDING, []).append(event)


def pending() -> list[Event]:
    """The events waiting for the current transaction's commit (a use case may amend its own)."""
    return db.session.info.setdefault(_PENDING, [])


def dispatch(events: list[Event]) -> None:
    """Run every handler of each event, in order, each in a fresh app context; failures are logged."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for event in events:
        for handler in _HANDLERS.get(type(event), ()):
            try:
                with app.app_context():
                    handler(event)
            except Exception:  # the change is committed; jobs are re-runnable and the sweeps catch up
                log.exception("handler %s of %r failed", getattr(handler, "__name__", handler), event)


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    events = session.info.pop(_PENDING, None)
    if events and has_app_context():
        dispatch(events)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
