"""One way to show a list that grows with the data: a page of it, sorted and filtered in SQL.

`paginate(select, ...)` reads the list's page, sort, direction and filters from the query string
(names prefixed per list, so a page can hold several lists) and pages with Flask-SQLAlchemy's
`db.paginate` (a COUNT and a LIMIT/OFFSET query). Templates render it with
`macros/pagination.html` (`pager`, `sort_link`, `filter_form`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import request, url_for
from flask_sqlalchemy.pagination import Pagination, SelectPagination

from marketplace.extensions import db

PER_PAGE = 50
MAX_PER_PAGE = 200


class _ListPagination(Pagination):
    """Flask-SQLAlchemy's Pagination over rows already in memory (a staged upload kept as one JSON document)."""

    def _query_items(self) -> list[Any]:
        rows = self._query_args["rows"]
        return rows[self._query_offset : self._query_offset + self.per_page]

    def _query_count(self) -> int:
        return len(self._query_args["rows"])


class _RowPagination(SelectPagination):
    """db.paginate's pagination whose items are whole result rows (an entity with figures computed beside it
    in the same statement), where db.paginate keeps the first column only."""

    def _query_items(self) -> list[Any]:
        select = self._query_args["select"].limit(self.per_page).offset(self._query_offset)
        return list(self._query_args["session"].execute(select).all())


def contains(text: str) -> str:
    """A LIKE pattern matching values that contain `text` (its own wildcards taken literally out)."""
    return "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"


@dataclass
class Listing:
    """A page of a list and how it was asked for."""

    pagination: Pagination
    prefix: str
    sort: str
    descending: bool
    sorts: Sequence[str]
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def items(self) -> list[Any]:
        return list(self.pagination.items)

    @property
    def total(self) -> int:
        return self.pagination.total or 0

    @property
    def first_row(self) -> int:
        return 0 if not self.total else self.pagination.first

    @property
    def last_row(self) -> int:
        return self.pagination.last

    def arg(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def url(self, **changes: Any) -> str:
        """This page's URL with this list's page/sort/direction/filters changed (other lists keep theirs)."""
        args = request.args.to_dict()
        for name, value in changes.items():
            key = self.arg(name)
            if value is None or value == "":
                args.pop(key, None)
            else:
                args[key] = value
        if "page" not in changes and any(k in changes for k in ("sort", "dir", *self.filters)):
            args.pop(self.arg("page"), None)  # a new order or filter starts on its first page
        assert request.endpoint is not None
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    def state(self) -> dict[str, str]:
        """This list's arguments as asked (page, order, filters): carried through an action on a row so the
        page it returns to shows the same rows (`kept_state`)."""
        return kept_state(self.prefix, self.filters)

    def sort_url(self, key: str) -> str:
        descending = not self.descending if key == self.sort else False
        return self.url(sort=key, dir="desc" if descending else "asc")


def kept_state(prefix: str, filters: Iterable[str]) -> dict[str, str]:
    """The arguments of one list (`prefix`, its filter names) in this request, and nothing else: what an
    action's form or link carries, and its redirect gives back, so the list comes back as it was. Only the
    list's own names pass, each value as the list reads it (a number for page and size, 100 characters)."""
    args = request.args
    kept: dict[str, str] = {}
    for name in ("page", "per_page"):
        value = args.get(f"{prefix}{name}", type=int)
        if value is not None and value > 0:
            kept[f"{prefix}{name}"] = str(value)
    for name in ("sort", "dir", *filters):
        value = args.get(f"{prefix}{name}", "").strip()[:100]
        if value:
            kept[f"{prefix}{name}"] = value
    return kept


def paginate(
    query: sa.Select,
    *,
    sorts: Mapping[str, Sequence[Any] | Any],
    default: str,
    prefix: str = "",
    descending: bool = False,
    filters: Mapping[str, Callable[[str], Any | None]] | None = None,
    per_page: int = PER_PAGE,
    rows: Callable[[Sequence[sa.Row]], list[Any]] | None = None,
) -> Listing:
    """One page of `query`, ordered by the asked sort key (the default when unknown), filtered by the
    asked filters (each a function from the typed text to a WHERE clause, or to None for a value a closed list
    does not offer; blank or None means no filter).
    With `rows`, the page's items are the query's whole rows, shaped by that function (a summary's table)."""
    args = request.args
    sort = args.get(f"{prefix}sort", default)
    if sort not in sorts:
        sort = default
    direction = args.get(f"{prefix}dir")
    desc = descending if direction not in ("asc", "desc") or sort != args.get(f"{prefix}sort") else direction == "desc"
    asked: dict[str, str] = {}
    for name, clause in (filters or {}).items():
        value = args.get(f"{prefix}{name}", "").strip()[:100]
        where = clause(value) if value else None
        # A closed list's filter answers None for a value it does not offer (an edited or stale link):
        # ignored like an unknown sort, so the whole list shows rather than an empty one.
        asked[name] = value if where is not None else ""
        if where is not None:
            query = query.where(where)
    columns = sorts[sort]
    columns = list(columns) if isinstance(columns, list | tuple) else [columns]
    query = query.order_by(*(c.desc() if desc else c.asc() for c in columns))
    page = max(1, args.get(f"{prefix}page", 1, type=int) or 1)
    size = min(MAX_PER_PAGE, max(1, args.get(f"{prefix}per_page", per_page, type=int) or per_page))

    def one(number: int) -> Pagination:
        if rows is None:
            return db.paginate(query, page=number, per_page=size, max_per_page=MAX_PER_PAGE, error_out=False)
        found = _RowPagination(select=query, session=db.session(), page=number, per_page=size,
                               max_per_page=MAX_PER_PAGE, error_out=False)  # fmt: skip
        found.items = rows(found.items)
        return found

    pagination = one(page)
    if page > 1 and not pagination.items and pagination.total:
        # A page past the end (the list shrank): show the last one instead of an empty table.
        pagination = one(pagination.pages)
    return Listing(pagination, prefix, sort, desc, list(sorts), asked)


def paginate_rows(rows: Sequence[Any], *, prefix: str = "", per_page: int = PER_PAGE) -> Listing:
    """One page of rows held in memory, in their order (the same pager as the SQL lists)."""
    args = request.args
    size = min(MAX_PER_PAGE, max(1, args.get(f"{prefix}per_page", per_page, type=int) or per_page))
    pages = max(1, -(-len(rows) // size))
    page = min(pages, max(1, args.get(f"{prefix}page", 1, type=int) or 1))
    pagination = _ListPagination(page=page, per_page=size, max_per_page=MAX_PER_PAGE, error_out=False, rows=list(rows))
    return Listing(pagination, prefix, "row", False, ["row"])
