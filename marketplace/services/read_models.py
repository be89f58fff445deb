"""Computed once, read many times: a round's report, its downloads, a scenario's figures, the OCDS
package are stored when first read and served from the store until the data under them changes.

How a stored document is known to be true:

- Every transaction that changes a round's rows raises that round's data version (a row of
  `data_version`), in the same transaction, just before it commits; one that changes rows every
  round reads (organizations, the catalog, reference data) raises the shared version (scope 0).
  This is done once, by session events (`install`), for every ORM write, so no write path can
  forget it; a row is traced to its round by its `round_id`, or by a foreign key to a row that has
  one (an allocation through its scenario, a lot member through its lot), else it counts as shared.
  A bulk UPDATE/DELETE sent through the session raises the shared version.
- A document is stored with the two versions read *before* its data, and the round's phase (the
  phase a reader sees may follow the clock). It is served only while all three are unchanged.
  Reading the versions first means a document may hold data newer than its versions, never older.
- A session with uncommitted writes computes afresh and stores nothing (its data may roll back).

The store is written on its own short connection, so a page that reads commits nothing of its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.models import DataVersion, ReadModel, Round
from marketplace.services import clock

T = TypeVar("T")
SHARED = 0  # the scope of data every round reads
_PENDING = "read_models.pending"  # session.info: round ids and (table, ids) to trace to a round
_TOUCHED = "read_models.touched"  # session.info: this transaction wrote something not yet committed
# Rows no stored document reads: writing them must not throw the documents away (logins write users).
IGNORED_TABLES = {
    "user_account", "demand_upload", "stripe_event", "data_version", "read_model",
    "notice", "outbox_mail", "clarification",  # notices, mails and questions are in no report or export
    "api_token", "idempotent_request",  # an API token's last use and stored API answers: no document reads them
}  # fmt: skip

hits = 0  # documents served from the store (the tests read it)
computed = 0  # documents computed


# ---------------------------------------------------------------- write side: raise the versions


def _pending(session: Session) -> dict[str, Any]:
    return session.info.setdefault(_PENDING, {"rounds": set(), "trace": defaultdict(set), "shared": False})


def _round_path(table: sa.Table, depth: int = 3) -> bool:
    """Whether a row of `table` belongs to one round: it is a round, has a round_id, or points to such a row."""
    if table.name == Round.__tablename__ or "round_id" in table.c:
        return True
    return depth > 0 and any(_round_path(fk.column.table, depth - 1) for c in table.c for fk in c.foreign_keys)


def _note(session: Session, obj: Any) -> None:
    table = getattr(type(obj), "__table__", None)
    if table is None or table.name in IGNORED_TABLES:
        return
    pending = _pending(session)
    if table.name == Round.__tablename__:
        pending["rounds"].add(obj.id)
        return
    if "round_id" in table.c:
        round_id = getattr(obj, "round_id", None)
        if round_id is not None:
            pending["rounds"].add(round_id)
        elif table.name != "audit_entry":  # an audit entry of no round (a login) changes no document
            pending["shared"] = True
        return
    traced = False
    for column in table.c:
        for fk in column.foreign_keys:
            value = getattr(obj, column.key, None)
            if value is not None and _round_path(fk.column.table):
                pending["trace"][fk.column.table.name].add(value)
                traced = True
    if not traced:  # an organization, a vehicle model, reference data: every round may show it
        pending["shared"] = True


def _rounds_of(connection: sa.Connection, table: sa.Table, ids: set[Any], depth: int = 3) -> set[int] | None:
    """The rounds the rows `ids` of `table` belong to; None when some row cannot be traced (it is gone)."""
    if table.name == Round.__tablename__:
        return set(ids)
    if "round_id" in table.c:
        found = connection.execute(sa.select(table.c.id, table.c.round_id).where(table.c.id.in_(sorted(ids)))).all()
        return {r for _, r in found if r is not None} if len(found) == len(ids) else None
    parents = [(c, fk.column.table) for c in table.c for fk in c.foreign_keys if _round_path(fk.column.table)]
    if depth == 0 or not parents:
        return None
    rows = connection.execute(sa.select(table.c.id, *[c for c, _ in parents]).where(table.c.id.in_(sorted(ids)))).all()
    if len(rows) < len(ids):
        return None
    rounds: set[int] = set()
    for i, (_, parent) in enumerate(parents, start=1):
        values = {row[i] for row in rows if row[i] is not None}
        if values:
            traced = _rounds_of(connection, parent, values, depth - 1)
            if traced is None:
                return None
            rounds |= traced
    return rounds


def _after_flush(session: Session, flush_context: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        _note(session, obj)
    session.info[_TOUCHED] = True


def _do_orm_execute(state: Any) -> None:
    """A bulk INSERT/UPDATE/DELETE sent through the session: which rows it changes is not known here."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in IGNORED_TABLES:
        return
    _pending(state.session)["shared"] = True
    state.session.info[_TOUCHED] = True


