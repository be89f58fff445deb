"""What follows a domain event: the one module that subscribes to events and enqueues background jobs.

Services record events (`services.events`) in the transaction that makes the change; after the
commit each handler below runs in its own app context and, where work must follow, enqueues a
job (`marketplace.jobs`). Nothing else enqueues jobs: views and services never do. To follow a
new event, add a handler here (`@subscribe(events.X)`); `create_app` imports this module, so the
web app, the worker and the tests all have the same handlers.
"""

from __future__ import annotations

import sqlalchemy as sa

from marketplace import jobs
from marketplace.extensions import db
from marketplace.models import Deposit, RoundPhase
from marketplace.services import events
from marketplace.services.events import subscribe

# A round in one of these phases settles its deposits by its outcome (services.deposits.settle_round).
SETTLING_PHASES = frozenset(
    p.value for p in (RoundPhase.CANCELLED, RoundPhase.AWARDED, RoundPhase.CLOSED, RoundPhase.DEMAND_CLOSED)
)


@subscribe(events.RoundMoved)
def settle_deposits_of_moved_round(event: events.RoundMoved) -> None:
    if event.target in SETTLING_PHASES:
        jobs.settle_round_job(event.round_id)


@subscribe(events.SettlementAsked)
def settle_deposits_when_asked(event: events.SettlementAsked) -> None:
    jobs.settle_round_job(event.round_id)


@subscribe(events.PoolingRunStarted)
def run_pooling(event: events.PoolingRunStarted) -> None:
    jobs.run_pooling(event.run_id)


@subscribe(events.AwardScenarioStarted)
def run_award(event: events.AwardScenarioStarted) -> None:
    jobs.run_award(event.scenario_id)


@subscribe(events.AllocationDecided)
def settle_deposit_of_decided_line(event: events.AllocationDecided) -> None:
    """A confirmed or declined allocation settles its line's deposit, if the line has one."""
    has_deposit = db.session.execute(
        sa.select(Deposit.id).where(Deposit.demand_line_id == event.demand_line_id)
    ).first()
    if has_deposit is not None:
        jobs.settle_line_job(event.demand_line_id)


def _settle_lines(line_ids: tuple[int, ...]) -> None:
    with_deposit = db.session.execute(
        sa.select(Deposit.demand_line_id).where(Deposit.demand_line_id.in_(line_ids)).order_by(Deposit.demand_line_id)
    ).scalars()
    for line_id in with_deposit:
        jobs.settle_line_job(line_id)


@subscribe(events.BackupPromoted)
def settle_deposits_of_replaced_lines(event: events.BackupPromoted) -> None:
    """Lines a promotion left with nothing live get their deposit back; the others wait (deposits._outcome_rule)."""
    _settle_lines(event.line_ids)


@subscribe(events.BackupAnswered)
def settle_deposits_of_refused_lines(event: events.BackupAnswered) -> None:
    if not event.accepted:
        _settle_lines(event.line_ids)


@subscribe(events.DepositDecided)
def carry_out_deposit_outcome(event: events.DepositDecided) -> None:
    if event.settle:
        jobs.settle_deposit_job(event.deposit_id)


@subscribe(events.DepositContradicted)
def ask_stripe_for_the_truth(event: events.DepositContradicted) -> None:
    jobs.refresh_deposit_job(event.deposit_id)


@subscribe(events.StripeEventReceived)
def apply_stripe_event(event: events.StripeEventReceived) -> None:
    jobs.process_stripe_event(event.stripe_event_id)


# ---------------------------------------------------------------- notices (marketplace.notifications)


def _tell(event: events.Event, kind: str, *, round_id: int | None = None, object_id: int | None = None) -> None:
    """Queue the notices of `kind` for this event; the key is the event itself, so a handler run twice
    for one event (a retry) adds nothing (notice is unique on event key + user)."""
    from marketplace.notifications import service as notices

    jobs.deliver_event(kind, notices.event_key(event), round_id, object_id)


@subscribe(events.RoundMoved)
def tell_members_the_round_moved(event: events.RoundMoved) -> None:
    from marketplace.notifications.service import PHASE_EVENTS

    kind = PHASE_EVENTS.get(event.target)
    if kind is not None:
        _tell(event, kind, round_id=event.round_id)


@subscribe(events.DepositChanged)
def tell_the_fleet_its_deposit_changed(event: events.DepositChanged) -> None:
    if event.state in ("held", "failed", "captured", "released"):
        _tell(event, f"deposit_{event.state}", round_id=event.round_id, object_id=event.deposit_id)


@subscribe(events.OrganizationDecided)
def tell_an_approved_organization(event: events.OrganizationDecided) -> None:
    if event.approved:
        _tell(event, "organization_approved", object_id=event.organization_id)


@subscribe(events.ClarificationAsked)
def tell_coordinators_of_a_question(event: events.ClarificationAsked) -> None:
    _tell(event, "clarification_asked", round_id=event.round_id, object_id=event.clarification_id)


@subscribe(events.ClarificationAnswered)
def tell_participants_the_answer(event: events.ClarificationAnswered) -> None:
    _tell(event, "clarification_answered", round_id=event.round_id, object_id=event.clarification_id)


@subscribe(events.BackupPromoted)
def tell_of_a_promoted_backup(event: events.BackupPromoted) -> None:
    _tell(event, "supplier_withdrew", round_id=event.round_id, object_id=event.backup_id)
    _tell(event, "backup_offered", round_id=event.round_id, object_id=event.backup_id)


@subscribe(events.BackupAnswered)
def tell_fleets_the_backup_answered(event: events.BackupAnswered) -> None:
    _tell(event, "backup_accepted" if event.accepted else "backup_refused", round_id=event.round_id,
          object_id=event.backup_id)  # fmt: skip


@subscribe(events.NoticesToMail)
def mail_the_notices(event: events.NoticesToMail) -> None:
    for notice_id in event.notice_ids:
        jobs.send_notice_mail(notice_id)
