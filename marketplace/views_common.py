"""Small helpers the blueprints share."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from marketplace.services.errors import DomainError


def apply_field_errors(form: FlaskForm, exc: DomainError, skip: tuple[str, ...] = ()) -> None:
    """Show a service's message, and its field errors next to the form's fields (the form keeps what
    was typed); `skip` names errors the page shows elsewhere."""
    flash(exc.message, "danger")
    for name, message in getattr(exc, "field_errors", {}).items():
        if name in skip:
            continue
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")
