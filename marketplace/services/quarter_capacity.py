"""An OEM's production capacity by quarter for a round (a ramp), beside its total for the round.

Each row caps the vehicles the OEM delivers in one quarter: over all its lots, or (with a segment)
over the lots of that segment. An OEM that states any quarter delivers only in the quarters it
states (docs/solver-io.md section 2). The rows are sealed like bids: only the OEM reads its own;
the award reads them all through `capacities_for_award`, after bids close.

The rows stay consistent with the round total (RoundCapacity):
- a segment's capacity in a quarter is at most the quarter's capacity over all segments, when that is stated;
- when every stated quarter has a capacity over all segments, they add up to at least the total
  (otherwise the total could never be delivered, and one of the two numbers is a typo).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.models import QuarterCapacity, Round, RoundCapacity, Segment
from marketplace.services import audit, bidding
from marketplace.services.access import Actor, require_oem
from marketplace.services.errors import Conflict, ValidationFailed
from marketplace.services.quarter_rules import shortfall
from marketplace.services.values import (
    CAPACITY_MAX,
    Invalid,
    number_format_of,
    read_quarter,
    text,
    whole,
)

ROWS_MAX = 48  # twelve years of quarters, or fewer quarters split by segment


@dataclass(frozen=True)
class QuarterRow:
    quarter: str
    segment_id: str | None
    capacity: int


def _key(row: QuarterRow | QuarterCapacity) -> tuple[str, str]:
    return (row.quarter, row.segment_id or "")


def rows_of(rnd: Round, actor: Actor) -> list[QuarterCapacity]:
    """The OEM's own quarterly capacities in a round, by quarter (all segments first)."""
    require_oem(actor)
    rows = db.session.execute(
        sa.select(QuarterCapacity).where(
            QuarterCapacity.round_id == rnd.id, QuarterCapacity.organization_id == actor.organization_id
        )
    ).scalars()
    return sorted(rows, key=_key)


def row_count(values: Mapping[str, Any]) -> int:
    """How many rows the values hold (the highest N of rowN_quarter / rowN_segment / rowN_capacity)."""
    n = 0
    for key in values:
        if key.startswith("row") and "_" in key:
            number = key[3:].split("_")[0]
            if number.isdigit():
                n = max(n, int(number))
    return n


def check_rows(
    values: Mapping[str, Any], segments: set[str], total: int | None, fmt: Any
) -> tuple[list[QuarterRow], dict[str, str]]:
    """Read rowN_quarter, rowN_segment ("" = all segments), rowN_capacity; a row with every cell blank is no row."""
    errors: dict[str, str] = {}
    rows: list[QuarterRow] = []
    seen: dict[tuple[str, str], int] = {}
    count = row_count(values)
    if count > ROWS_MAX:
        errors["rows"] = f"at most {ROWS_MAX} rows"
        count = ROWS_MAX
    for n in range(1, count + 1):
        keys = {k: f"row{n}_{k}" for k in ("quarter", "segment", "capacity")}
        raw = {k: values.get(key) for k, key in keys.items()}
        if text(raw["quarter"]) == "" and text(raw["capacity"]) == "":
            continue  # a segment chosen on an otherwise empty row is no row either
        quarter = None
        try:
            quarter = read_quarter(raw["quarter"])
        except Invalid as exc:
            errors[keys["quarter"]] = str(exc)
        segment = text(raw["segment"]) or None
        if segment is not None and segment not in segments:
            errors[keys["segment"]] = f"“{segment}” is not a segment: choose one from the list, or all segments"
        capacity = whole(
            raw["capacity"], errors, keys["capacity"], minimum=0, maximum=CAPACITY_MAX,
            message="must be a whole number of vehicles, 0 or more", fmt=fmt,
        )  # fmt: skip
        if quarter is None or keys["segment"] in errors or capacity is None:
            continue
        row = QuarterRow(quarter, segment, capacity)
        if _key(row) in seen:
            errors[keys["quarter"]] = (
                f"{quarter} {'for this segment ' if segment else ''}is already on row {seen[_key(row)]}: "
                "give each quarter once (per segment)"
            )
            continue
        seen[_key(row)] = n
        rows.append(row)
    if errors:
        return rows, errors
    overall = {r.quarter: r.capacity for r in rows if r.segment_id is None}
    for n, row in ((seen[_key(r)], r) for r in rows):
        if row.segment_id is not None and row.quarter in overall and row.capacity > overall[row.quarter]:
            errors[f"row{n}_capacity"] = (
                f"must be at most the {overall[row.quarter]:,} vehicles you can deliver in {row.quarter} over all segments"
            )
    short = shortfall(rows, total)
    if short is not None and not errors:
        errors["rows"] = (
            f"your quarters add up to {short:,} vehicles, below your total of {total:,} for the round: "
            "raise them, or lower the total first"
        )
    return sorted(rows, key=_key), errors


