"""The round's life: the phase table, who may move a round, what each move checks and records.

Every change of phase goes through `_move`, which writes the audit entry in the same
transaction. Deadlines are enforced by the server clock (services.clock) to the second: a read
(`load_round`, `visible_rounds`) shows the round in its effective phase and writes nothing; the
stored phase is moved, and audited once, by the periodic job (`advance_due_rounds`) or by the next
write, which locks and loads the round through `lock`. So a deadline takes effect whether or not
anyone clicks, and reading a page never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value

from marketplace.extensions import db
from marketplace.filters import plural
from marketplace.models import FeedbackRule, LineService, Region, Round, RoundPhase, Segment
from marketplace.services import access, audit, clock, closing, events, values
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict, NotFound, ValidationFailed

P = RoundPhase


@dataclass(frozen=True)
class Transition:
    source: RoundPhase
    target: RoundPhase
    action: str  # the button a coordinator clicks
    style: str = "primary"  # how the button looks: primary, secondary, danger
    # Moves made on a page of their own (choosing what to publish) rather than by a bare button.
    page: str | None = None


_FORWARD = [
    Transition(P.DRAFT, P.DEMAND_OPEN, "Open demand"),
    Transition(P.DEMAND_OPEN, P.DEMAND_CLOSED, "Close demand"),
    Transition(P.DEMAND_CLOSED, P.POOLED, "Run pooling", page="coordinator.pooling_page"),
    Transition(P.POOLED, P.TENDERING, "Publish lots and open bidding", page="coordinator.pooling_page"),
    Transition(P.TENDERING, P.BIDS_CLOSED, "Close bids"),
    Transition(P.BIDS_CLOSED, P.AWARDED, "Compare scenarios and publish the award", page="coordinator.scenarios"),
    Transition(P.AWARDED, P.CONTRACTING, "Open confirmations"),
    Transition(P.CONTRACTING, P.CLOSED, "Close round"),
]
CANCELLABLE = (P.DRAFT, P.DEMAND_OPEN, P.DEMAND_CLOSED, P.POOLED, P.TENDERING, P.BIDS_CLOSED)
TRANSITIONS: dict[tuple[RoundPhase, RoundPhase], Transition] = {(t.source, t.target): t for t in _FORWARD} | {
    (p, P.CANCELLED): Transition(p, P.CANCELLED, "Cancel round", "danger") for p in CANCELLABLE
}

# Phases that end by themselves when a deadline passes: phase -> (deadline attribute, next phase).
DEADLINES: dict[RoundPhase, tuple[str, RoundPhase]] = {
    P.DEMAND_OPEN: ("demand_deadline", P.DEMAND_CLOSED),
    P.TENDERING: ("bid_deadline", P.BIDS_CLOSED),
    P.CONTRACTING: ("confirmation_deadline", P.CLOSED),
}
DEADLINE_LABELS = {
    "demand_deadline": "demand deadline",
    "bid_deadline": "bid deadline",
    "confirmation_deadline": "confirmation deadline",
}


# The phase each deadline ends.
DEADLINE_PHASE: dict[str, RoundPhase] = {attr: phase for phase, (attr, _) in DEADLINES.items()}


def ended_at(rnd: Round, phase: RoundPhase) -> datetime | None:
    """When the round really left `phase`: by a coordinator's move (early) or at its deadline; None while not.

    The one answer to "when did this phase end" that every page and export uses, instead of the
    planned deadline (which an early close makes wrong).
    """
    from marketplace.models import AuditEntry

    entries = db.session.execute(
        sa.select(AuditEntry.at, AuditEntry.before)
        .where(AuditEntry.round_id == rnd.id, AuditEntry.action == "round.transition")
        .order_by(AuditEntry.id)
    ).all()
    for at, before in entries:
        if (before or {}).get("phase") == phase.value:
            attr = DEADLINES[phase][0] if phase in DEADLINES else None
            planned = getattr(rnd, attr) if attr else None
            # A deadline's move may be written after the deadline second (the next read): it ended at the deadline.
            return min(at, planned) if planned is not None else at
    if phase in DEADLINES and rnd.phase is DEADLINES[phase][1]:
        # A reader sees the round past its deadline before the job or a write stores the move.
        planned = getattr(rnd, DEADLINES[phase][0])
        if planned is not None and planned <= clock.now():
            return planned
    return None


def allowed_transitions(rnd: Round) -> list[Transition]:
    """The moves the phase table allows from the round's phase, forward move first."""
    return [t for (source, _), t in TRANSITIONS.items() if source is rnd.phase]


