"""A corpus of hostile numbers typed as a new user would, over every place a number is typed (issue 14).

Each text comes with what it means under each number format (1,234.56 and 1.234,56), written down
by hand, not computed by the reader under test. Over every form and upload: never a 5xx; a value
is saved only when it means exactly one thing in the organization's format, and is then saved as
that number (0 silently misread values); a refused value saves nothing and its message is next to
the field or names the row and column; a value that is valid where it is typed is not refused.
"""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from marketplace.extensions import db
from marketplace.models import BidRevision, DemandLine, PackageRevision, Round, VehicleModel
from marketplace.services import bid_sheet, bidding, demand_upload
from marketplace.services.demand import FIELDS
from marketplace.services.values import MONEY_MAX, NumberFormat
from tests.bidding_helpers import package_values
from tests.demand_helpers import NOW, form_data, open_round, sheet_row, xlsx_bytes
from tests.factories import make_model, make_tender

POINT, COMMA = NumberFormat.POINT, NumberFormat.COMMA

# text, its number under 1,234.56, its number under 1.234,56 (None: it is no number there, refuse it)
CORPUS: list[tuple[str, str | None, str | None]] = [
    ("1.234", "1.234", "1234"),
    ("1,234", "1234", "1.234"),
    ("1.500", "1.500", "1500"),
    ("1,500", "1500", "1.500"),
    ("1.234,56", None, "1234.56"),
    ("1,234.56", "1234.56", None),
    ("185000,50", None, "185000.50"),
    ("185000.50", "185000.50", None),
    ("1,85", None, "1.85"),
    ("12.50", "12.50", None),
    ("1.000.000", None, "1000000"),
    ("1,000,000", "1000000", None),
    ("1.000,000", None, "1000.000"),
    ("1,234,56", None, None),
    ("12,34,567", None, None),  # Indian grouping
    ("1,2345", None, "1.2345"),
    ("1'234", None, None),  # Swiss grouping
    ("1 234", "1234", "1234"),
    ("1\u00a0234", "1234", "1234"),  # NBSP, as a French keyboard or Excel writes it
    ("1\u202f234,5", None, "1234.5"),  # narrow NBSP
    ("12 345 678,9", None, "12345678.9"),
    ("1 000.5", "1000.5", None),
    ("  42  ", "42", "42"),
    ("\t42\n", "42", "42"),
    ("00042", "42", "42"),
    ("+12", "12", "12"),
    ("-0", "0", "0"),
    ("-5", "-5", "-5"),
    ("\u22125", None, None),  # the typographic minus
    ("1e5", None, None),
    ("1E+05", None, None),
    ("2.5e3", None, None),
    ("1E400", None, None),
    ("\u0661\u0662\u0663", None, None),  # Arabic-Indic digits
    ("\uff11\uff12\uff13", None, None),  # full-width digits
    ("\u0967\u0968", None, None),  # Devanagari digits
    ("9" * 40, "9" * 40, "9" * 40),
    ("9" * 41, None, None),
    ("9" * 5000, None, None),
    ("1" + "0" * 30, "1" + "0" * 30, "1" + "0" * 30),
    ("0.000000001", "0.000000001", None),
    ("0,000000001", None, "0.000000001"),
    ("12\x00", None, None),
    ("\x1b[31m12", None, None),
    ("12\u200b", None, None),  # zero-width space
    ("\u202e21", None, None),  # right-to-left override
    ("42.", None, None),
    (".5", None, None),
    ("0x10", None, None),
    ("1_000", None, None),
    ("NaN", None, None),
    ("inf", None, None),
    ("-Infinity", None, None),
    ("", None, None),
    (" ", None, None),
    ("\u00bd", None, None),  # ½
    ("12%", None, None),
    ("$100", None, None),
    ("100 USD", None, None),
    ("1/2", None, None),
    ("--1", None, None),
    ("1..2", None, None),
    ("true", None, None),
    ("[]", None, None),
    ("=1+1", None, None),
]


