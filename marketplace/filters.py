"""Jinja filters: instants in the reader's time zone, money in its currency, quarters."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_login import current_user
from markupsafe import Markup, escape


def reader_zone() -> ZoneInfo:
    name = getattr(current_user, "time_zone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    if value is None:
        return "—"
    return value.astimezone(reader_zone()).strftime(fmt)


def money(value: Decimal | int | float | None, currency: str = "") -> str:
    if value is None:
        return "—"
    amount = Decimal(value)
    text = f"{amount:,.2f}" if amount != amount.to_integral_value() else f"{amount:,.0f}"
    return f"{text} {currency}".strip()


def deadline(value: datetime | None) -> Markup:
    """A deadline with its UTC instant in a tooltip, so readers in other zones agree on it."""
    if value is None:
        return Markup('<span class="text-body-secondary">not set</span>')
    utc = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup(
        f'<time datetime="{escape(value.isoformat())}" title="{escape(utc)}">{escape(localtime(value))}</time>'
    )


def register(app: Flask) -> None:
    app.add_template_filter(localtime)
    app.add_template_filter(money)
    app.add_template_filter(deadline)