# ---------------------------------------------------------------- loading and deadlines


def load_round(round_id: int) -> Round:
    """The round as a reader sees it: its phase after any passed deadline, computed, nothing written.

    Reads never write: the stored phase is moved (and audited, once) by the periodic job or by the
    next write, which goes through `lock`.
    """
    rnd = _get(round_id)
    show_deadlines(rnd)
    return rnd


def lock(round_id: int) -> Round:
    """The round for a write use case: locked until its transaction ends, read afresh, passed deadlines moved.

    The one place a round is locked and loaded: every write that depends on a round's phase calls it
    first, so writes are serialised with each other, with the coordinator's moves and with the deadline
    job, and a deadline's move is made (and audited) exactly once. A deadline's move is committed at once,
    so it stands whatever happens to the write, and the round is locked again.

    FOR NO KEY UPDATE (not FOR UPDATE): it excludes the other writers all the same, but not the
    foreign-key checks of rows that point at the round (PostgreSQL takes FOR KEY SHARE for those), so a
    reader holding the lock can still store a read model on its side connection (services.read_models).
    """
    rnd = _locked(round_id)
    if apply_deadlines(rnd):
        db.session.commit()  # the deadline's move stands whatever happens to this write
        rnd = _locked(round_id)
    return rnd


def _get(round_id: int) -> Round:
    rnd = db.session.get(Round, round_id)
    if rnd is None:
        raise NotFound("No such round.")
    return rnd


