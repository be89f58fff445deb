"""Posting, editing and withdrawing a demand line.

Each use case is one transaction: it loads the round (deadlines applied by the server clock),
checks the phase and the organization, changes the rows, writes the audit entry and commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marketplace.extensions import db
from marketplace.models import DemandLine, DemandStatus
from marketplace.services import access, audit, deposits
from marketplace.services.access import Actor
from marketplace.services.demand.commit import deposit_due
from marketplace.services.demand.queries import locked_open_round
from marketplace.services.demand.rules import check_line
from marketplace.services.demand.scope import Scope
from marketplace.services.errors import Conflict, ValidationFailed


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
