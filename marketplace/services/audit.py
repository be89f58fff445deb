"""Writing the audit log. Callers add the entry in the same transaction as the change it records."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import AuditEntry, Organization, User
from marketplace.pagination import contains
from marketplace.services.access import Actor


def record(
    actor: Actor | None,
    action: str,
    obj: Any,
    *,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    round_id: int | None = None,
) -> AuditEntry:
    """Add an audit entry for `obj` to the session (no commit: the caller's transaction owns it)."""
    db.session.flush()  # so a new object has its id
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        organization_id=actor.organization_id if actor else None,
        action=action,
        object_type=type(obj).__name__,
        object_id=str(obj.id),
        round_id=round_id,
        summary=summary,
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry


# ---------------------------------------------------------------- reading the log (coordinators)


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log page filters on; blank means everything."""

    who: str = ""  # an email, a person's or an organization's name (part of it), or "system"
    what: str = ""  # part of the action ("allocation.confirm") or of the summary
    object: str = ""  # a kind of object ("Allocation"), optionally with its id ("Allocation 12")
    round_id: int | None = None
    since: datetime | None = None  # instants in UTC, since inclusive, until exclusive
    until: datetime | None = None


def _contains(column: Any, text: str) -> Any:
    """column contains text, case-insensitively, with "_" and "%" taken literally (emails have underscores)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def day_start(day: date | None, zone: tzinfo, *, next_day: bool = False) -> datetime | None:
    """The UTC instant a day starts in the reader's time zone (or the next day, for an "until" day included)."""
    if day is None:
        return None
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def entries(actor: Actor | None, filters: AuditFilters, *, refused: bool = False) -> sa.Select:
    """The audit entries matching the filters, with who did it loaded in the same statement (coordinators only).

    `refused`: the filters could not be read; the page shows their messages over an empty list,
    never the whole log as if nothing had been asked.
    """
    from marketplace.services import access

    access.require_coordinator(actor)
    query = sa.select(AuditEntry).options(
        joinedload(AuditEntry.actor), joinedload(AuditEntry.organization), joinedload(AuditEntry.round)
    )
    if refused:
        return query.where(sa.false())
    who = filters.who.strip()
    if who.lower() == "system":
        query = query.where(AuditEntry.actor_id.is_(None))
    elif who:
        query = query.where(
            AuditEntry.actor.has(sa.or_(_contains(User.email, who), _contains(User.name, who)))
            | AuditEntry.organization.has(_contains(Organization.name, who))
        )
    if filters.what.strip():
        what = filters.what.strip()
        query = query.where(_contains(AuditEntry.action, what) | _contains(AuditEntry.summary, what))
    kind, _, object_id = filters.object.strip().partition(" ")
    if kind:
        query = query.where(_contains(AuditEntry.object_type, kind))
    if object_id.strip():
        query = query.where(AuditEntry.object_id == object_id.strip().lstrip("#"))
    if filters.round_id is not None:
        query = query.where(AuditEntry.round_id == filters.round_id)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.at < filters.until)
    return query


CSV_HEADER = ["When (UTC)", "Who", "Organization", "Action", "Object", "Object id", "Round", "Summary",
              "Before", "After"]  # fmt: skip


def entries_csv(query: sa.Select) -> Iterator[str]:
    """The entries as CSV text, a batch at a time, newest first (the whole log streams; memory stays flat)."""
    import json

    from marketplace.services import spreadsheet

    out = io.StringIO()
    writer = spreadsheet.CsvWriter(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    ordered = query.order_by(AuditEntry.id.desc()).execution_options(yield_per=1000)
    for n, e in enumerate(db.session.execute(ordered).scalars(), start=1):
        writer.writerow([
            e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor.email if e.actor else "system",
            e.organization.name if e.organization else "", e.action, e.object_type, e.object_id,
            e.round.name if e.round else "", e.summary,
            json.dumps(e.before, sort_keys=True) if e.before else "",
            json.dumps(e.after, sort_keys=True) if e.after else "",
        ])  # fmt: skip
        if n % 1000 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def round_log_query(round_id: int) -> sa.Select:
    """A round's audit log with each entry's user (the round page pages and filters it)."""
    return sa.select(AuditEntry).where(AuditEntry.round_id == round_id).options(joinedload(AuditEntry.actor))


# The round page's log filters: what happened (summary or action) and who did it (email).
ROUND_LOG_FILTERS = {
    "what": lambda v: AuditEntry.summary.ilike(contains(v)) | AuditEntry.action.ilike(contains(v)),
    "who": lambda v: AuditEntry.actor.has(User.email.ilike(contains(v))),
}


def recent_of_organization(organization_id: int, limit: int = 20) -> list[AuditEntry]:
    """An organization's latest audit entries, newest first (its page)."""
    return list(
        db.session.execute(
            sa.select(AuditEntry)
            .where(AuditEntry.organization_id == organization_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        ).scalars()
    )
