"""Every kind of value the marketplace reads, defined once: its limits, how it is written and its messages.

Forms, spreadsheet uploads, the bid sheet, the catalog, capacities, packages and round settings
all read through these functions, so a value gets the same limits and the same message wherever
it is typed. Messages name no field and start in lower case: a form shows them next to the field
(whose label names it), an upload prefixes "row N, column:".

Numbers are never guessed. Typed text is read in the organization's number format (1,234.56 or
1.234,56, set on the account page; the default follows the organization's country): thousands
separators must group by three, so "185000,50" is refused under 1,234.56 with a message showing
how to write it, instead of becoming 18,500,050. A number cell of a spreadsheet is a number
already and needs no format. Typed numbers are capped in length before any conversion, so a
5,000-digit value is a message, not Python's int-conversion limit.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# ---------------------------------------------------------------- limits (the README's table lists them)

QUANTITY_MAX = 100_000  # vehicles on one line, bid, tier, package item or lot; an extra 000 is a typo
CAPACITY_MAX = 1_000_000  # vehicles an OEM can deliver over one round
SPEC_MAX = 1_000_000  # km, kg, kWh and yearly capacities in the catalog and in demand lines
MONEY_MAX = Decimal("100000000")  # exclusive; Numeric(14, 2) holds 10^12, no vehicle costs 100 million
NUMBER_TEXT_MAX = 40  # characters of a typed number, checked before any conversion
ID_MAX = 2**31 - 1  # database ids are `integer` columns: 32-bit on PostgreSQL
NAME_MAX = 200  # names of models, packages, rounds, scenarios
NOTE_MAX = 500  # a demand line's note
DESCRIPTION_MAX = 2000
QUARTER_YEARS = (2000, 2100)


class Invalid(ValueError):
    """A value that cannot be read; str() is the message (no field name, lower case)."""


class Unreadable(Invalid):
    """A number whose text says exactly what is wrong (another number format, too long, a control
    character, a date): the caller keeps this message instead of its own general one."""


# ---------------------------------------------------------------- number format


class NumberFormat(enum.Enum):
    """How an organization writes numbers it types: the decimal mark and the thousands separator."""

    POINT = "point"  # 1,234.56
    COMMA = "comma"  # 1.234,56

    @property
    def label(self) -> str:
        return "1,234.56" if self is NumberFormat.POINT else "1.234,56"

    @property
    def decimal_mark(self) -> str:
        return "." if self is NumberFormat.POINT else ","

    @property
    def group_mark(self) -> str:
        return "," if self is NumberFormat.POINT else "."

    def write(self, value: Decimal | int, places: int | None = None) -> str:
        """A number as this format writes it, without thousands separators (how a form field is prefilled)."""
        text = f"{value:.{places}f}" if places is not None else f"{value:f}"
        return text.replace(".", self.decimal_mark)

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [
            (cls.POINT.value, "1,234.56: a point before the decimals"),
            (cls.COMMA.value, "1.234,56: a comma before the decimals"),
        ]


# Countries whose usual decimal mark is a comma (CLDR); every other country defaults to a point.
_COMMA_COUNTRY_CODES = (
    "AD AL AO AR AT AZ BA BE BG BO BR BY CH CL CM CO CR CU CV CY CZ DE DK DZ EC EE ES FI FO FR GE GL GR HR HU ID IS "
    "IT KZ LB LT LU LV MA MD ME MK MZ NL NO PL PT PY RO RS RU SE SI SK SM SN TN TR UA UY UZ VE VN"
)
COMMA_COUNTRIES = frozenset(_COMMA_COUNTRY_CODES.split())


def default_number_format(country: str | None) -> NumberFormat:
    return NumberFormat.COMMA if (country or "").upper() in COMMA_COUNTRIES else NumberFormat.POINT


def number_format_of(actor: Any) -> NumberFormat:
    """The number format of the actor's organization (1,234.56 when there is none)."""
    org = getattr(actor, "organization", None)
    raw = getattr(org, "number_format", None)
    try:
        return NumberFormat(raw) if raw else default_number_format(getattr(org, "country", None))
    except ValueError:
        return NumberFormat.POINT


_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " "})


def _pattern(decimal: str, group: str) -> re.Pattern[str]:
    g, d = re.escape(group), re.escape(decimal)
    # groups of three after 1-3 digits, one separator kind throughout (the mark or a space)
    return re.compile(rf"([+-]?)(\d{{1,3}}(?:({g}| )\d{{3}})(?:\3\d{{3}})*|\d+)(?:{d}(\d+))?", re.ASCII)


