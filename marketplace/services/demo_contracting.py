"""The demo's contracting round after bids closed: two scenarios, one published, confirmations half answered,
and one winner dropping out with its backup stepping in (services.demo builds the rest)."""

from __future__ import annotations

import random

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import Round, RoundPhase, User
from marketplace.services import rounds

# The solver stops on its deterministic work budget (the same award and backups on any machine); the clock is
# only a safety cap, wide enough that a loaded machine (CI, tests in parallel) does not cut the search short.
TIME_LIMIT = 120


def award_and_confirm(rnd: Round, coordinator: User, rng: random.Random, drops_out: str) -> None:
    """Two scenarios computed now, the round's rules published, confirmations opened, some answered;
    then the OEM named `drops_out` (else any winner with a backup) drops out of one lot."""
    from marketplace.models import Allocation
    from marketplace.services import award, contracting

    first = award.start_scenario(rnd.id, coordinator, award.ScenarioRules(name="Round rules", time_limit=TIME_LIMIT))
    award.execute_scenario(first.id)
    second = award.start_scenario(
        rnd.id, coordinator,
        award.ScenarioRules(name="One winner per lot", max_winners_per_lot=1, time_limit=TIME_LIMIT),
    )  # fmt: skip
    award.execute_scenario(second.id)
    award.publish_scenario(
        first.id, coordinator, reason="The most vehicles the OEMs' capacities and the round's winner limit allow."
    )
    rounds.transition(rnd.id, RoundPhase.CONTRACTING, coordinator)
    allocations = (
        db.session.execute(sa.select(Allocation).where(Allocation.scenario_id == first.id).order_by(Allocation.id))
        .scalars()
        .all()
    )
    for allocation in allocations[: len(allocations) // 2]:  # half the fleets have answered already
        fleet_user = allocation.demand_line.organization.users[0]
        contracting.decide(allocation.id, rng.random() < 0.85, fleet_user)
    _promote_a_backup(rnd, coordinator, drops_out)


def _promote_a_backup(rnd: Round, coordinator: User, drops_out: str) -> None:
    """A winner drops out and its backup (as the solver computed it) steps in; the fleets have yet to re-confirm."""
    from marketplace.models import Organization
    from marketplace.services import backups

    _, views = backups.overview(rnd.id, coordinator)
    candidates = [v for v in views if not v.blocked and v.replaceable]
    if not candidates:
        return  # the award has no backup that can step in: nothing to promote

    # The ramping manufacturer drops out where its backup replaces the most vehicles (else any winner does);
    # the overview's order (lot code, supplier) breaks ties.
    chosen = min(
        enumerate(candidates), key=lambda iv: (iv[1].backup.withdrawn.name != drops_out, -iv[1].replaceable, iv[0])
    )[1]
    backups.promote(
        rnd.id, chosen.backup.id, "withdrew",
        "The manufacturer cannot ramp up its plant in time for these deliveries.", coordinator,
    )  # fmt: skip
    for supplier in chosen.suppliers:
        oem_user = db.session.get_one(Organization, supplier.id).users[0]
        backups.answer(chosen.backup.id, True, oem_user)
