"""What a fleet sees of the pool: the live progress of each line towards a lot, where its lines
went once lots are published, and the round's next steps.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus, Lot, LotMember, Region, Round, RoundPhase, UnpooledLine
from marketplace.services import rounds
from marketplace.services.demand.quarters import quarter_index, quarter_of_index


@dataclass(frozen=True)
class Progress:
    """How far a line's best possible lot is from the round's minimum lot size (totals only)."""

    total: int  # vehicles in the best lot this line could join, this line included
    own: int  # this line's quantity
    minimum: int  # the round's minimum lot size
    region_id: str | None = None  # where that lot would be
    charging: str | None = None
    quarter: str | None = None

    @property
    def others(self) -> int:
        return self.total - self.own

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.total / self.minimum)) if self.minimum else 100

    @property
    def reached(self) -> bool:
        return self.total >= self.minimum


def _ancestors(parents: dict[str, str | None], region_id: str, levels: int) -> list[str]:
    """The region and up to `levels` nodes above it: the lot regions a line there may join."""
    out = [region_id]
    current: str | None = region_id
    for _ in range(levels):
        current = parents.get(current) if current else None
        if current is None:
            break
        out.append(current)
    return out


def pool_progress(rnd: Round, lines: Iterable[DemandLine]) -> dict[int, Progress]:
    """For each given line: the committed demand of the whole round that could form one lot with it.

    A lot has one segment, one region node, one charging standard and a window all members share
    (docs/solver-io.md), so a line's best lot is the (region, standard, quarter) it can reach that
    gathers the most committed vehicles of its segment: region within the round's max_levels_up
    above the line and above every member, a standard every member accepts, a quarter in every
    member's window. Only totals come out, never who or how much per fleet. One pass over the
    round's committed lines of the segments asked for: a few thousand lines take milliseconds.
    """
    lines = [line for line in lines if line.status is not DemandStatus.WITHDRAWN]
    if not lines:
        return {}
    parents = dict(db.session.execute(sa.select(Region.id, Region.parent_id)).all())
    levels = rnd.max_levels_up
    memo: dict[str, list[str]] = {}  # region -> the lot regions a line there may join, worked out once

    def reach(region_id: str) -> list[str]:
        found = memo.get(region_id)
        if found is None:
            found = memo[region_id] = _ancestors(parents, region_id, levels)
        return found

    wanted: dict[str, set[tuple[str, str, int]]] = defaultdict(set)  # segment -> the keys our lines can reach
    for line in lines:
        quarters = range(quarter_index(line.earliest_quarter), quarter_index(line.latest_quarter) + 1)
        wanted[line.segment_id].update(
            (region, standard, q)
            for region in reach(line.region_id)
            for standard in line.charging or ()
            for q in quarters
        )
    committed = db.session.execute(
        sa.select(
            DemandLine.segment_id,
            DemandLine.region_id,
            DemandLine.earliest_quarter,
            DemandLine.latest_quarter,
            DemandLine.charging,
            DemandLine.quantity,
        ).where(
            DemandLine.round_id == rnd.id,
            DemandLine.status == DemandStatus.COMMITTED,
            DemandLine.segment_id.in_(list(wanted)),
        )
    ).all()
    shapes: dict[tuple[str, str, str, str, tuple[str, ...]], int] = defaultdict(int)
    for row in committed:  # lines of the same shape reach the same lots: add them up first
        shapes[
            (row.segment_id, row.region_id, row.earliest_quarter, row.latest_quarter, tuple(row.charging or ()))
        ] += row.quantity
    totals: dict[tuple[str, str, str, int], int] = defaultdict(int)
    for (segment, region_id, earliest, latest, charging), quantity in shapes.items():
        keys = wanted[segment]
        quarters = range(quarter_index(earliest), quarter_index(latest) + 1)
        for region in reach(region_id):
            for standard in charging:
                for q in quarters:
                    if (region, standard, q) in keys:
                        totals[(segment, region, standard, q)] += quantity
    out: dict[int, Progress] = {}
    for line in lines:
        own = line.quantity
        draft = line.status is not DemandStatus.COMMITTED
        quarters = range(quarter_index(line.earliest_quarter), quarter_index(line.latest_quarter) + 1)
        best: tuple[int, int, str, str, int] | None = None  # (total, -level, region, standard, quarter)
        for level, region in enumerate(reach(line.region_id)):
            for standard in line.charging or ():
                for q in quarters:
                    total = totals.get((line.segment_id, region, standard, q), 0)
                    if draft:
                        total += own  # a draft counts itself as if committed: what committing would bring
                    if best is None or (total, -level) > best[:2]:
                        best = (total, -level, region, standard, q)
        if best is None:
            out[line.id] = Progress(total=own, own=own, minimum=rnd.min_lot_quantity)
        else:
            out[line.id] = Progress(
                total=best[0],
                own=own,
                minimum=rnd.min_lot_quantity,
                region_id=best[2],
                charging=best[3],
                quarter=quarter_of_index(best[4]),
            )
    return out


@dataclass
class Outcome:
    """Where a line went in the round's published pooling: the lots it joined (with how many of its
    vehicles) and what stayed out, with the reason. A lot shows its totals only."""

    lots: list[tuple[Lot, int]] = field(default_factory=list)
    unpooled: list[tuple[int, str]] = field(default_factory=list)  # (vehicles, reason)


def pool_outcome(rnd: Round, lines: Iterable[DemandLine]) -> dict[int, Outcome] | None:
    """Per line, its lots and reasons in the published pooling run; None before lots are published."""
    run_id = rnd.published_pooling_run_id
    if run_id is None:
        return None
    ids = [line.id for line in lines]
    out: dict[int, Outcome] = {line_id: Outcome() for line_id in ids}
    members = db.session.execute(
        sa.select(LotMember.demand_line_id, LotMember.quantity, Lot)
        .join(Lot, Lot.id == LotMember.lot_id)
        .where(Lot.pooling_run_id == run_id, LotMember.demand_line_id.in_(ids))
        .order_by(Lot.id)
    ).all()
    for line_id, quantity, lot in members:
        out[line_id].lots.append((lot, quantity))
    unpooled = db.session.execute(
        sa.select(UnpooledLine.demand_line_id, UnpooledLine.quantity, UnpooledLine.reason).where(
            UnpooledLine.pooling_run_id == run_id, UnpooledLine.demand_line_id.in_(ids)
        )
    ).all()
    for line_id, quantity, reason in unpooled:
        out[line_id].unpooled.append((quantity, reason))
    return out


@dataclass(frozen=True)
class Step:
    what: str
    when: datetime | None  # the deadline that ends the step, when the round has one
    when_text: str  # said in words when there is no deadline ("after the demand deadline")
    state: str  # "done", "now" or "later"


_STEP_PHASES = [
    (RoundPhase.DEMAND_OPEN,),
    (RoundPhase.DEMAND_CLOSED, RoundPhase.POOLED),
    (RoundPhase.TENDERING,),
    (RoundPhase.BIDS_CLOSED,),
    (RoundPhase.AWARDED, RoundPhase.CONTRACTING),
    (RoundPhase.CLOSED,),
]


def next_steps(rnd: Round) -> list[Step]:
    """The round's steps from a fleet's side, which one it is in, and when each ends (empty when cancelled)."""
    if rnd.phase is RoundPhase.CANCELLED:
        return []
    confirm_by = (
        rnd.confirmation_deadline,
        f"within {rnd.confirmation_period_days} days of the award" if rnd.confirmation_deadline is None else "",
    )
    deposit = (
        "Deposits are settled: applied to confirmed purchases, released for lines not awarded, "
        f"{rnd.decline_forfeit_percent.normalize():f} % kept on a declined allocation."
        if rnd.asks_deposit
        else "The round closes; the coalition's report shows what was bought."
    )
    texts = [
        ("Post demand lines and commit them: only committed lines are pooled.", rnd.demand_deadline, ""),
        (
            "The coordinator pools the committed lines of all fleets into lots and publishes them; each of "
            "your lines shows its lot or why it stayed out.",
            None,
            "after the demand deadline",
        ),
        ("OEMs bid on the lots (sealed bids).", rnd.bid_deadline, ""),
        (
            "The coordinator compares award scenarios and publishes the award; you see your allocations.",
            None,
            "after the bid deadline",
        ),
        (
            "Confirm or decline each of your allocations; one not confirmed by the deadline counts as declined.",
            *confirm_by,
        ),
        (deposit, None, "when the round closes"),
    ]
    if rnd.phase is RoundPhase.DRAFT:
        current = -1
    else:
        current = next(i for i, phases in enumerate(_STEP_PHASES) if rnd.phase in phases)
    steps = []
    for i, (what, when, when_text) in enumerate(texts):
        state = "done" if i < current else "now" if i == current else "later"
        if rnd.phase is RoundPhase.CLOSED and i == current:
            state = "done"
        if state == "done" and when is not None:
            # A step closed early ended when the coordinator moved the round, not at its planned deadline.
            when = rounds.ended_at(rnd, _STEP_PHASES[i][-1]) or when
        steps.append(Step(what, when, when_text, state))
    return steps
