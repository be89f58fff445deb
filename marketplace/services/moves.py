"""What a coordinator's move will do, in numbers, before it is made (the confirmation step).

`preview` answers for every move of the phase table (and for publishing a pooling run or an award
scenario): what is still missing, and the consequences (lines, vehicles, allocations, deposits to
release, capture or forfeit). The confirmation pages show it; the moves themselves stay in
services.rounds, services.pooling and services.award, which re-check everything when they run.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.filters import money
from marketplace.gateways import share_of
from marketplace.models import (
    Allocation,
    AwardScenario,
    ConfirmationStatus,
    DemandLine,
    DemandStatus,
    Deposit,
    DepositState,
    Lot,
    LotMember,
    PoolingRun,
    Round,
    RoundPhase,
    UnservedLine,
)
from marketplace.services import access, award, clock, rounds
from marketplace.services.access import Actor
from marketplace.services.errors import NotFound
from marketplace.services.rounds import Missing, plural

P = RoundPhase


@dataclass
class Preview:
    round: Round
    target: RoundPhase
    action: str
    facts: list[str] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    pending_allocations: int = 0
    pending_vehicles: int = 0
    # Closing early with pending allocations: only by treating them as declined, with a reason.
    must_decline_pending: bool = False
    # Publishing an award that serves nobody or leaves servable lines unserved: why a reason is needed.
    reason_needed: str | None = None

    @property
    def possible(self) -> bool:
        return not self.missing


def _n(count: int, word: str) -> str:
    return f"{count:,} {plural(count, word)}"


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    hours = rest // 3600
    if days:
        return f"{_n(days, 'day')}" + (f" {_n(hours, 'hour')}" if hours else "")
    if hours:
        return _n(hours, "hour")
    return _n(max(1, rest // 60), "minute")


def _early(deadline: datetime | None, at: datetime, what: str) -> str:
    if deadline is None:
        return f"{what} now (no deadline was set)."
    if deadline > at:
        return f"{what} now, {_duration((deadline - at).total_seconds())} before the planned deadline."
    return f"{what} now."


def _held(round_id: int, line_ids: set[int] | None = None) -> list[Deposit]:
    query = sa.select(Deposit).where(Deposit.round_id == round_id, Deposit.state == DepositState.HELD)
    found = list(db.session.execute(query.order_by(Deposit.id)).scalars())
    return [d for d in found if line_ids is None or d.demand_line_id in line_ids]


def _deposits_fact(deps: list[Deposit], what: str, currency: str) -> str | None:
    if not deps:
        return None
    total = sum((d.held_amount for d in deps), Decimal(0))
    verb = "is" if len(deps) == 1 else "are"
    return f"{_n(len(deps), 'deposit')} held ({money(total, currency)}) {what.format(verb=verb)}."


def _committed(rnd: Round) -> tuple[int, int, int]:
    lines, vehicles, fleets = db.session.execute(
        sa.select(
            sa.func.count(DemandLine.id),
            sa.func.coalesce(sa.func.sum(DemandLine.quantity), 0),
            sa.func.count(sa.distinct(DemandLine.organization_id)),
        ).where(DemandLine.round_id == rnd.id, DemandLine.status == DemandStatus.COMMITTED)
    ).one()
    return int(lines), int(vehicles), int(fleets)


Chosen = TypeVar("Chosen", PoolingRun, AwardScenario)


def _chosen(
    rnd: Round, model: type[Chosen], chosen_id: int | None, published_id: int | None, what: str
) -> Chosen | None:
    """The pooling run or scenario a publish is about: the one chosen, else the round's published one;
    None when there is neither. One of another round is no such thing."""
    found_id = chosen_id if chosen_id is not None else published_id
    if found_id is None:
        return None
    found = db.session.get(model, found_id)
    if found is None or found.round_id != rnd.id:
        raise NotFound(f"No such {what}.")
    return found


def preview(
    round_id: int,
    target: RoundPhase | str,
    actor: Actor | None,
    *,
    run_id: int | None = None,
    scenario_id: int | None = None,
) -> Preview:
    """The consequences of moving the round to `target` now (publishing `run_id` or `scenario_id` if given)."""
    access.require_coordinator(actor)
    target = RoundPhase(target)
    rnd = rounds.load_round(round_id)
    at = clock.now()
    step = rounds.TRANSITIONS.get((rnd.phase, target))
    p = Preview(rnd, target, step.action if step else f"Move to “{target.label}”")
    if step is None:
        p.missing.append(Missing(f"a round in phase “{rnd.phase.label}” cannot move to “{target.label}”"))
        return p
    cur = rnd.currency
    if target is P.DEMAND_OPEN:
        p.missing = rounds.missing_for(rnd, target, at)
        p.facts += [
            f"Fleets can post and commit demand in {_n(len(rnd.segments), 'segment')} and "
            f"{_n(len(rnd.regions), 'region')} until the demand deadline.",
            "The round's rules are frozen from now on: to change them, create a new round.",
        ]
    elif target is P.DEMAND_CLOSED:
        lines, vehicles, fleets = _committed(rnd)
        drafts, draft_vehicles = db.session.execute(
            sa.select(sa.func.count(DemandLine.id), sa.func.coalesce(sa.func.sum(DemandLine.quantity), 0)).where(
                DemandLine.round_id == rnd.id, DemandLine.status == DemandStatus.DRAFT
            )
        ).one()
        p.facts.append(_early(rnd.demand_deadline, at, "Demand closes"))
        p.facts.append(
            f"{_n(lines, 'committed line')} ({_n(vehicles, 'vehicle')}) from {_n(fleets, 'fleet')} "
            f"{'goes' if lines == 1 else 'go'} to pooling."
        )
        if drafts:
            p.facts.append(
                f"{_n(int(drafts), 'draft line')} ({_n(int(draft_vehicles), 'vehicle')}) not committed "
                f"{'stays' if drafts == 1 else 'stay'} out; "
                "their unpaid deposits are closed."
            )
        p.facts.append("Fleets can no longer add, change or withdraw demand in this round.")
    elif target is P.TENDERING:
        run = _chosen(rnd, PoolingRun, run_id, rnd.published_pooling_run_id, "pooling run")
        if run is None:
            p.missing = rounds.missing_for(rnd, target, at)
            return p
        rnd.published_pooling_run_id, saved = run.id, rnd.published_pooling_run_id
        p.missing = rounds.missing_for(rnd, target, at)
        rnd.published_pooling_run_id = saved
        db.session.expire(rnd, ["published_pooling_run_id"])
        if run.status.value != "succeeded":
            p.missing.append(
                Missing(f"pooling run #{run.id} has not succeeded: only a finished run can be published", "pooling")
            )
        elif run.lot_count == 0:
            p.missing.append(Missing(f"pooling run #{run.id} has no lots: there is nothing to tender", "pooling"))
        pooled_lines = db.session.execute(
            sa.select(sa.func.count(sa.distinct(LotMember.demand_line_id)))
            .join(Lot, Lot.id == LotMember.lot_id)
            .where(Lot.pooling_run_id == run.id)
        ).scalar_one()
        lines, vehicles, _ = _committed(rnd)
        p.facts += [
            f"Every OEM sees {_n(run.lot_count, 'lot')} holding {_n(run.pooled_quantity, 'vehicle')} "
            f"of the {vehicles:,} committed ({_n(int(pooled_lines), 'line')} of {lines:,}).",
            f"{_n(max(0, lines - int(pooled_lines)), 'committed line')} in no lot: not tendered.",
            "Bidding is open until the bid deadline; the lots cannot change afterwards.",
        ]
    elif target is P.BIDS_CLOSED:
        lots, vehicles = db.session.execute(
            sa.select(sa.func.count(Lot.id), sa.func.coalesce(sa.func.sum(Lot.quantity), 0)).where(
                Lot.pooling_run_id == rnd.published_pooling_run_id
            )
        ).one()
        p.facts += [
            _early(rnd.bid_deadline, at, "Bidding ends"),
            f"OEMs can no longer bid on, change or withdraw bids for {_n(int(lots), 'lot')} "
            f"({_n(int(vehicles), 'vehicle')}).",
        ]
    elif target is P.AWARDED:
        p.action = "Publish the award"
        scenario = _chosen(rnd, AwardScenario, scenario_id, rnd.published_scenario_id, "award scenario")
        if scenario is None:
            p.missing = rounds.missing_for(rnd, target, at)
            return p
        if scenario.status.value != "succeeded":
            p.missing.append(Missing(f"scenario “{scenario.name}” has not finished", "scenarios"))
            return p
        figures = award.figures(rnd, scenario)
        served = set(
            db.session.execute(
                sa.select(Allocation.demand_line_id).where(Allocation.scenario_id == scenario.id)
            ).scalars()
        )
        allocations = db.session.execute(
            sa.select(sa.func.count(Allocation.id)).where(Allocation.scenario_id == scenario.id)
        ).scalar_one()
        unserved = list(
            db.session.execute(sa.select(UnservedLine).where(UnservedLine.scenario_id == scenario.id)).scalars()
        )
        servable = award.servable_unserved(scenario)
        p.facts.append(
            f"{_n(figures.awarded, 'vehicle')} of {figures.demanded:,} awarded for {money(figures.total_price, cur)} "
            f"in {_n(int(allocations), 'allocation')} to {_n(figures.suppliers, 'supplier')}."
        )
        p.facts.append(f"{_n(len(served), 'line')} served; {_n(len(unserved), 'line')} not (fully) served.")
        if servable:
            vehicles = sum(u.quantity for u in servable)
            p.facts.append(
                f"{_n(len(servable), 'line')} ({_n(vehicles, 'vehicle')}) that some bid could serve "
                f"{'is' if len(servable) == 1 else 'are'} left unserved."
            )
        lines_in_lots = set(
            db.session.execute(
                sa.select(LotMember.demand_line_id)
                .join(Lot, Lot.id == LotMember.lot_id)
                .where(Lot.pooling_run_id == rnd.published_pooling_run_id)
            ).scalars()
        )
        committed = set(
            db.session.execute(
                sa.select(DemandLine.id).where(
                    DemandLine.round_id == rnd.id, DemandLine.status == DemandStatus.COMMITTED
                )
            ).scalars()
        )
        not_awarded = (committed | lines_in_lots) - served
        fact = _deposits_fact(_held(rnd.id, not_awarded), "on lines not awarded {verb} released", cur)
        if fact:
            p.facts.append(fact)
        p.facts.append("Each OEM sees what it won and each fleet its allocations; the award cannot be changed.")
        p.reason_needed = award.reason_needed(scenario, figures.awarded, servable)
    elif target is P.CONTRACTING:
        p.missing = rounds.missing_for(rnd, target, at)
        count, vehicles, fleets = db.session.execute(
            sa.select(
                sa.func.count(Allocation.id),
                sa.func.coalesce(sa.func.sum(Allocation.quantity), 0),
                sa.func.count(sa.distinct(DemandLine.organization_id)),
            )
            .join(DemandLine, DemandLine.id == Allocation.demand_line_id)
            .where(Allocation.scenario_id == rnd.published_scenario_id)
        ).one()
        deadline = rnd.confirmation_deadline
        when = (
            f"until the confirmation deadline ({deadline:%Y-%m-%d %H:%M} UTC)"
            if deadline
            else f"for {_n(rnd.confirmation_period_days, 'day')} (the confirmation period)"
        )
        p.facts += [
            f"{_n(int(fleets), 'fleet')} can confirm or decline {_n(int(count), 'allocation')} "
            f"({_n(int(vehicles), 'vehicle')}) {when}.",
            "An allocation not confirmed by the deadline counts as declined.",
        ]
    elif target is P.CLOSED:
        by_line: dict[int, set[ConfirmationStatus]] = defaultdict(set)
        replaced: set[int] = set()
        counts: dict[ConfirmationStatus, list[int]] = {s: [0, 0] for s in ConfirmationStatus}
        for line_id, state, quantity in db.session.execute(
            sa.select(Allocation.demand_line_id, Allocation.confirmation, Allocation.quantity).where(
                Allocation.scenario_id == rnd.published_scenario_id
            )
        ):
            if state is ConfirmationStatus.WITHDRAWN:
                replaced.add(line_id)  # its supplier dropped out (services.backups): no forfeit on this line
            if not state.live:
                continue
            by_line[line_id].add(state)
            counts[state][0] += 1
            counts[state][1] += quantity
        pending, pending_vehicles = counts[ConfirmationStatus.PENDING]
        p.pending_allocations, p.pending_vehicles = pending, pending_vehicles
        deadline = rnd.confirmation_deadline
        p.must_decline_pending = bool(pending) and (deadline is None or at < deadline)
        p.facts.append(_early(deadline, at, "Confirmations end"))
        for state, label in ((ConfirmationStatus.CONFIRMED, "confirmed"), (ConfirmationStatus.DECLINED, "declined")):
            n, v = counts[state]
            p.facts.append(f"{_n(n, 'allocation')} ({_n(v, 'vehicle')}) {label}.")
        if pending:
            p.facts.append(
                f"{_n(pending, 'allocation')} ({_n(pending_vehicles, 'vehicle')}) still pending will count as declined."
            )
        confirmed_lines = {li for li, states in by_line.items() if ConfirmationStatus.CONFIRMED in states}
        declined_lines = set(by_line) - confirmed_lines - replaced
        released = _held(rnd.id, replaced - confirmed_lines)
        if released:
            p.facts.append(
                f"{_n(len(released), 'deposit')} held ({money(sum((d.held_amount for d in released), Decimal(0)), cur)}) "
                "on lines whose supplier dropped out and that end without a confirmed replacement: released in full."
            )
        capture = _held(rnd.id, confirmed_lines)
        fact = _deposits_fact(capture, "on confirmed lines {verb} captured and applied to the purchase", cur)
        if fact:
            p.facts.append(fact)
        forfeit = _held(rnd.id, declined_lines)
        if forfeit:
            percent = rnd.decline_forfeit_percent
            kept = sum((share_of(d.held_amount, percent, d.currency) for d in forfeit), Decimal(0))
            held = sum((d.held_amount for d in forfeit), Decimal(0))
            p.facts.append(
                f"{_n(len(forfeit), 'deposit')} held ({money(held, cur)}) on declined lines: "
                f"{money(kept, cur)} forfeited ({percent.normalize():f} %), {money(held - kept, cur)} released."
            )
    elif target is P.CANCELLED:
        lines, vehicles, fleets = _committed(rnd)
        p.facts.append(
            f"{_n(lines, 'committed line')} ({_n(vehicles, 'vehicle')}) from {_n(fleets, 'fleet')} "
            f"{'is' if lines == 1 else 'are'} dropped; nothing of this round goes on."
        )
        fact = _deposits_fact(_held(rnd.id), "{verb} released to the fleets", cur)
        if fact:
            p.facts.append(fact)
        charged = list(
            db.session.execute(
                sa.select(Deposit).where(
                    Deposit.round_id == rnd.id, Deposit.state.in_([DepositState.CAPTURED, DepositState.FORFEITED])
                )
            ).scalars()
        )
        if charged:
            total = sum((d.applied_amount + d.forfeited_amount for d in charged), Decimal(0))
            verb = "is" if len(charged) == 1 else "are"
            p.facts.append(f"{_n(len(charged), 'deposit')} already charged ({money(total, cur)}) {verb} refunded.")
        if rnd.published_pooling_run_id is not None:
            p.facts.append("The published lots are withdrawn and every bid stops counting.")
        p.facts.append("A cancelled round cannot be reopened.")
    else:  # POOLED: made by a pooling run succeeding
        p.missing = rounds.missing_for(rnd, target, at)
    return p