_PATTERNS = {fmt: _pattern(fmt.decimal_mark, fmt.group_mark) for fmt in NumberFormat}
_EXPONENT = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]{1,4}")


def _match(text: str, fmt: NumberFormat) -> Decimal | None:
    found = _PATTERNS[fmt].fullmatch(text)
    if found is None:
        return None
    sign, digits, sep, decimals = found.groups()
    if sep:
        digits = digits.replace(sep, "")
    return Decimal(f"{sign}{digits}.{decimals}" if decimals is not None else f"{sign}{digits}")


def _how_to_write(text: str, fmt: NumberFormat, example: str) -> str:
    other = NumberFormat.COMMA if fmt is NumberFormat.POINT else NumberFormat.POINT
    meant = _match(text, other)
    how = f"write it as {fmt.write(meant)}" if meant is not None else f"write it like {example}"
    return (
        f"“{text}” is not written in your organization's number format ({fmt.label}, set on the account page): "
        f"{how}, without thousands separators"
    )


def read_number(value: Any, fmt: NumberFormat = NumberFormat.POINT, *, example: str = "1234") -> Decimal:
    """A finite number from a typed text (in `fmt`) or a spreadsheet number cell."""
    if isinstance(value, bool):
        raise Invalid(f"“{value}” is not a number")
    if isinstance(value, int):
        if abs(value) >= 10**NUMBER_TEXT_MAX:
            raise Unreadable(f"is too long for a number (at most {NUMBER_TEXT_MAX} digits)")
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Invalid("is not a number")
        return Decimal(repr(value))  # the shortest decimal that round-trips: a cell's 0.1 stays 0.1
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() >= NUMBER_TEXT_MAX:
            raise Invalid("is not a number")
        return value
    if isinstance(value, datetime | date):
        raise Unreadable(f"the cell holds a date ({value:%Y-%m-%d}), not a number")
    text = "" if value is None else str(value)
    if len(text) > NUMBER_TEXT_MAX:
        raise Unreadable(f"is too long for a number ({len(text):,} characters; at most {NUMBER_TEXT_MAX})")
    text = text.translate(_SPACES).strip()
    if not text:
        raise Invalid("is empty")
    found = _match(text, fmt)
    if found is None:
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            raise Unreadable("holds an invisible control character: type digits only")
        if _EXPONENT.fullmatch(text):
            # Shown in full only when its decimal mark (if any) is the format's: never a guess.
            mantissa = text.lower().split("e")[0]
            written = Decimal(text.replace(",", "."))
            mark_ok = fmt.group_mark not in mantissa
            full = fmt.write(written) if mark_ok and abs(written.adjusted()) <= NUMBER_TEXT_MAX // 2 else None
            how = f"write it in full: {full}" if full else f"write the number in full, like {example}"
            raise Unreadable(f"“{text}” is written with an exponent: {how}")
        if any(unicodedata.category(ch) == "Nd" and not ch.isascii() for ch in text):
            ascii_text = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)
            raise Unreadable(f"“{_shown(text)}” uses digits other than 0-9: type it as {_shown(ascii_text)}")
        if re.fullmatch(r"[+-]?[0-9., ]*[0-9][0-9., ]*", text):
            raise Unreadable(_how_to_write(text, fmt, example))
        raise Invalid(f"“{_shown(text)}” is not a number: write it like {example}")
    return found.copy_abs() if found == 0 else found  # "-0" is 0, never a saved "-0.00"


def _grouped_elsewhere(value: Any, fmt: NumberFormat) -> int | None:
    """The whole number a typed text is in the other number format when it has thousands separators
    there ("1.500" is 1.5 under 1,234.56 but 1500 under 1.234,56): the hint a message gives."""
    if not isinstance(value, str) or len(value) > NUMBER_TEXT_MAX:
        return None
    other = NumberFormat.COMMA if fmt is NumberFormat.POINT else NumberFormat.POINT
    found = _PATTERNS[other].fullmatch(value.translate(_SPACES).strip())
    if found is None or not found.group(3) or found.group(4) is not None or found.group(3) == " ":
        return None
    return int(_match(value.translate(_SPACES).strip(), other))  # type: ignore[arg-type]


def ambiguity_hint(value: Any, fmt: NumberFormat, number: Decimal) -> str | None:
    """A message for a typed text that is `number` here but a thousands-grouped whole number in the other format."""
    meant = _grouped_elsewhere(value, fmt)
    if meant is None:
        return None
    grouped = f"{meant:,}".replace(",", fmt.group_mark)
    return (
        f"“{str(value).strip()}” is {fmt.write(number.normalize())} in your organization's number format "
        f"({fmt.label}, set on the account page): if you meant {grouped}, write {meant}"
    )


