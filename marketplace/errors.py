"""One place that turns errors into pages: a clear message and the right status, never a crash page."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from marketplace.extensions import db
from marketplace.services.errors import DomainError

TITLES = {
    400: "That request could not be used",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Not possible right now",
    413: "File too large",
    429: "Too many attempts",
    500: "Something went wrong on our side",
}


def _api(exc: Exception, status: int, message: str):
    """Under /api/: RFC 9457 problem details naming the field (marketplace/api/problems.py)."""
    from marketplace.api import problems

    if isinstance(exc, DomainError):
        return problems.from_domain_error(exc)
    messages = (getattr(exc, "data", None) or {}).get("messages")  # webargs: what the request body or query broke
    errors = problems.from_validation_messages(messages) if isinstance(messages, dict) else []
    if errors and status in (400, 422):
        message = "Nothing was changed: fix what errors lists (each names its field or parameter)."
    headers = dict(exc.get_response().headers) if isinstance(exc, HTTPException) and status in (405, 429) else {}
    headers = {k: v for k, v in headers.items() if k in ("Allow", "Retry-After")}
    return problems.problem(status, message, errors=errors, headers=headers)


def _page(status: int, message: str):
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return {"error": TITLES.get(status, "Error"), "message": message}, status
    return render_template("errors.html", status=status, title=TITLES.get(status, "Error"), message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()  # nothing half-written survives a refused request
        if request.path.startswith("/api/"):
            return _api(exc, exc.status, exc.message)
        return _page(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return _page(400, "This form has expired or did not come from this site. Reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        messages = {
            403: "Your account cannot open this page.",
            404: "There is no page at this address, or it belongs to another organization.",
            413: "The file is larger than this site accepts (20 MB).",
        }
        if request.path.startswith("/api/"):
            detail = "There is no such operation or object, or it belongs to another organization."
            return _api(exc, exc.code or 500, detail if exc.code == 404 else exc.description or "")
        return _page(exc.code or 500, messages.get(exc.code or 500, exc.description or ""))

    @app.errorhandler(500)
    def server_error(exc: Exception):
        db.session.rollback()
        if request.path.startswith("/api/"):
            return _api(exc, 500, "The error has been logged. Nothing was changed by this request; please try again.")
        return _page(500, "The error has been logged. Nothing you saved before this was lost; please try again.")