def _locked(round_id: int) -> Round:
    # The locked row is read afresh: a round loaded earlier in the request (a page's own read before a
    # submit, or a reader's computed phase) may differ from the row now.
    query = (
        sa.select(Round)
        .where(Round.id == round_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    rnd = db.session.execute(query).scalar_one_or_none()
    if rnd is None:
        raise NotFound("No such round.")
    return rnd


def _passed(rnd: Round, at: datetime) -> tuple[str, RoundPhase, datetime] | None:
    """The deadline of the round's phase if it has passed at `at`: (attribute, next phase, deadline)."""
    if rnd.phase not in DEADLINES:
        return None
    attr, target = DEADLINES[rnd.phase]
    deadline: datetime | None = getattr(rnd, attr)
    if deadline is None or at < deadline:
        return None
    return attr, target, deadline


def effective_phase(rnd: Round, at: datetime | None = None) -> RoundPhase:
    """The phase the round is in at `at` (now): its stored phase, or the next one once its deadline passed."""
    passed = _passed(rnd, at or clock.now())
    return passed[1] if passed else rnd.phase


def show_deadlines(rnd: Round, at: datetime | None = None) -> Round:
    """Show a reader the round in its effective phase, without writing anything.

    The loaded object takes the phase (and the time it changed) as if read from the row, so the
    session has nothing to flush and the read commits nothing; `lock` reads the row afresh.
    """
    passed = _passed(rnd, at or clock.now())
    if passed is not None and not inspect(rnd).modified:
        set_committed_value(rnd, "phase", passed[1])
        set_committed_value(rnd, "phase_changed_at", passed[2])
    return rnd


def apply_deadlines(rnd: Round, at: datetime | None = None) -> bool:
    """Move the round on if its phase's deadline has passed (at the deadline second it is closed).

    Adds the change and its audit entry to the session without committing; returns whether
    the round moved. Write paths call it through `lock`, which holds the round's lock.
    """
    at = at or clock.now()
    moved = False
    while (passed := _passed(rnd, at)) is not None:
        attr, target, deadline = passed
        _move(
            rnd,
            target,
            None,
            deadline,
            summary=f"The {DEADLINE_LABELS[attr]} passed ({deadline:%Y-%m-%d %H:%M:%S} UTC).",
        )
        moved = True
    return moved


def advance_due_rounds() -> list[int]:
    """Move every round whose deadline passed (the periodic job and `flask advance-deadlines`). Returns moved ids."""
    at = clock.now()
    conditions = [sa.and_(Round.phase == phase, getattr(Round, attr) <= at) for phase, (attr, _) in DEADLINES.items()]
    due = db.session.execute(sa.select(Round.id).where(sa.or_(*conditions)).order_by(Round.id)).scalars().all()
    moved = []
    for round_id in due:
        rnd = _locked(round_id)
        if apply_deadlines(rnd, at):
            moved.append(round_id)
        db.session.commit()
    return moved


def require_phase(rnd: Round, *phases: RoundPhase, doing: str) -> None:
    """Refuse a write that the round's phase (after deadlines, to the second) does not allow. Writes nothing."""
    phase = effective_phase(rnd)
    if phase not in phases:
        allowed = " or ".join(f"“{p.label}”" for p in phases)
        raise Conflict(f"You cannot {doing} now: the round is in phase “{phase.label}”, not {allowed}.")


# ---------------------------------------------------------------- transitions


def transition(
    round_id: int, target: RoundPhase | str, actor: Actor | None, *, decline_pending_reason: str | None = None
) -> Round:
    """Move a round to `target` if the phase table allows it; one audit entry, one commit.

    Closing a round before its confirmation deadline while allocations are still pending needs
    `decline_pending_reason`: the coordinator's explicit choice to treat them as declined.
    """
    access.require_coordinator(actor)
    try:
        target = RoundPhase(target)
    except ValueError:
        raise ValidationFailed(f"“{target}” is not a phase of a round.") from None
    rnd = lock(round_id)
    at = clock.now()
    step = TRANSITIONS.get((rnd.phase, target))
    if step is None:
        allowed = ", ".join(f"“{t.target.label}”" for t in allowed_transitions(rnd)) or "none"
        raise Conflict(
            f"A round in phase “{rnd.phase.label}” cannot move to “{target.label}”. Allowed from here: {allowed}."
        )
    _check_preconditions(rnd, target, at)
    reason = (decline_pending_reason or "").strip()
    if target is P.CLOSED:
        _check_pending(rnd, at, reason)
    _move(rnd, target, actor, at, summary=f"{step.action}.", decline_reason=reason or None)
    db.session.commit()
    return rnd


def _check_pending(rnd: Round, at: datetime, reason: str) -> None:
    """Before the confirmation deadline, pending allocations block closing unless declined with a reason."""
    count, vehicles = closing.pending_of(rnd)
    if not count:
        return
    if rnd.confirmation_deadline is not None and at >= rnd.confirmation_deadline:
        return  # a lapse is a decline
    if not reason:
        raise Conflict(
            f"The round cannot close: {count:,} {plural(count, 'allocation')} ({vehicles:,} "
            f"{plural(vehicles, 'vehicle')}) {'is' if count == 1 else 'are'} still pending before the confirmation "
            "deadline. Wait for the "
            "fleets to decide, or choose to treat them as declined and give the reason."
        )
    if len(reason) > 500:
        raise ValidationFailed("The reason is too long.", field_errors={"reason": "Use at most 500 characters."})


def move(rnd: Round, target: RoundPhase, actor: Actor | None, *, summary: str) -> None:
    """A move made by another use case (a pooling run succeeding, a run published) inside its transaction.

    Checks the phase table and the move's preconditions like `transition`; the caller holds
    the round's lock and commits.
    """
    if (rnd.phase, target) not in TRANSITIONS:
        raise Conflict(f"A round in phase “{rnd.phase.label}” cannot move to “{target.label}”.")
    at = clock.now()
    _check_preconditions(rnd, target, at)
    _move(rnd, target, actor, at, summary=summary)


@dataclass(frozen=True)
class Missing:
    """What a move still needs, and where a coordinator fixes it: "settings", "pooling", "scenarios" or None."""

    text: str
    fix: str | None = None


def missing_for(rnd: Round, target: RoundPhase, at: datetime | None = None) -> list[Missing]:
    """Everything the move to `target` still needs (an empty list: the move can be made)."""
    at = at or clock.now()
    # Settings can be edited in draft only; later a passed deadline has no fix but a new round.
    settings = "settings" if rnd.phase is P.DRAFT else None
    problems: list[Missing] = []
    if target is P.DEMAND_OPEN:
        if not rnd.segments:
            problems.append(Missing("choose at least one segment in scope", settings))
        if not rnd.regions:
            problems.append(Missing("choose at least one region in scope", settings))
        if rnd.demand_deadline is None:
            problems.append(Missing("set a demand deadline", settings))
        elif rnd.demand_deadline <= at:
            problems.append(Missing("the demand deadline has already passed: set a later one", settings))
    elif target is P.POOLED:
        from marketplace.models import PoolingRun, RunStatus

        succeeded = db.session.execute(
            sa.select(PoolingRun.id).where(PoolingRun.round_id == rnd.id, PoolingRun.status == RunStatus.SUCCEEDED)
        ).first()
        if succeeded is None:
            problems.append(Missing("run pooling first: the round needs a pooling run that succeeded", "pooling"))
    elif target is P.TENDERING:
        if rnd.published_pooling_run_id is None:
            problems.append(Missing("choose the pooling run to publish on the round's pooling page", "pooling"))
        if rnd.bid_deadline is None:
            problems.append(Missing("set a bid deadline", settings))
        elif rnd.bid_deadline <= at:
            problems.append(Missing("the bid deadline has already passed: set a later one", settings))
    elif target is P.AWARDED and rnd.published_scenario_id is None:
        problems.append(Missing("choose the award scenario to publish on the round's scenarios page", "scenarios"))
    elif target is P.CONTRACTING and rnd.confirmation_deadline is not None and rnd.confirmation_deadline <= at:
        problems.append(Missing("the confirmation deadline has already passed: set a later one", settings))
    return problems


def _check_preconditions(rnd: Round, target: RoundPhase, at: datetime) -> None:
    problems = missing_for(rnd, target, at)
    if problems:
        raise Conflict(f"The round cannot move to “{target.label}”: " + "; ".join(p.text for p in problems) + ".")


def _move(
    rnd: Round,
    target: RoundPhase,
    actor: Actor | None,
    at: datetime,
    *,
    summary: str,
    decline_reason: str | None = None,
) -> None:
    before = {"phase": rnd.phase.value}
    if target is P.CLOSED:
        # No closed round keeps undecided allocations: a lapse at the deadline, or the coordinator's choice, is a decline.
        declined = closing.decline_pending(
            rnd, actor, at, reason=decline_reason or "not confirmed by the confirmation deadline"
        )
        if declined:
            summary = (
                f"{summary} {declined:,} pending {plural(declined, 'allocation')} treated as declined: "
                + (decline_reason or "not confirmed by the confirmation deadline")
                + "."
            )
    else:
        declined = 0
    rnd.phase = target
    rnd.phase_changed_at = at
    after: dict[str, Any] = {"phase": target.value}
    if declined:
        after["pending_declined"] = declined
        after["reason"] = decline_reason or "not confirmed by the confirmation deadline"
    if target is P.CONTRACTING and rnd.confirmation_deadline is None:
        rnd.confirmation_deadline = at + timedelta(days=rnd.confirmation_period_days)
        after["confirmation_deadline"] = rnd.confirmation_deadline.isoformat()
    audit.record(actor, "round.transition", rnd, summary=summary, before=before, after=after, round_id=rnd.id)
    # Deposits follow the outcome, in a job after the commit (marketplace.handlers).
    events.record(
        events.RoundMoved(
            rnd.id, before["phase"], target.value, actor_id=actor.id if actor else None, by_deadline=actor is None
        )
    )


# ---------------------------------------------------------------- setting a round up


@dataclass
class RoundSettings:
    """What a coordinator sets in draft. Deadlines are aware datetimes (converted from the user's zone)."""

    name: str
    description: str = ""
    segment_ids: list[str] | None = None
    region_ids: list[str] | None = None
    demand_deadline: datetime | None = None
    bid_deadline: datetime | None = None
    confirmation_deadline: datetime | None = None
    confirmation_period_days: int = 14
    min_lot_quantity: int = 20
    max_lot_quantity: int = 400
    max_levels_up: int = 2
    max_winners_per_lot: int = 2
    max_share_per_supplier: Decimal = Decimal("1")
    line_service: str = "whole"
    currency: str = "USD"
    deposit_per_vehicle: Decimal = Decimal("0")
    decline_forfeit_percent: Decimal = Decimal("100")
    withdrawal_forfeit_percent: Decimal = Decimal("0")
    feedback_rule: str = "won_lost"


def _validate_settings(s: RoundSettings, *, round_id: int | None) -> tuple[list[Segment], list[Region]]:
    """Check every rule at once; raise ValidationFailed naming each field that breaks one."""
    errors: dict[str, str] = {}
    name = values.text_field(s.name, errors, "name", max_length=values.NAME_MAX)  # no NUL: PostgreSQL cannot compare it
    values.text_field(s.description, errors, "description", max_length=values.DESCRIPTION_MAX, multiline=True)
    clash = sa.select(Round.id).where(Round.name == name, Round.id != (round_id or -1))
    if not name and "name" not in errors:
        errors["name"] = "Give the round a name."
    elif name and db.session.execute(clash).first():
        errors["name"] = "Another round already has this name."
    segments = list(db.session.execute(sa.select(Segment).where(Segment.id.in_(s.segment_ids or []))).scalars())
    if len(segments) != len(set(s.segment_ids or [])):
        errors["segment_ids"] = "Unknown segment."
    regions = list(db.session.execute(sa.select(Region).where(Region.id.in_(s.region_ids or []))).scalars())
    if len(regions) != len(set(s.region_ids or [])):
        errors["region_ids"] = "Unknown region."
    if s.min_lot_quantity < 1:
        errors["min_lot_quantity"] = "Must be at least 1 vehicle."
    if s.max_lot_quantity < s.min_lot_quantity:
        errors["max_lot_quantity"] = "Must be at least the minimum lot size."
    if not 0 <= s.max_levels_up <= 3:
        errors["max_levels_up"] = "Must be between 0 and 3 levels."
    if s.max_winners_per_lot < 1:
        errors["max_winners_per_lot"] = "At least one supplier must be able to win a lot."
    if not Decimal("0") < s.max_share_per_supplier <= Decimal("1"):
        errors["max_share_per_supplier"] = "Must be above 0 and at most 1 (100 %)."
    if s.line_service not in {m.value for m in LineService}:
        errors["line_service"] = "Choose whole or split."
    if s.feedback_rule not in {m.value for m in FeedbackRule}:
        errors["feedback_rule"] = "Choose what OEMs are told after the award from the list."
    if s.currency not in values.CURRENCY_DIGITS:
        errors["currency"] = "Choose a currency from the list: " + ", ".join(values.CURRENCIES) + "."
    if not s.deposit_per_vehicle.is_finite() or s.deposit_per_vehicle < 0:
        errors["deposit_per_vehicle"] = "Must be zero or more."
    elif s.deposit_per_vehicle >= values.MONEY_MAX:
        errors["deposit_per_vehicle"] = f"Must be below {values.MONEY_MAX:,} {s.currency}."
    elif s.currency in values.CURRENCY_DIGITS and (
        problem := values.check_minor_unit(s.deposit_per_vehicle, s.currency)
    ):
        # Known here, not first when a fleet commits: a JPY deposit with cents cannot be held.
        errors["deposit_per_vehicle"] = problem[0].upper() + problem[1:] + "."
    for field in ("decline_forfeit_percent", "withdrawal_forfeit_percent"):
        if not Decimal("0") <= getattr(s, field) <= Decimal("100"):
            errors[field] = "Must be between 0 and 100 %."
    if s.confirmation_period_days < 1:
        errors["confirmation_period_days"] = "Must be at least one day."
    at = clock.now()
    for field in ("demand_deadline", "bid_deadline", "confirmation_deadline"):
        value = getattr(s, field)
        if value is not None and value <= at:
            errors[field] = "This time has already passed: choose a later one."
    if s.demand_deadline and s.bid_deadline and s.bid_deadline <= s.demand_deadline:
        errors.setdefault("bid_deadline", "Must be after the demand deadline.")
    if s.bid_deadline and s.confirmation_deadline and s.confirmation_deadline <= s.bid_deadline:
        errors.setdefault("confirmation_deadline", "Must be after the bid deadline.")
    if errors:
        raise ValidationFailed("The round has problems: fix the fields marked below.", field_errors=errors)
    return segments, regions


def _snapshot(rnd: Round) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in RoundSettings.__dataclass_fields__:
        if field == "segment_ids":
            data[field] = [s.id for s in rnd.segments]
        elif field == "region_ids":
            data[field] = [r.id for r in rnd.regions]
        else:
            value = getattr(rnd, field)
            if isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, LineService | FeedbackRule):
                value = value.value
            data[field] = value
    return data


def _apply_settings(rnd: Round, s: RoundSettings, segments: list[Segment], regions: list[Region]) -> None:
    for field in RoundSettings.__dataclass_fields__:
        if field in ("segment_ids", "region_ids"):
            continue
        value = getattr(s, field)
        if field == "line_service":
            value = LineService(value)
        elif field == "feedback_rule":
            value = FeedbackRule(value)
        elif field == "name":
            value = value.strip()
        setattr(rnd, field, value)
    rnd.segments = sorted(segments, key=lambda x: x.id)
    rnd.regions = sorted(regions, key=lambda x: x.id)


def create_round(settings: RoundSettings, actor: Actor) -> Round:
    access.require_coordinator(actor)
    segments, regions = _validate_settings(settings, round_id=None)
    rnd = Round(phase=P.DRAFT)
    _apply_settings(rnd, settings, segments, regions)
    db.session.add(rnd)
    db.session.flush()
    audit.record(
        actor, "round.create", rnd, summary=f"Created round “{rnd.name}”.", after=_snapshot(rnd), round_id=rnd.id
    )
    db.session.commit()
    return rnd


def update_round(round_id: int, settings: RoundSettings, actor: Actor) -> Round:
    """Change a round's settings; only in draft, because rules are frozen once demand opens."""
    access.require_coordinator(actor)
    rnd = lock(round_id)
    if rnd.phase is not P.DRAFT:
        raise Conflict(
            f"The rules of a round are frozen once demand opens (this one is “{rnd.phase.label}”): "
            "create a new round to change them."
        )
    segments, regions = _validate_settings(settings, round_id=round_id)
    before = _snapshot(rnd)
    _apply_settings(rnd, settings, segments, regions)
    after = _snapshot(rnd)
    changed = {k for k in after if after[k] != before[k]}
    if changed:
        audit.record(
            actor,
            "round.update",
            rnd,
            summary="Changed " + ", ".join(sorted(changed)) + ".",
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
            round_id=rnd.id,
        )
    db.session.commit()
    return rnd


def settings_of(rnd: Round) -> RoundSettings:
    """The round's current settings, e.g. to prefill the edit form."""
    return RoundSettings(
        **{
            f: getattr(rnd, f)
            for f in RoundSettings.__dataclass_fields__
            if f not in ("segment_ids", "region_ids", "line_service", "feedback_rule")
        },
        segment_ids=[s.id for s in rnd.segments],
        region_ids=[r.id for r in rnd.regions],
        line_service=rnd.line_service.value,
        feedback_rule=rnd.feedback_rule.value,
    )


def visible_rounds(actor: Actor) -> list[Round]:
    """Rounds a user may see listed, each in its effective phase: a coordinator sees all, others every round past draft."""
    at = clock.now()
    return [show_deadlines(rnd, at) for rnd in db.session.execute(access.visible_rounds_query(actor)).scalars()]