def read_whole(
    value: Any, fmt: NumberFormat = NumberFormat.POINT, *, minimum: int, maximum: int, message: str = ""
) -> int:
    """A whole number in [minimum, maximum]; `message` says what is expected (e.g. "must be a whole
    number above 0") when the value is no such number."""
    message = message or f"must be a whole number, at least {minimum:,}"
    try:
        number = read_number(value, fmt, example="12")
    except Unreadable:
        raise
    except Invalid:
        raise Invalid(message) from None
    # Typed decimals are refused even when zero: "1.000" under 1,234.56 is 1, but whoever typed it
    # may have meant a thousand. A spreadsheet's number cell (12.0) is a number, not typed text.
    if number != number.to_integral_value() or (isinstance(value, str) and _typed_decimals(number) > 0):
        raise Invalid(ambiguity_hint(value, fmt, number) or message)
    if number < minimum:
        raise Invalid(message)
    if number > maximum:
        raise Invalid(f"must be at most {maximum:,}")
    return int(number)


# ---------------------------------------------------------------- money


# The currencies the app supports and the digits of their minor unit (ISO 4217): JPY and CLP have none.
CURRENCY_DIGITS: dict[str, int] = {
    "USD": 2, "EUR": 2, "CAD": 2, "MXN": 2, "BRL": 2, "CLP": 0, "COP": 2, "INR": 2, "CNY": 2, "JPY": 0,
    "GBP": 2, "SEK": 2, "DKK": 2, "PLN": 2,
}  # fmt: skip
CURRENCIES = list(CURRENCY_DIGITS)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of a currency: 0.01, or 1 for JPY and CLP (and other zero-decimal currencies)."""
    digits = CURRENCY_DIGITS.get(currency.upper())
    if digits is None:  # outside the supported list (payments only): Stripe's zero-decimal list
        digits = 0 if currency.upper() in _ZERO_DECIMAL_OTHERS else 2
    return Decimal(1).scaleb(-digits)


_ZERO_DECIMAL_OTHERS = frozenset("BIF DJF GNF KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())  # noqa: SIM905


def read_currency(value: Any) -> str:
    code = plain(value).upper()
    if code not in CURRENCY_DIGITS:
        raise Invalid(
            f"“{_shown(code)}” is not a currency the marketplace supports: use one of {', '.join(CURRENCIES)}"
        )
    return code


def _decimals_rule(currency: str) -> str:
    if minor_unit(currency) == 1:
        return f"{currency} has no cents: give a whole amount"
    return "more than 2 decimals: prices are exact to the cent"


def read_money(
    value: Any,
    currency: str,
    fmt: NumberFormat = NumberFormat.POINT,
    *,
    allow_zero: bool = False,
    maximum: Decimal = MONEY_MAX,
) -> Decimal:
    """An amount in `currency`: above 0 (or 0 or more), whole in the currency's minor unit, below `maximum`."""
    whole_only = minor_unit(currency) == 1
    example = "185000" if whole_only else f"185000 or {fmt.write(Decimal('185000.50'))}"
    try:
        amount = read_number(value, fmt, example=example)
    except Unreadable:
        raise
    except Invalid:
        raise Invalid(
            f"must be an amount in {currency} {'0 or more' if allow_zero else 'above 0'}, such as {example}"
        ) from None
    if amount < 0 or (amount == 0 and not allow_zero):
        raise Invalid(f"must be {'0 or more' if allow_zero else 'above 0'} {currency}")
    if amount >= maximum:
        raise Invalid(f"must be below {maximum:,} {currency}")
    if _finer_than_minor_unit(amount, currency):
        hint = ambiguity_hint(value, fmt, amount) if whole_only else None  # "1.500" yen: 1.5, or fifteen hundred?
        raise Invalid(f"{_decimals_rule(currency)}: {hint}" if hint else _decimals_rule(currency))
    if isinstance(value, str) and _typed_decimals(amount) > -minor_unit(currency).adjusted():
        # More decimals typed than the currency has, all zeros: "1.500" USD is 1.50 under 1,234.56,
        # but whoever typed it may have meant 1,500. Refused like any other extra decimal.
        hint = ambiguity_hint(value, fmt, amount)
        raise Invalid(f"{_decimals_rule(currency)}; {hint}" if hint else _decimals_rule(currency))
    return amount.quantize(Decimal("0.01"))


