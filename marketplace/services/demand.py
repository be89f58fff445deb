"""A fleet's demand lines: post, edit, withdraw, commit, and the live pool progress of each line.

Every rule of a demand line lives in `check_line`, which both the form and the spreadsheet
upload use, so a value gets the same message wherever it is typed. Each use case is one
transaction: it loads the round (deadlines applied by the server clock), checks the phase and
the organization, changes the rows, writes the audit entry and commits once.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import (
    DemandLine,
    DemandStatus,
    Lot,
    LotMember,
    Region,
    Round,
    RoundPhase,
    UnpooledLine,
)
from marketplace.pagination import contains
from marketplace.services import access, audit, clock, deposits, events, rounds
from marketplace.services import values as V
from marketplace.services.access import Actor
from marketplace.services.errors import Conflict, ValidationFailed
from marketplace.services.reference_data import CHARGING_STANDARDS

# The fields of a demand line, in the order forms, spreadsheets and exports list them.
FIELDS = (
    "segment",
    "region",
    "quantity",
    "earliest_quarter",
    "latest_quarter",
    "min_range_km",
    "min_payload_kg",
    "charging",
    "max_unit_price",
    "splittable",
    "note",
)
NOTE_MAX = V.NOTE_MAX
QUANTITY_MAX = V.QUANTITY_MAX
SPEC_MAX = V.SPEC_MAX
_SEPARATORS = re.compile(r"[;,/|]")
_STANDARD_ORDER = {code: i for i, code in enumerate(CHARGING_STANDARDS)}
_CHARGING_BY_KEY = {code.lower().replace(" ", ""): code for code in CHARGING_STANDARDS}


# ---------------------------------------------------------------- quarters


def quarter_index(text: str) -> int:
    """ "2027Q2" -> a number that grows by one per quarter (for windows and comparisons)."""
    return int(text[:4]) * 4 + int(text[5]) - 1


def quarter_of_index(index: int) -> str:
    return f"{index // 4}Q{index % 4 + 1}"


def current_quarter(at: datetime | None = None) -> str:
    at = at or clock.now()
    return f"{at.year}Q{(at.month - 1) // 3 + 1}"


def upcoming_quarters(count: int = 28) -> list[str]:
    """The quarters a fleet may choose from, starting with the current one (for the form's suggestions)."""
    start = quarter_index(current_quarter())
    return [quarter_of_index(start + i) for i in range(count)]


# ---------------------------------------------------------------- the round's scope, loaded once per use case


@dataclass
class Scope:
    """What a line is checked against: the round's segments, its region subtree, currency, the current quarter."""

    rnd: Round
    segments: dict[str, str]  # lower-case id or name -> segment id
    segment_names: dict[str, str]  # id -> short name
    regions: dict[str, str]  # lower-case id or name -> region id, only regions within scope
    region_names: dict[str, str]  # id -> name, within scope
    this_quarter: str
    number_format: V.NumberFormat = V.NumberFormat.POINT  # how the fleet types numbers

    @classmethod
    def of(cls, rnd: Round, actor: Actor | None = None) -> Scope:
        segments: dict[str, str] = {}
        names: dict[str, str] = {}
        for seg in rnd.segments:
            names[seg.id] = seg.short_name
            segments[seg.id.lower()] = seg.id
            segments.setdefault(seg.short_name.lower(), seg.id)
            segments.setdefault(seg.name.lower(), seg.id)
        within = scope_regions(rnd)
        by_key: dict[str, str] = {}
        for region in within:
            by_key[region.id.lower()] = region.id
        ambiguous = {r.name.lower() for r in within if sum(1 for x in within if x.name == r.name) > 1}
        for region in within:
            if region.name.lower() not in ambiguous:
                by_key.setdefault(region.name.lower(), region.id)
        return cls(
            rnd=rnd,
            segments=segments,
            segment_names=names,
            regions=by_key,
            region_names={r.id: r.name for r in within},
            this_quarter=current_quarter(),
            number_format=V.number_format_of(actor),
        )


def scope_regions(rnd: Round) -> list[Region]:
    """Every node of the region tree at or below one of the round's scope regions, in tree order."""
    all_regions = db.session.execute(sa.select(Region)).scalars().all()
    children: dict[str | None, list[Region]] = defaultdict(list)
    for region in all_regions:
        children[region.parent_id].append(region)
    out: list[Region] = []
    seen: set[str] = set()

    def walk(region: Region) -> None:
        if region.id in seen:
            return
        seen.add(region.id)
        out.append(region)
        for child in sorted(children.get(region.id, []), key=lambda r: r.name):
            walk(child)

    for top in sorted(rnd.regions, key=lambda r: r.name):
        walk(top)
    return out


# ---------------------------------------------------------------- checking one line


@dataclass
class CheckedLine:
    segment_id: str
    region_id: str
    quantity: int
    earliest_quarter: str
    latest_quarter: str
    min_range_km: int
    min_payload_kg: int
    charging: list[str]
    max_unit_price: Decimal
    splittable: bool
    note: str

    def to_json(self) -> dict[str, Any]:
        return {**self.as_row(), "max_unit_price": str(self.max_unit_price)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckedLine:
        return cls(**{**data, "max_unit_price": Decimal(data["max_unit_price"])})

    def as_row(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "region_id": self.region_id,
            "quantity": self.quantity,
            "earliest_quarter": self.earliest_quarter,
            "latest_quarter": self.latest_quarter,
            "min_range_km": self.min_range_km,
            "min_payload_kg": self.min_payload_kg,
            "charging": self.charging,
            "max_unit_price": self.max_unit_price,
            "splittable": self.splittable,
            "note": self.note,
        }


def _text(value: Any) -> str:
    if type(value) is str:  # the common case first: a 10,000-row upload calls this 100,000 times
        return value.strip()
    return V.plain(value)


def _charging(value: Any) -> tuple[list[str], list[str]]:
    """Standards from a list, or from text separated by ';', ',', '/' or '|': (known codes, unknown names)."""
    if isinstance(value, list | tuple | set):
        items = [_text(v) for v in value]
    else:
        text = _text(value)
        if "/" in text:
            text = re.sub(r"gb\s*/\s*t", "GBT", text, flags=re.IGNORECASE)  # GB/T holds a slash
        items = _SEPARATORS.split(text)
    known: list[str] = []
    unknown: list[str] = []
    for item in items:
        key = item.strip().lower().replace(" ", "")
        if not key:
            continue
        code = "GB/T" if key in ("gbt", "gb/t") else _CHARGING_BY_KEY.get(key)
        if code is None:
            unknown.append(item.strip())
        elif code not in known:
            known.append(code)
    return sorted(known, key=_STANDARD_ORDER.__getitem__), unknown


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("", "no", "n", "false", "0"):
        return False
    if text in ("yes", "y", "true", "1"):
        return True
    return None


def check_line(values: Mapping[str, Any], scope: Scope) -> tuple[CheckedLine | None, dict[str, str]]:
    """Check every field of a line; return the clean line or the problems by field (messages name no field:
    the page shows them next to it, the upload prefixes "row N, field:")."""
    errors: dict[str, str] = {}
    rnd = scope.rnd

    segment = scope.segments.get(_text(values.get("segment")).lower())
    if not _text(values.get("segment")):
        errors["segment"] = "choose a segment"
    elif segment is None:
        allowed = ", ".join(sorted(scope.segment_names))
        errors["segment"] = f"“{_text(values.get('segment'))}” is not a segment of this round (use one of: {allowed})"

    region_text = _text(values.get("region"))
    region = scope.regions.get(region_text.lower())
    if not region_text:
        errors["region"] = "choose a region"
    elif region is None:
        scope_names = ", ".join(r.name for r in rnd.regions)
        errors["region"] = (
            f"“{region_text}” is not a region within this round's scope ({scope_names}): "
            "use a region id or name from the list"
        )

    fmt = scope.number_format
    quantity = V.whole(
        values.get("quantity"), errors, "quantity", minimum=1, maximum=QUANTITY_MAX,
        message="must be a whole number above 0", fmt=fmt,
    )  # fmt: skip

    quarters: dict[str, str] = {}
    for name in ("earliest_quarter", "latest_quarter"):
        quarter = V.into(errors, name, V.read_quarter, values.get(name))
        if quarter is not None:
            quarters[name] = quarter
            if quarters[name] < scope.this_quarter:
                errors[name] = f"{quarters[name]} is in the past (this is {scope.this_quarter})"
    if (
        len(quarters) == 2
        and "earliest_quarter" not in errors
        and quarters["latest_quarter"] < quarters["earliest_quarter"]
    ):
        errors["latest_quarter"] = f"must not be before the earliest quarter ({quarters['earliest_quarter']})"

    specs: dict[str, int | None] = {}
    for name in ("min_range_km", "min_payload_kg"):
        raw = values.get(name)
        specs[name] = (
            0
            if _text(raw) == ""
            else V.whole(
                raw, errors, name, minimum=0, maximum=SPEC_MAX, message="must be a whole number, 0 or more", fmt=fmt
            )
        )

    charging, unknown = _charging(values.get("charging"))
    if unknown:
        names = ", ".join(f"“{u}”" for u in unknown)
        errors["charging"] = f"{names} is not a charging standard: use " + ", ".join(CHARGING_STANDARDS)
    elif not charging:
        errors["charging"] = "accept at least one charging standard"

    price = V.amount(values.get("max_unit_price"), errors, "max_unit_price", currency=rnd.currency, fmt=fmt)

    splittable = _bool(values.get("splittable"))
    if splittable is None:
        errors["splittable"] = "answer yes or no"

    note = V.text_field(values.get("note"), errors, "note", max_length=NOTE_MAX, multiline=True)

    if errors:
        return None, errors
    assert segment and region and quantity and price is not None
    return (
        CheckedLine(
            segment_id=segment,
            region_id=region,
            quantity=quantity,
            earliest_quarter=quarters["earliest_quarter"],
            latest_quarter=quarters["latest_quarter"],
            min_range_km=specs["min_range_km"] or 0,
            min_payload_kg=specs["min_payload_kg"] or 0,
            charging=charging,
            max_unit_price=price,
            splittable=bool(splittable),
            note=note,
        ),
        {},
    )


# ---------------------------------------------------------------- access


def round_for_fleet(round_id: int, actor: Actor | None) -> Round:
    """A round as a fleet may see it: drafts are not published, so they do not exist for fleets."""
    access.require_fleet(actor)
    return access.visible(actor, rounds.load_round(round_id))


def open_round(round_id: int, actor: Actor | None, *, doing: str) -> Round:
    """The round, refused unless demand is open at this second (the server clock decides)."""
    rnd = round_for_fleet(round_id, actor)
    rounds.require_phase(rnd, RoundPhase.DEMAND_OPEN, doing=doing)
    return rnd


def locked_open_round(round_id: int, actor: Actor | None, *, doing: str) -> Round:
    """`open_round` for a write: the round locked (`rounds.lock`), so the write is in before demand closes."""
    access.require_fleet(actor)
    rnd = access.visible(actor, rounds.lock(round_id))
    rounds.require_phase(rnd, RoundPhase.DEMAND_OPEN, doing=doing)
    return rnd


def committed_totals(round_id: int | None = None) -> dict[int, tuple[int, int]]:
    """Per round (or for one round): (committed lines, committed vehicles), for the coordinators' pages."""
    query = (
        sa.select(DemandLine.round_id, sa.func.count(DemandLine.id), sa.func.sum(DemandLine.quantity))
        .where(DemandLine.status == DemandStatus.COMMITTED)
        .group_by(DemandLine.round_id)
    )
    if round_id is not None:
        query = query.where(DemandLine.round_id == round_id)
    return {rid: (n, int(q or 0)) for rid, n, q in db.session.execute(query)}


def totals_by_round(actor: Actor) -> dict[int, dict[str, int]]:
    """The fleet's live lines, vehicles and committed vehicles per round (withdrawn lines left out)."""
    rows = db.session.execute(
        access.own_rows(
            actor,
            sa.select(
                DemandLine.round_id, DemandLine.status, sa.func.count(DemandLine.id), sa.func.sum(DemandLine.quantity)
            ),
            DemandLine,
        ).group_by(DemandLine.round_id, DemandLine.status)
    )
    mine: dict[int, dict[str, int]] = {}
    for round_id, status, n, q in rows:
        if status is DemandStatus.WITHDRAWN:
            continue
        entry = mine.setdefault(round_id, {"lines": 0, "vehicles": 0, "committed": 0})
        entry["lines"] += n
        entry["vehicles"] += int(q or 0)
        if status is DemandStatus.COMMITTED:
            entry["committed"] += int(q or 0)
    return mine


def lines_query(rnd: Round, actor: Actor) -> sa.Select:
    """The actor's organization's lines in a round, for a page of them (the round page pages them)."""
    return sa.select(DemandLine).where(
        DemandLine.round_id == rnd.id, DemandLine.organization_id == actor.organization_id
    )


WITHDRAWN_LAST = DemandLine.status == DemandStatus.WITHDRAWN
LINE_SORTS = {
    "line": [WITHDRAWN_LAST, DemandLine.id],
    "segment": [DemandLine.segment_id, DemandLine.region_id, DemandLine.id],
    "region": [DemandLine.region_id, DemandLine.id],
    "quantity": [DemandLine.quantity, DemandLine.id],
    "price": [DemandLine.max_unit_price, DemandLine.id],
    "status": [DemandLine.status, DemandLine.id],
}


def _status_filter(text: str) -> sa.ColumnElement[bool]:
    wanted = [s for s in DemandStatus if s.value.startswith(text.strip().lower())]
    return DemandLine.status.in_(wanted) if wanted else sa.false()


LINE_FILTERS = {
    "segment": lambda text: DemandLine.segment_id.ilike(contains(text)),
    "region": lambda text: DemandLine.region_id.ilike(contains(text)),
    "status": _status_filter,
}


def totals_for(rnd: Round, actor: Actor) -> Totals:
    """The round page's totals over all the actor's lines, summed in SQL (not from the page shown)."""
    t = Totals()
    rows = db.session.execute(
        sa.select(
            DemandLine.status, sa.func.count(DemandLine.id), sa.func.coalesce(sa.func.sum(DemandLine.quantity), 0)
        )
        .where(DemandLine.round_id == rnd.id, DemandLine.organization_id == actor.organization_id)
        .group_by(DemandLine.status)
    ).all()
    for status, count, vehicles in rows:
        if status is DemandStatus.WITHDRAWN:
            t.withdrawn_lines += count
            continue
        t.lines += count
        t.vehicles += int(vehicles)
        if status is DemandStatus.COMMITTED:
            t.committed_lines += count
            t.committed_vehicles += int(vehicles)
        else:
            t.draft_lines += count
    return t


def lines_of(rnd: Round, actor: Actor) -> list[DemandLine]:
    """The actor's organization's lines in a round, withdrawn ones last."""
    return list(
        db.session.execute(
            sa.select(DemandLine)
            .where(DemandLine.round_id == rnd.id, DemandLine.organization_id == actor.organization_id)
            .order_by((DemandLine.status == DemandStatus.WITHDRAWN), DemandLine.id)
        ).scalars()
    )


# ---------------------------------------------------------------- use cases


def snapshot(line: DemandLine) -> dict[str, Any]:
    """A line as the audit log keeps it (JSON-safe)."""
    return {
        "segment_id": line.segment_id,
        "region_id": line.region_id,
        "quantity": line.quantity,
        "earliest_quarter": line.earliest_quarter,
        "latest_quarter": line.latest_quarter,
        "min_range_km": line.min_range_km,
        "min_payload_kg": line.min_payload_kg,
        "charging": list(line.charging),
        "max_unit_price": str(line.max_unit_price),
        "splittable": line.splittable,
        "note": line.note,
        "status": line.status.value,
    }


def _refuse(errors: dict[str, str]) -> None:
    raise ValidationFailed(
        "The demand line was not saved: fix the fields marked below.",
        field_errors={k: v[0].upper() + v[1:] + "." for k, v in errors.items()},
    )


def create_line(round_id: int, values: Mapping[str, Any], actor: Actor | None) -> DemandLine:
    """Post a new demand line (a draft until it is committed)."""
    rnd = locked_open_round(round_id, actor, doing="post demand")
    assert actor is not None
    checked, errors = check_line(values, Scope.of(rnd, actor))
    if checked is None:
        _refuse(errors)
    assert checked is not None
    line = DemandLine(round_id=rnd.id, organization_id=actor.organization_id, status=DemandStatus.DRAFT)
    for key, value in checked.as_row().items():
        setattr(line, key, value)
    db.session.add(line)
    db.session.flush()
    audit.record(
        actor,
        "demand.create",
        line,
        summary=f"Posted a demand line: {line.quantity} × {line.segment_id} in {line.region_id}.",
        after=snapshot(line),
        round_id=rnd.id,
    )
    db.session.commit()
    return line


def update_line(line_id: int, values: Mapping[str, Any], actor: Actor | None) -> DemandLine:
    """Change a line while demand is open; a committed line stays committed."""
    line = access.own_line(actor, line_id)
    rnd = locked_open_round(line.round_id, actor, doing="edit demand")
    db.session.refresh(line)  # read again under the round's lock: another write may have changed it
    if line.status is DemandStatus.WITHDRAWN:
        raise Conflict("This line was withdrawn: post a new line instead.")
    checked, errors = check_line(values, Scope.of(rnd, actor))
    if checked is None:
        _refuse(errors)
    assert checked is not None
    if line.status is DemandStatus.COMMITTED and deposit_due(rnd) and checked.quantity > line.quantity:
        # A held deposit covers the committed quantity; more vehicles need a new line with its own deposit.
        raise ValidationFailed(
            "The demand line was not saved: fix the fields marked below.",
            field_errors={
                "quantity": f"Its deposit covers {line.quantity} vehicles: post a new line for more vehicles."
            },
        )
    before = snapshot(line)
    for key, value in checked.as_row().items():
        setattr(line, key, value)
    after = snapshot(line)
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        audit.record(
            actor,
            "demand.update",
            line,
            summary="Changed " + ", ".join(changed) + ".",
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
            round_id=rnd.id,
        )
    db.session.commit()
    return line


def withdraw_line(line_id: int, actor: Actor | None) -> DemandLine:
    """Take a line out of the round while demand is open (the round's withdrawal rule applies to its deposit)."""
    line = access.own_line(actor, line_id)
    rnd = locked_open_round(line.round_id, actor, doing="withdraw demand")
    db.session.refresh(line)  # read again under the round's lock: another write may have changed it
    if line.status is DemandStatus.WITHDRAWN:
        raise Conflict("This line is already withdrawn.")
    before = {"status": line.status.value}
    line.status = DemandStatus.WITHDRAWN
    deposits.line_withdrawn(line, actor)  # the round's withdrawal rule, carried out by a job after the commit
    audit.record(
        actor,
        "demand.withdraw",
        line,
        summary=f"Withdrew a demand line of {line.quantity} × {line.segment_id} in {line.region_id}"
        f" (withdrawal forfeit {rnd.withdrawal_forfeit_percent.normalize():f} %).",
        before=before,
        after={"status": line.status.value},
        round_id=rnd.id,
    )
    db.session.commit()
    return line


# ---------------------------------------------------------------- committing


def payments_on() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def deposit_due(rnd: Round) -> bool:
    """Whether committing a line in this round waits for a paid deposit."""
    return rnd.asks_deposit and payments_on()


@dataclass
class CommitResult:
    committed: list[DemandLine] = field(default_factory=list)
    awaiting_deposit: list[DemandLine] = field(default_factory=list)
    without_deposit: bool = False  # the round asks a deposit but payments are off

    @property
    def vehicles(self) -> int:
        return sum(line.quantity for line in self.committed)


def _chosen_drafts(rnd: Round, line_ids: Iterable[int] | None, actor: Actor, *, lock: bool) -> list[DemandLine]:
    """The actor's draft lines to commit (all when line_ids is None); refused if any chosen one is not."""
    query = sa.select(DemandLine).where(
        DemandLine.round_id == rnd.id,
        DemandLine.organization_id == actor.organization_id,
        DemandLine.status == DemandStatus.DRAFT,
    )
    if line_ids is not None:
        wanted = {int(i) for i in line_ids}
        if not wanted:
            raise ValidationFailed("Choose the lines to commit.")
        query = query.where(DemandLine.id.in_(wanted))
    query = query.order_by(DemandLine.id)
    if lock:
        query = query.with_for_update()
    else:
        query = query.options(joinedload(DemandLine.segment), joinedload(DemandLine.region))
    lines = list(db.session.execute(query).scalars())
    if line_ids is not None and len(lines) != len(wanted):
        # Someone else's id, a withdrawn or an already committed line: say so, commit nothing.
        raise Conflict("Some of the chosen lines are not draft lines of yours: reload the page and choose again.")
    if not lines:
        raise Conflict("There are no draft lines to commit.")
    return lines


@dataclass
class CommitSummary:
    """What committing these lines puts at stake, shown before the fleet commits them."""

    round: Round
    lines: list[DemandLine]
    deposit: Decimal  # to hold on the card, over the lines (0 when the round asks none or payments are off)
    deposit_held: bool  # whether a hold is actually taken (the round asks one and payments are on)

    @property
    def vehicles(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def max_spend(self) -> Decimal:
        """The most the fleet would pay if every vehicle were awarded at its line's maximum unit price."""
        return sum((line.max_unit_price * line.quantity for line in self.lines), Decimal("0"))


def commit_summary(round_id: int, line_ids: Iterable[int] | None, actor: Actor | None) -> CommitSummary:
    """Vehicles, maximum spend and deposit of the lines a fleet is about to commit (nothing changes)."""
    from marketplace.services.deposits import deposit_amount

    rnd = open_round(round_id, actor, doing="commit demand")
    assert actor is not None
    lines = _chosen_drafts(rnd, line_ids, actor, lock=False)
    held = deposit_due(rnd)
    deposit = (
        sum((deposit_amount(rnd, line.quantity) for line in lines), Decimal("0")) if rnd.asks_deposit else Decimal("0")
    )
    return CommitSummary(rnd, lines, deposit, held)


def commit_lines(round_id: int, line_ids: Iterable[int] | None, actor: Actor | None) -> CommitResult:
    """Commit the actor's draft lines (all of them when line_ids is None).

    This is the one place where a line becomes committed. A round that asks no deposit commits
    at once; with payments off a round that asks one commits at once too, marked as such.
    The deposit path (issue 8) plugs in here: with payments on, the lines wait for their deposit
    and the payment gateway's confirmed hold commits them.
    """
    rnd = locked_open_round(round_id, actor, doing="commit demand")
    assert actor is not None
    lines = _chosen_drafts(rnd, line_ids, actor, lock=True)
    result = CommitResult(without_deposit=rnd.asks_deposit and not payments_on())
    if deposit_due(rnd):
        # A hold (PaymentIntent, manual capture) per line; each line commits when Stripe confirms its hold.
        deposits.open_deposits(lines, actor)
        result.awaiting_deposit = lines
        return result
    at = clock.now()
    for line in lines:
        line.status = DemandStatus.COMMITTED
        line.committed_at = at
    result.committed = lines
    summary = f"Committed {len(lines)} demand line(s), {result.vehicles} vehicles"
    summary += " (payments off: committed without a deposit)." if result.without_deposit else "."
    audit.record(
        actor,
        "demand.commit",
        rnd,
        summary=summary,
        before={"status": "draft", "line_ids": [line.id for line in lines]},
        after={"status": "committed", "line_ids": [line.id for line in lines], "deposit": not result.without_deposit},
        round_id=rnd.id,
    )
    events.record(events.DemandCommitted(rnd.id, lines[0].organization_id, tuple(line.id for line in lines)))
    db.session.commit()
    return result


# ---------------------------------------------------------------- live pool progress


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


def _lot_keys(line: Any, parents: dict[str, str | None], levels: int) -> Iterable[tuple[str, str, int]]:
    first, last = quarter_index(line.earliest_quarter), quarter_index(line.latest_quarter)
    for region in _ancestors(parents, line.region_id, levels):
        for standard in line.charging or ():
            for q in range(first, last + 1):
                yield region, standard, q


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


# ---------------------------------------------------------------- after pooling


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


@dataclass
class Totals:
    lines: int = 0
    vehicles: int = 0
    committed_lines: int = 0
    committed_vehicles: int = 0
    draft_lines: int = 0
    withdrawn_lines: int = 0


def totals_of(lines: Iterable[DemandLine]) -> Totals:
    t = Totals()
    for line in lines:
        if line.status is DemandStatus.WITHDRAWN:
            t.withdrawn_lines += 1
            continue
        t.lines += 1
        t.vehicles += line.quantity
        if line.status is DemandStatus.COMMITTED:
            t.committed_lines += 1
            t.committed_vehicles += line.quantity
        else:
            t.draft_lines += 1
    return t


def own_lines_query(rnd: Round, actor: Actor, *, withdrawn: bool = True) -> sa.Select[Any]:
    """The actor's organization's lines in a round, as a query to page through (the API)."""
    access.require_fleet(actor)
    query = access.own_rows(actor, sa.select(DemandLine).where(DemandLine.round_id == rnd.id), DemandLine)
    if not withdrawn:
        query = query.where(DemandLine.status != DemandStatus.WITHDRAWN)
    return query


# ---------------------------------------------------------------- what happens next (the fleet's round page)


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
        steps.append(Step(what, when, when_text, state))
    return steps