def segment_ids() -> set[str]:
    """The segments a row may name (any of the catalog's, as on the form's list)."""
    return set(db.session.execute(sa.select(Segment.id)).scalars())


def set_rows(round_id: int, values: Mapping[str, Any], actor: Actor | None) -> list[QuarterCapacity]:
    """Replace the OEM's quarterly capacities in a round with the rows typed (none: no quarterly limit)."""
    actor = require_oem(actor)
    rnd = bidding.open_for_bids(round_id, actor, doing="change your capacity by quarter")
    total = bidding.capacity_of(rnd, actor)
    if total is None:
        raise Conflict("State your total capacity for the round first, then split it by quarter.")
    rows, errors = check_rows(values, segment_ids(), total, number_format_of(actor))
    if errors:
        raise ValidationFailed(
            "The capacity by quarter has problems: fix the rows marked below. Nothing was saved.", field_errors=errors
        )
    existing = rows_of(rnd, actor)
    if same_rows(existing, rows):
        return existing
    saved = replace_rows(rnd, existing, rows, actor)
    bidding.commit_or_conflict("capacity")
    return saved


def same_rows(existing: list[QuarterCapacity], rows: list[QuarterRow]) -> bool:
    """Whether the rows checked are the ones saved already (then nothing is written)."""
    return [(r.quarter, r.segment_id, r.capacity) for r in existing] == [
        (r.quarter, r.segment_id, r.capacity) for r in rows
    ]


def replace_rows(
    rnd: Round, existing: list[QuarterCapacity], rows: list[QuarterRow], actor: Actor
) -> list[QuarterCapacity]:
    """Put the checked rows in place of the existing ones, audited; the caller holds the round lock and commits."""
    before = [[r.quarter, r.segment_id, r.capacity] for r in existing]
    after = [[r.quarter, r.segment_id, r.capacity] for r in rows]
    for row in existing:
        db.session.delete(row)
    db.session.flush()  # the old rows go before the new ones take their (quarter, segment) keys
    saved = [
        QuarterCapacity(
            round_id=rnd.id,
            organization_id=actor.organization_id,
            quarter=r.quarter,
            segment_id=r.segment_id,
            capacity=r.capacity,
        )
        for r in rows
    ]
    db.session.add_all(saved)
    bidding.guarded("capacity", db.session.flush)
    capacity_row = db.session.execute(
        sa.select(RoundCapacity).where(
            RoundCapacity.round_id == rnd.id, RoundCapacity.organization_id == actor.organization_id
        )
    ).scalar_one()
    audit.record(
        actor,
        "bid.quarter_capacity",
        capacity_row,
        summary=f"Stated its capacity by quarter for the round ({len(rows)} row{'s' if len(rows) != 1 else ''}).",
        before={"quarters": before},
        after={"quarters": after},
        round_id=rnd.id,
    )
    return saved


def capacities_for_award(rnd: Round) -> dict[int, list[dict[str, Any]]]:
    """Every supplier's quarterly capacities as the solver reads them (coordinator side, after bids close)."""
    rows = db.session.execute(
        sa.select(QuarterCapacity)
        .where(QuarterCapacity.round_id == rnd.id)
        .order_by(QuarterCapacity.organization_id, QuarterCapacity.quarter, QuarterCapacity.id)
    ).scalars()
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.organization_id, *_key(r))):
        entry: dict[str, Any] = {"quarter": row.quarter}
        if row.segment_id is not None:
            entry["segment"] = row.segment_id
        entry["capacity"] = row.capacity
        found[row.organization_id].append(entry)
    return dict(found)