def check_minor_unit(amount: Decimal, currency: str) -> str | None:
    """A message when an amount is not whole in the currency's minor unit (e.g. a JPY deposit with cents)."""
    if _finer_than_minor_unit(amount, currency):
        return _decimals_rule(currency)
    return None


def _typed_decimals(number: Decimal) -> int:
    return max(0, -int(number.as_tuple().exponent))


def _finer_than_minor_unit(amount: Decimal, currency: str) -> bool:
    # Read the digits instead of `amount % unit`: the modulo raises InvalidOperation when the
    # quotient has more digits than the decimal context holds (a 40-digit amount), and any
    # arithmetic would round there. Finer = a non-zero digit below the currency's last place.
    _, digits, exponent = amount.as_tuple()
    below = minor_unit(currency).adjusted() - int(exponent)  # digits right of the last allowed place
    return below > 0 and any(digits[-below:])


def read_percent(
    value: Any, fmt: NumberFormat = NumberFormat.POINT, *, minimum: int = 0, maximum: int = 100
) -> Decimal:
    number = read_number(value, fmt, example="12.5" if fmt is NumberFormat.POINT else "12,5")
    if not minimum <= number <= maximum:
        raise Invalid(f"must be between {minimum} and {maximum} %")
    if number.as_tuple().exponent < -1:  # type: ignore[operator]
        raise Invalid("at most one decimal")
    return number


# ---------------------------------------------------------------- quarters and dates

_QUARTER = re.compile(r"(\d{4})\s*[-/ ]?\s*Q([1-4])|Q([1-4])\s*[-/ ]?\s*(\d{4})", re.IGNORECASE | re.ASCII)


def quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def read_quarter(value: Any) -> str:
    """A delivery quarter: 2027Q2 (also 2027-Q2, 2027 Q2, Q2 2027). A date cell says which quarter to write."""
    if isinstance(value, datetime | date):
        raise Invalid(f"the cell holds the date {value:%Y-%m-%d}, not a quarter: write {quarter_of(value)}")
    text = "" if value is None else str(value).translate(_SPACES).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not text:
        raise Invalid("give a quarter such as 2027Q2")
    if len(text) > 20:
        raise Invalid("is not a quarter: write it like 2027Q2")
    found = _QUARTER.fullmatch(text)
    if found is None and any(unicodedata.category(ch) == "Cc" for ch in text):
        raise Invalid("holds an invisible control character: write the quarter like 2027Q2")
    if found is None and any(ch.isdigit() and not ch.isascii() for ch in text):
        ascii_text = "".join(str(unicodedata.digit(ch)) if ch.isdigit() else ch for ch in text)
        raise Invalid(f"“{_shown(text)}” uses digits other than 0-9: type it as {_shown(ascii_text)}")
    if found is None:
        raise Invalid(f"“{_shown(text)}” is not a quarter: write it like 2027Q2")
    year, q = (found.group(1), found.group(2)) if found.group(1) else (found.group(4), found.group(3))
    if not QUARTER_YEARS[0] <= int(year) <= QUARTER_YEARS[1]:
        raise Invalid(f"{year} is not a year a delivery can be planned for")
    return f"{year}Q{q}"