# The forms get a sample of every kind above (each request renders a page; the whole corpus over every
# form field takes minutes); the uploads and the bid sheet, read by services, get all of it.
# HOSTILE_CORPUS=full runs every text over every form field too.
FORM_SAMPLE = [
    text for text, *_ in CORPUS
    if os.environ.get("HOSTILE_CORPUS") == "full" or text in {
        "1.234", "1,234", "1.500", "1,500", "1.234,56", "1,234.56", "185000,50", "1,85", "1\u00a0234",
        "+12", "-0", "1e5", "\u0661\u0662\u0663", "\uff11\uff12\uff13", "9" * 5000, "1" + "0" * 30,
        "0.000000001", "12\x00", "\u202e21", "", "NaN", "12,34,567",
    }
]  # fmt: skip


def meaning(text: str, fmt: NumberFormat) -> Decimal | None:
    row = next(r for r in CORPUS if r[0] == text)
    value = row[1] if fmt is POINT else row[2]
    return None if value is None else Decimal(value)


def acceptable(
    text: str, fmt: NumberFormat, *, minimum: Decimal | int, maximum: Decimal | int, places: int, below: bool = False
) -> Decimal | None:
    """What a field with these limits must save for `text`, or None when it must refuse it."""
    number = meaning(text, fmt)
    if number is None or number < minimum or number > maximum or (below and number >= maximum):
        return None
    if number.as_tuple().exponent < -places:  # more decimals typed than the field has, even zeros
        return None
    return number


WHOLE = {"places": 0}
MONEY = {"minimum": Decimal("0.01"), "maximum": MONEY_MAX, "places": 2, "below": True}


class Tally:
    """What the corpus found, for the report: every case is counted; failures are listed."""

    def __init__(self) -> None:
        self.cases = 0
        self.failures: list[str] = []

    def case(self, where: str, text: str, fmt: NumberFormat, status: int, saved: Any, expected: Any, named: bool):
        self.cases += 1
        label = f"{where} {fmt.label} {text[:30]!r}"
        if status >= 500:
            self.failures.append(f"{label}: HTTP {status}")
        elif saved is not None and (expected is None or Decimal(saved) != expected):
            self.failures.append(f"{label}: saved as {saved}, means {expected}")
        elif saved is None and expected is not None:
            self.failures.append(f"{label}: refused, but it is {expected}")
        elif saved is None and not named:
            self.failures.append(f"{label}: refused without naming the field or row")

    def assert_clean(self) -> None:
        assert not self.failures, f"{len(self.failures)} of {self.cases}:\n" + "\n".join(self.failures)


def set_format(org, fmt: NumberFormat) -> None:
    org.number_format = fmt.value
    db.session.commit()


def latest(model, *where) -> Any:
    db.session.expire_all()
    return db.session.execute(sa.select(model).where(*where).order_by(model.id.desc()).limit(1)).scalar_one_or_none()


def named(page: str, field: str) -> bool:
    return f'data-error="{field}"' in page or ("invalid-feedback" in page and f'name="{field}"' in page)


@pytest.fixture(autouse=True)
def fixed_clock(frozen_clock):
    frozen_clock.freeze(NOW)
    return frozen_clock


@pytest.mark.parametrize("fmt", [POINT, COMMA])
def test_the_demand_line_form(world, login, fmt):
    rnd = open_round(world, region_ids=["US-CA"])
    set_format(world.fleet.organization, fmt)
    client = login(world.fleet)
    tally = Tally()
    limits = {
        "quantity": {"minimum": 1, "maximum": 100_000, **WHOLE},
        "max_unit_price": MONEY,
    }
    for field, limit in limits.items():
        for text in FORM_SAMPLE:
            before = latest(DemandLine)
            response = client.post(f"/fleet/rounds/{rnd.id}/lines/new", data=form_data(**{field: text}))
            after = latest(DemandLine)
            saved = getattr(after, field) if after is not None and after != before else None
            page = response.get_data(as_text=True)
            expected = acceptable(text, fmt, **limit)
            tally.case(f"line form {field}", text, fmt, response.status_code, saved, expected, named(page, field))
    tally.assert_clean()


