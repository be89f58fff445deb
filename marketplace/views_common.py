"""Small helpers the blueprints share."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from marketplace.services.errors import ValidationFailed


def apply_field_errors(form: FlaskForm, exc: ValidationFailed) -> None:
    """Show a service's field errors next to the form's fields (the form keeps what was typed)."""
    flash(exc.message, "danger")
    for name, message in exc.field_errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "danger")
