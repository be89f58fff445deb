"""RFC 9457 problem details: every API error is one JSON object naming what went wrong and where.

`errors` lists each problem with a JSON pointer into the request body (`/lines/3/max_unit_price`)
or the name of the query or path parameter, so a client can show it next to its own field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from flask import Response, request

from marketplace.services.errors import DomainError

CONTENT_TYPE = "application/problem+json"
TITLES = {
    400: "The request could not be used",
    401: "No valid API token",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Not possible right now",
    413: "Request too large",
    415: "Send JSON",
    422: "The request could not be used",
    429: "Too many requests",
    500: "Something went wrong on our side",
}


def pointer(*parts: Any) -> str:
    """A JSON pointer (RFC 6901) from path parts: ("lines", 3, "max_unit_price") -> /lines/3/max_unit_price."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def problem(
    status: int,
    detail: str,
    *,
    errors: Iterable[Mapping[str, Any]] = (),
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    listed = list(errors)
    if listed:
        body["errors"] = listed
    response = Response(json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(field_errors: Mapping[str, str], *prefix: Any) -> list[dict[str, str]]:
    """A service's problems by field ("name", or a path "tiers/1/unit_price"), as pointers under `prefix`."""
    return [
        {"pointer": pointer(*prefix, *name.split("/")), "detail": message} for name, message in field_errors.items()
    ]


def from_domain_error(exc: DomainError, *prefix: Any) -> Response:
    return problem(exc.status, exc.message, errors=field_errors(exc.field_errors, *prefix))


def _walk(messages: Any, path: tuple[Any, ...]) -> Iterable[tuple[tuple[Any, ...], str]]:
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            yield from _walk(value, (*path, key))
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        for message in messages:
            yield path, message
    elif isinstance(messages, list | tuple):
        for i, value in enumerate(messages):
            yield from _walk(value, (*path, i))
    else:
        yield path, str(messages)


def from_validation_messages(messages: Mapping[str, Any]) -> list[dict[str, str]]:
    """webargs' messages ({"json": {"lines": {3: {"quantity": ["..."]}}}, "query": {...}}) as problem entries."""
    out: list[dict[str, str]] = []
    for location, found in messages.items():
        for path, message in _walk(found, ()):
            if location == "json":
                if path == ("_schema",):
                    path = ()
                out.append({"pointer": pointer(*path), "detail": message})
            else:
                out.append({"parameter": ".".join(str(p) for p in path) or location, "in": location,
                            "detail": message})  # fmt: skip
    return out


@contextmanager
def fields_named(names: Mapping[str, str]) -> Iterator[None]:
    """A service's field names as the API's (segment_ids -> segments), so a problem points into the JSON sent."""
    try:
        yield
    except DomainError as exc:
        exc.field_errors = {names.get(k, k): v for k, v in exc.field_errors.items()}
        raise