@pytest.mark.parametrize("fmt", [POINT, COMMA])
def test_the_oem_forms(world, login, fmt):
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    set_format(world.oem.organization, fmt)
    client = login(world.oem)
    tally = Tally()
    for text in FORM_SAMPLE:  # capacity first: the bids below need one
        response = client.post(f"/oem/rounds/{rnd.id}/capacity", data={"capacity": text})
        db.session.expire_all()
        saved = bidding.capacity_of(rnd, world.oem) if response.status_code == 302 else None
        expected = acceptable(text, fmt, minimum=0, maximum=1_000_000, **WHOLE)
        tally.case("capacity", text, fmt, response.status_code, saved, expected,
                   named(response.get_data(as_text=True), "capacity"))  # fmt: skip
    bidding.set_capacity(rnd.id, 500, world.oem)

    bid = {"model_code": model.code, "min_quantity": "10", "max_quantity": "40", "tier1_min": "10"}
    for text in FORM_SAMPLE:
        response = client.post(f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid", data={**bid, "tier1_price": text})
        saved = latest(BidRevision).tiers[0].unit_price if response.status_code == 302 else None
        tally.case("bid tier1_price", text, fmt, response.status_code, saved, acceptable(text, fmt, **MONEY),
                   named(response.get_data(as_text=True), "tier1_price"))  # fmt: skip
    for text in FORM_SAMPLE:
        response = client.post(
            f"/oem/rounds/{rnd.id}/lots/{lots[0].id}/bid", data={**bid, "max_quantity": text, "tier1_price": "200000"}
        )
        saved = latest(BidRevision).max_quantity if response.status_code == 302 else None
        tally.case("bid max_quantity", text, fmt, response.status_code, saved,
                   acceptable(text, fmt, minimum=10, maximum=40, **WHOLE),
                   named(response.get_data(as_text=True), "max_quantity"))  # fmt: skip

    key = f"lot{lots[1].id}_unit_price"
    for text in FORM_SAMPLE:
        before = latest(PackageRevision)
        data = {**package_values(lots, model), key: text}
        response = client.post(f"/oem/rounds/{rnd.id}/packages/new", data=data)
        after = latest(PackageRevision)
        saved = after.items[1].unit_price if after is not None and after != before else None
        tally.case("package unit_price", text, fmt, response.status_code, saved, acceptable(text, fmt, **MONEY),
                   named(response.get_data(as_text=True), key))  # fmt: skip

    names = count()
    base = {"segment_id": "md_box_truck", "powertrain": "BEV", "markets": "US", "charging": ["CCS1"],
            "currency": "USD", "range_km": "300", "list_price": "200000"}  # fmt: skip
    for field, limit in (("range_km", {"minimum": 1, "maximum": 1_000_000, **WHOLE}), ("list_price", MONEY)):
        for text in FORM_SAMPLE:
            before = latest(VehicleModel)
            data = {**base, "name": f"Corpus {next(names)}", field: text}
            response = client.post("/oem/catalog/new", data=data)
            after = latest(VehicleModel)
            saved = getattr(after, field) if after is not None and after != before else None
            expected = acceptable(text, fmt, **limit)
            empty = field == "list_price" and not text.strip()  # no list price is a choice: saved as none
            tally.case(f"catalog {field}", text, fmt, response.status_code, saved, expected,
                       empty or named(response.get_data(as_text=True), field))  # fmt: skip
    tally.assert_clean()


ROUND_COLUMNS = {"max_share_percent": "max_share_per_supplier"}


@pytest.mark.parametrize("fmt", [POINT, COMMA])
def test_the_round_settings_form(world, login, fmt):
    set_format(world.coordinator.organization, fmt)
    client = login(world.coordinator)
    tally = Tally()
    base = {"segment_ids": ["md_box_truck"], "region_ids": ["US-CA"], "line_service": "whole", "currency": "USD",
            "confirmation_period_days": "14", "min_lot_quantity": "20", "max_lot_quantity": "400",
            "max_levels_up": "2", "max_winners_per_lot": "2", "max_share_percent": "100",
            "deposit_per_vehicle": "0", "decline_forfeit_percent": "100", "withdrawal_forfeit_percent": "100"}  # fmt: skip
    names = count()
    fields = {
        "deposit_per_vehicle": {"minimum": 0, "maximum": MONEY_MAX, "places": 2, "below": True},
        "max_share_percent": {"minimum": 1, "maximum": 100, "places": 1},
    }
    for field, limit in fields.items():
        for text in FORM_SAMPLE:
            before = latest(Round)
            response = client.post("/coordinator/rounds/new", data={**base, "name": f"R{next(names)}", field: text})
            after = latest(Round)
            saved = getattr(after, ROUND_COLUMNS.get(field, field)) if after is not None and after != before else None
            if saved is not None and field == "max_share_percent":
                saved = saved * 100  # stored as a fraction
            tally.case(f"round {field}", text, fmt, response.status_code, saved, acceptable(text, fmt, **limit),
                       named(response.get_data(as_text=True), field))  # fmt: skip
    tally.assert_clean()


def _upload_case(tally, where, rnd, world, fmt, name, data, field, text, limit):
    try:
        check = demand_upload.check_upload(rnd.id, name, data, world.fleet)
    except demand_upload.UploadRefused as exc:
        wording = exc.message.lower()  # a file refused as a whole names the line (CSV) or row
        tally.case(
            where, text, fmt, 400, None, acceptable(text, fmt, **limit), "line 2" in wording or "row 2" in wording
        )
        return
    saved = None
    if check.upload is not None:
        rows = demand_upload.staged_lines(check.upload)
        saved = getattr(rows[0][1], field)
    problems = [str(p) for p in check.problems]
    named_row = any(p.startswith(f"row 2, {field}:") for p in problems)
    tally.case(where, text, fmt, 200, saved, acceptable(text, fmt, **limit), named_row)


@pytest.mark.parametrize("fmt", [POINT, COMMA])
def test_the_demand_upload_csv_and_xlsx_text_cells(world, fmt):
    rnd = open_round(world, region_ids=["US-CA"])
    set_format(world.fleet.organization, fmt)
    tally = Tally()
    limits = {"quantity": {"minimum": 1, "maximum": 100_000, **WHOLE}, "max_unit_price": MONEY}
    for field, limit in limits.items():
        for text, *_ in CORPUS:
            row = sheet_row(**{field: text})
            for delimiter in (",", ";"):  # Excel writes a semicolon where the decimal mark is a comma
                out = io.StringIO()
                csv.writer(out, delimiter=delimiter).writerows([list(FIELDS), row])
                data = b"\xef\xbb\xbf" + out.getvalue().encode()  # with the BOM Excel writes
                _upload_case(tally, f"csv{delimiter} {field}", rnd, world, fmt, "lines.csv", data, field, text, limit)
            if text in FORM_SAMPLE and not ILLEGAL_CHARACTERS_RE.search(text):  # openpyxl cannot write a NUL
                data = xlsx_bytes([row])
                _upload_case(tally, f"xlsx {field}", rnd, world, fmt, "lines.xlsx", data, field, text, limit)
    db.session.rollback()
    tally.assert_clean()


def _bid_sheet_world(world, fmt):
    """A tender the OEM may bid on (capacity 500, its number format `fmt`) and its bid sheet."""
    rnd, lots = make_tender(world.coordinator, world.fleet.organization)
    model = make_model(world.oem.organization)
    bidding.set_capacity(rnd.id, 500, world.oem)
    set_format(world.oem.organization, fmt)
    return rnd, lots, model, bid_sheet.build_sheet(rnd, world.oem)


@pytest.mark.parametrize("fmt", [POINT, COMMA])
def test_the_bid_sheet_text_cells(world, fmt):
    from openpyxl import load_workbook

    rnd, lots, model, template = _bid_sheet_world(world, fmt)
    tally = Tally()
    for text in FORM_SAMPLE:
        if ILLEGAL_CHARACTERS_RE.search(text):
            continue  # openpyxl cannot write a control character to a cell
        book = load_workbook(io.BytesIO(template))
        sheet = book.active
        header = [c.value for c in sheet[1]]
        row = next(r for r in sheet.iter_rows(min_row=2) if r[header.index("lot")].value == lots[0].code)
        for name, value in (("model_code", model.code), ("min_quantity", 10), ("max_quantity", 40),
                            ("tier1_min", 10), ("tier1_price", text)):  # fmt: skip
            row[header.index(name)].value = value
        out = io.BytesIO()
        book.save(out)
        try:
            bid_sheet.upload_sheet(rnd.id, "bids.xlsx", out.getvalue(), world.oem)
        except bid_sheet.SheetRefused as exc:
            db.session.rollback()
            wording = " ".join([exc.message, *exc.problems]).lower()
            tally.case("bid sheet tier1_price", text, fmt, 400, None, acceptable(text, fmt, **MONEY),
                       "tier1_price" in wording and "row" in wording)  # fmt: skip
            continue
        saved = bidding.current_bids_of(rnd, world.oem)[lots[0].id].tiers[0].unit_price  # changed or unchanged
        tally.case("bid sheet tier1_price", text, fmt, 200, saved, acceptable(text, fmt, **MONEY), True)
    tally.assert_clean()


@pytest.mark.parametrize("fmt", [POINT, COMMA])
def test_the_bid_sheet_capacity_by_quarter_cells(world, fmt):
    from openpyxl import load_workbook

    from marketplace.services import quarter_capacity

    rnd, _ = make_tender(world.coordinator, world.fleet.organization)
    bidding.set_capacity(rnd.id, 0, world.oem)  # no total to reach: every capacity typed may be saved
    set_format(world.oem.organization, fmt)
    tally = Tally()
    template = bid_sheet.build_sheet(rnd, world.oem)
    for text in FORM_SAMPLE:
        if ILLEGAL_CHARACTERS_RE.search(text):
            continue  # openpyxl cannot write a control character to a cell
        book = load_workbook(io.BytesIO(template))
        book[bid_sheet.CAPACITY_SHEET].append(["2027Q2", None, text])
        out = io.BytesIO()
        book.save(out)
        expected = acceptable(text, fmt, minimum=0, maximum=1_000_000, **WHOLE)
        try:
            bid_sheet.upload_sheet(rnd.id, "bids.xlsx", out.getvalue(), world.oem)
        except bid_sheet.SheetRefused as exc:
            db.session.rollback()
            wording = " ".join([exc.message, *exc.problems]).lower()
            named = "capacity by quarter, row 2, capacity" in wording
            tally.case("capacity sheet capacity", text, fmt, 400, None, expected, named)
            continue
        (row,) = quarter_capacity.rows_of(rnd, world.oem)
        tally.case("capacity sheet capacity", text, fmt, 200, row.capacity, expected, True)
        quarter_capacity.set_rows(rnd.id, {}, world.oem)  # none again: the next text is a change too
    tally.assert_clean()


@pytest.mark.parametrize("fmt", [POINT, COMMA])
def test_the_bid_sheet_package_cells(world, fmt):
    """A new package typed into the Packages sheet, its lot-1 unit price or quantity a hostile text."""
    from openpyxl import load_workbook

    rnd, lots, model, template = _bid_sheet_world(world, fmt)
    tally = Tally()
    limits = {"unit_price": MONEY, "quantity": {"minimum": 1, "maximum": lots[0].quantity, **WHOLE}}
    for field, text in ((f, t) for f in limits for t in FORM_SAMPLE):
        if ILLEGAL_CHARACTERS_RE.search(text):
            continue  # openpyxl cannot write a control character to a cell
        book = load_workbook(io.BytesIO(template))
        item = {"quantity": 10, "unit_price": "230000", field: text}
        book[bid_sheet.PACKAGES_SHEET].append([None, "Corpus", lots[0].code, model.code, item["quantity"],
                                               item["unit_price"], None])  # fmt: skip
        book[bid_sheet.PACKAGES_SHEET].append([None, "Corpus", lots[1].code, model.code, 5, "210000", None])
        out = io.BytesIO()
        book.save(out)
        expected = acceptable(text, fmt, **limits[field])
        try:
            bid_sheet.upload_sheet(rnd.id, "bids.xlsx", out.getvalue(), world.oem)
        except bid_sheet.SheetRefused as exc:
            db.session.rollback()
            wording = " ".join([exc.message, *exc.problems]).lower()
            tally.case(f"package sheet {field}", text, fmt, 400, None, expected, f"packages, row 2, {field}" in wording)
            continue
        (package,) = [p for p in bidding.packages_of(rnd, world.oem) if not p.current.withdrawn]
        first = next(i for i in package.current.items if i.lot_id == lots[0].id)
        tally.case(f"package sheet {field}", text, fmt, 200, getattr(first, field), expected, True)
        bidding.withdraw_package(package.id, world.oem)  # the next text makes a new package of the same name
    tally.assert_clean()


def test_the_corpus_is_as_large_as_the_report_says():
    assert len(CORPUS) >= 60 and len({text for text, *_ in CORPUS}) == len(CORPUS)
    assert FIELDS  # the upload's columns are the form's fields
