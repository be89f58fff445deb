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