def _insert(connection: sa.Connection) -> Callable[..., Any]:
    """The dialect's INSERT, which has ON CONFLICT."""
    from sqlalchemy.dialects import postgresql, sqlite

    return postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert


def _upsert_increment(connection: sa.Connection, scopes: list[int]) -> None:
    table = DataVersion.__table__
    insert = _insert(connection)
    for scope in scopes:  # in order: two writers of the same rounds never wait on each other in a cycle
        stmt = insert(table).values(scope_id=scope, version=1)
        connection.execute(stmt.on_conflict_do_update(index_elements=[table.c.scope_id],
                                                      set_={"version": table.c.version + 1}))  # fmt: skip


def _before_commit(session: Session) -> None:
    if session.info.get(_PENDING) is None and not (session.new or session.dirty or session.deleted):
        return
    session.flush()  # the rest of this transaction's writes, so they are noted too
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    rounds: set[int] = set(pending["rounds"])
    connection = session.connection()
    for table_name, ids in pending["trace"].items():
        found = _rounds_of(connection, db.metadata.tables[table_name], ids)
        if found is None:  # a parent is gone too: which round cannot be said, so every round
            pending["shared"] = True
        else:
            rounds |= found
    scopes = sorted(rounds | ({SHARED} if pending["shared"] else set()))
    if scopes:
        _upsert_increment(connection, scopes)


def _after_transaction_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_TOUCHED, None)


def install() -> None:
    """Listen to every session (web requests, jobs, commands): idempotent."""
    for name, fn in (
        ("after_flush", _after_flush),
        ("do_orm_execute", _do_orm_execute),
        ("before_commit", _before_commit),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


# ---------------------------------------------------------------- read side


def _uncommitted(session: Session) -> bool:
    return bool(session.info.get(_TOUCHED) or session.new or session.dirty or session.deleted)


def cached(rnd: Round, name: str, compute: Callable[[], T], dump: Callable[[T], str], load: Callable[[str], T]) -> T:
    """The document `name` of round `rnd`: from the store while its data is unchanged, else computed,
    stored and returned. `dump`/`load` turn it into text and back."""
    global hits, computed
    session = db.session()
    if _uncommitted(session):
        computed += 1
        return compute()
    version = lambda scope: (  # noqa: E731
        sa.select(DataVersion.version).where(DataVersion.scope_id == scope).scalar_subquery()
    )
    phase = rnd.phase.value
    # One statement: the versions now, and the stored body if it was computed from the same ones.
    round_version, shared_version, body = session.execute(
        sa.select(
            sa.func.coalesce(version(rnd.id), 0),
            sa.func.coalesce(version(SHARED), 0),
            sa.select(ReadModel.body)
            .where(
                ReadModel.round_id == rnd.id,
                ReadModel.name == name,
                ReadModel.phase == phase,
                ReadModel.round_version == sa.func.coalesce(version(rnd.id), 0),
                ReadModel.shared_version == sa.func.coalesce(version(SHARED), 0),
            )
            .scalar_subquery(),
        )
    ).one()
    if body is not None:
        hits += 1
        return load(body)
    computed += 1
    value = compute()
    text = dump(value)
    if _uncommitted(session):  # computing wrote something: its data may roll back, do not store
        return value
    _store(rnd.id, name, int(round_version), int(shared_version), phase, text)
    return value


def _store(round_id: int, name: str, round_version: int, shared_version: int, phase: str, body: str) -> None:
    table = ReadModel.__table__
    values = {"round_id": round_id, "name": name, "round_version": round_version, "shared_version": shared_version,
              "phase": phase, "body": body, "computed_at": clock.now()}  # fmt: skip
    # Its own short connection: the reader's transaction commits nothing. Its foreign-key check takes
    # FOR KEY SHARE on the round row, which the write lock a reader may hold (rounds.lock, FOR NO KEY
    # UPDATE) lets through, so storing never waits on the reader's own round lock.
    with db.engine.begin() as connection:
        stmt = _insert(connection)(table).values(**values)
        connection.execute(
            stmt.on_conflict_do_update(index_elements=[table.c.round_id, table.c.name],
                                       set_={k: stmt.excluded[k] for k in values if k not in ("round_id", "name")})
        )  # fmt: skip
