"""The one place where committed changes become notices.

Every change members are told of is already written to the audit log in the transaction that makes it
(a phase move, a deposit's state, an approval, a clarification). This module watches the session for
new audit entries of those actions and, once the transaction commits (never for a rolled-back one),
queues one job per entry that writes its notices (`jobs.deliver_notices`). When the services publish
domain events, this is the module to switch: subscribe `service.deliver` to them instead.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
PENDING_KEY = "notify_audit_entries"


@sa_event.listens_for(Session, "after_flush")
def _collect(session: Session, flush_context: Any) -> None:
    from marketplace.models import AuditEntry
    from marketplace.notifications.service import notifiable

    for obj in session.new:
        if isinstance(obj, AuditEntry) and notifiable(obj.action):
            session.info.setdefault(PENDING_KEY, []).append(obj.id)


@sa_event.listens_for(Session, "after_commit")
def _queue(session: Session) -> None:
    entry_ids = session.info.pop(PENDING_KEY, None)
    if not entry_ids or not has_app_context():
        return
    from marketplace import jobs

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for entry_id in entry_ids:
        try:
            with app.app_context():  # its own session: the committed one is done
                jobs.deliver_notices(entry_id)
        except Exception:  # never undo or fail the change itself; the job retries
            log.exception("notices of audit entry %s not queued", entry_id)


@sa_event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