# ---------------------------------------------------------------- text and ids

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _shown(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_text(value: Any, *, max_length: int, multiline: bool = False, required: bool = False) -> str:
    """Free text: trimmed, at most `max_length` characters, no control characters (NUL, escape...) or
    direction overrides; line breaks and tabs only where the field has several lines."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 12.0 is the 12 that was typed
    text = "" if value is None else str(value)
    if len(text) > max_length + 1000:
        raise Invalid(f"must be at most {max_length:,} characters (it has {len(text):,})")
    text = text.strip()
    for position, ch in enumerate(text, start=1):
        category = unicodedata.category(ch)
        if (category == "Cc" and not (multiline and ch in "\n\r\t")) or category == "Cs" or ch in _BIDI:
            name = "NUL" if ch == "\x00" else f"U+{ord(ch):04X}"
            raise Invalid(f"holds an invisible control character ({name}) at character {position}: remove it")
    if required and not text:
        raise Invalid("must not be empty")
    if len(text) > max_length:
        raise Invalid(f"must be at most {max_length:,} characters (it has {len(text):,})")
    return text


def read_id(value: Any) -> int:
    """A database id as typed in a form or a URL: 1 to ID_MAX."""
    if isinstance(value, bool):
        raise Invalid("is not an id")
    text = str(value).strip() if value is not None else ""
    if not text.isascii() or not text.isdigit() or len(text) > len(str(ID_MAX)) or not 1 <= int(text) <= ID_MAX:
        raise Invalid(f"“{_shown(text)}” is not an id")
    return int(text)


def read_ids(values: Iterable[Any]) -> list[int]:
    return [read_id(v) for v in values]


def plain(value: Any) -> str:
    """What a cell or field holds as trimmed text, for codes and choices (a spreadsheet's 12.0 is 12)."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# ---------------------------------------------------------------- the errors-dict style the services use


def into(errors: dict[str, str], name: str, read: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a reader; on Invalid record errors[name] and return None."""
    try:
        return read(*args, **kwargs)
    except Invalid as exc:
        errors[name] = str(exc)
        return None


def whole(
    value: Any,
    errors: dict[str, str],
    name: str,
    *,
    minimum: int,
    maximum: int = QUANTITY_MAX,
    message: str = "",
    fmt: NumberFormat = NumberFormat.POINT,
) -> int | None:
    """read_whole in the errors-dict style: errors[name] and None on a problem."""
    return into(errors, name, read_whole, value, fmt, minimum=minimum, maximum=maximum, message=message)


def amount(
    value: Any, errors: dict[str, str], name: str, *, currency: str, fmt: NumberFormat = NumberFormat.POINT
) -> Decimal | None:
    """read_money in the errors-dict style."""
    return into(errors, name, read_money, value, currency, fmt)


def text_field(value: Any, errors: dict[str, str], name: str, *, max_length: int, multiline: bool = False) -> str:
    """read_text in the errors-dict style ("" on a problem)."""
    return into(errors, name, read_text, value, max_length=max_length, multiline=multiline) or ""


text = plain


# The table the README shows (kept here so the limits and the documentation cannot drift apart).
LIMITS: list[tuple[str, str]] = [
    (
        "quantity (line, bid, tier, package item, lot size)",
        f"whole number, 1 to {QUANTITY_MAX:,} (and at most the lot's size)",
    ),
    ("capacity for a round", f"whole number, 0 to {CAPACITY_MAX:,}"),
    ("minimum range (km) and payload (kg) of a demand line", f"whole number, 0 to {SPEC_MAX:,}; empty is 0"),
    (
        "range, payload, battery of a catalog model",
        f"whole number, 1 to {SPEC_MAX:,}; payload and battery may be empty",
    ),
    ("yearly capacity of a catalog model", f"whole number, 0 to {SPEC_MAX:,}, or empty"),
    (
        "money (price, tier, list price, deposit)",
        f"above 0 (deposit: 0 or more), below {MONEY_MAX:,}, "
        "whole in the currency's minor unit (cents; JPY and CLP whole units); "
        "no more decimals typed than the currency has, even zeros",
    ),
    ("currency", ", ".join(CURRENCIES)),
    ("percent", "0 to 100 (a supplier's share of a lot: 1 to 100), at most one decimal"),
    ("quarter", f"2027Q2 (also 2027-Q2, Q2 2027), years {QUARTER_YEARS[0]}-{QUARTER_YEARS[1]}, not in the past"),
    (
        "date and time",
        f"a deadline typed in your time zone (account page), stored in UTC; "
        f"years {QUARTER_YEARS[0]}-{QUARTER_YEARS[1] - 1}, not in the past",
    ),
    ("confirmation period", "whole number of days, 1 to 365"),
    ("lot size (round, pooling run)", f"whole number, 1 to {QUANTITY_MAX:,}; the minimum at most the maximum"),
    ("region levels a line may pool up", "whole number, 0 to 3"),
    ("winners per lot", "whole number, 1 to 20"),
    ("solver time limit (pooling run, scenario)", "whole number of seconds, 1 to 600"),
    ("region, segment", "an id or name from the round's scope"),
    ("id (in a form or a URL)", "whole number, 1 to 2^63 - 1; anything else is not found"),
    (
        "typed number",
        f"at most {NUMBER_TEXT_MAX} characters, in the organization's number format, digits 0-9 only, "
        "no exponent; a whole number has no decimal mark (10.0 and 1.000 are refused)",
    ),
    ("name", f"at most {NAME_MAX} characters, no control characters"),
    ("note", f"at most {NOTE_MAX} characters, no control characters"),
    ("description", f"at most {DESCRIPTION_MAX:,} characters; line breaks allowed"),
    (
        "spreadsheet (demand upload, bid sheet)",
        "CSV in UTF-8 (a BOM is fine), comma or semicolon; XLSX: a number cell is a number, a date cell the date "
        "shown; formulas and merged cells refused; a hidden sheet is not read",
    ),
]
