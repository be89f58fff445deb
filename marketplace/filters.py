"""Jinja filters: instants in the reader's time zone, money in its currency, quarters."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_login import current_user
from markupsafe import Markup, escape

from marketplace.services.quarter_lists import quarters_text


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


def plural(count: int, word: str, many: str | None = None) -> str:
    """The word for `count` things: 1 vehicle, 2 vehicles (`many` for irregular plurals)."""
    return word if count == 1 else (many or word + "s")


def count_of(count: int | None, word: str, many: str | None = None) -> str:
    """ "1 vehicle", "1,250 vehicles": a count with its word in the right number."""
    if count is None:
        return "—"
    return f"{count:,} {plural(count, word, many)}"


def number(value: Decimal | int | float | None, places: int | None = None) -> str:
    """A number as people write it: 100 not 1E+2, 12.5 not 12.50, 1,250 with the thousands separator.

    `places` fixes the decimals (rounded half up); otherwise trailing zeros are dropped.
    """
    if value is None:
        return "—"
    amount = (Decimal(str(value)) if isinstance(value, float) else Decimal(value)) + 0  # no "-0"
    if places is not None:
        amount = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{amount:,.{places}f}"
    if amount == amount.to_integral_value():
        return f"{amount.to_integral_value():,f}"
    text = f"{amount.normalize():,f}"
    return text


def deadline(value: datetime | None) -> Markup:
    """A deadline with its UTC instant in a tooltip, so readers in other zones agree on it."""
    if value is None:
        return Markup('<span class="text-body-secondary">not set</span>')
    utc = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return Markup(
        f'<time datetime="{escape(value.isoformat())}" title="{escape(utc)}">{escape(localtime(value))}</time>'
    )


def closing(rnd, attr: str) -> Markup:
    """A phase's deadline as it really went: the planned time, or when the phase ended if it ended early."""
    from marketplace.services import rounds

    planned = getattr(rnd, attr)
    phase = rounds.DEADLINE_PHASE[attr]
    order = list(type(rnd.phase))
    left = rnd.phase is not phase and (rnd.phase.value == "cancelled" or order.index(rnd.phase) > order.index(phase))
    ended = rounds.ended_at(rnd, phase) if left else None
    if ended is None or (planned is not None and ended >= planned):
        return deadline(planned)
    note = f"early, planned {localtime(planned)}" if planned is not None else "early"
    return Markup(f'{deadline(ended)} <span class="text-body-secondary">({escape(note)})</span>')


def register(app: Flask) -> None:
    app.add_template_filter(localtime)
    app.add_template_filter(money)
    app.add_template_filter(deadline)
    app.add_template_filter(count_of)
    app.add_template_filter(quarters_text)
    app.add_template_filter(number)
    app.add_template_global(plural)
    app.add_template_filter(closing)
