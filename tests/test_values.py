"""Every value read exactly as meant (issue 14): the number format, money in its currency, huge numbers,
control characters, Excel dates, ids in URLs, and the template's example row. Each case is one a
user met: a decimal comma saved as a 100x price, a 5,000-digit quantity crashing the page, a NUL in a
note breaking the export, a date cell reported as "46478 is not a quarter"."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from marketplace.extensions import db
from marketplace.models import AuditEntry, DemandLine, DemandStatus, RoundPhase
from marketplace.services import accounts, demand, demand_upload, rounds
from marketplace.services.demand import FIELDS
from marketplace.services.errors import ValidationFailed
from marketplace.services.values import (
    Invalid,
    NumberFormat,
    check_minor_unit,
    default_number_format,
    minor_unit,
    number_format_of,
    read_id,
    read_money,
    read_number,
    read_quarter,
    read_text,
    read_whole,
)
from tests.demand_helpers import NOW, open_round, sheet_row, valid_values, xlsx_bytes
from tests.factories import make_line, make_round
from tests.upload_bombs import with_sheet

POINT, COMMA = NumberFormat.POINT, NumberFormat.COMMA


@pytest.fixture(autouse=True)
def fixed_clock(frozen_clock):
    frozen_clock.freeze(NOW)
    return frozen_clock


@pytest.fixture
def rnd(world):
    return open_round(world, region_ids=["US-CA", "US-TX"])


def refused(read, *args, **kwargs) -> str:
    with pytest.raises(Invalid) as exc:
        read(*args, **kwargs)
    return str(exc.value)


# ---------------------------------------------------------------- the readers


def test_a_number_is_read_by_the_organizations_format_and_never_guessed():
    assert read_number("185,000.50", POINT) == Decimal("185000.50")
    assert read_number("185.000,50", COMMA) == Decimal("185000.50")
    assert read_number("185000,50", COMMA) == Decimal("185000.50")
    assert read_number("185 000,50", COMMA) == Decimal("185000.50")
    assert read_number("1.234", COMMA) == 1234
    assert read_number("1,234", POINT) == 1234
    # The cases that were saved 100x too large are refused, saying how to write them.
    assert refused(read_number, "185000,50", POINT) == (
        "“185000,50” is not written in your organization's number format (1,234.56, set on the account page): "
        "write it as 185000.50, without thousands separators"
    )
    assert "write it as 1.85" in refused(read_number, "1,85", POINT)
    assert "write it as 1234,5" in refused(read_number, "1,234.5", COMMA)
    assert "write it like" in refused(read_number, "1,23,456", POINT)  # separators must group by three
    assert "1,234.56" in refused(read_money, "400000,50", "USD", POINT)


def test_spreadsheet_number_cells_need_no_format():
    assert read_number(0.1, COMMA) == Decimal("0.1")
    assert read_number(12, COMMA) == 12
    assert read_whole(12.0, POINT, minimum=1, maximum=100) == 12
    assert "date" in refused(read_number, date(2027, 4, 1))
    assert refused(read_number, float("nan")) == "is not a number"


def test_huge_tiny_and_strange_numbers_get_messages_not_crashes():
    assert refused(read_whole, "9" * 5000, POINT, minimum=1, maximum=10) == (
        "is too long for a number (5,000 characters; at most 40)"
    )
    assert refused(read_whole, 10**5000, POINT, minimum=1, maximum=10).startswith("is too long for a number")
    assert refused(read_whole, "0.0000001", POINT, minimum=1, maximum=10) == "must be a whole number, at least 1"
    assert refused(read_whole, "1e5", POINT, minimum=1, maximum=10) == (
        "“1e5” is written with an exponent: write it in full: 100000"
    )
    assert refused(read_whole, "12\x00", POINT, minimum=1, maximum=100).startswith("holds an invisible control")
    assert refused(read_whole, "١٢", POINT, minimum=1, maximum=100) == "“١٢” uses digits other than 0-9: type it as 12"
    assert refused(read_whole, True, POINT, minimum=0, maximum=100) == "must be a whole number, at least 0"


def test_what_the_hostile_corpus_found_is_refused_with_how_to_write_it():
    # A thousands-grouped number of the other format is never saved as a decimal of this one.
    assert refused(read_whole, "1.000", POINT, minimum=1, maximum=10**6) == (
        "“1.000” is 1 in your organization's number format (1,234.56, set on the account page): "
        "if you meant 1,000, write 1000"
    )
    assert refused(read_whole, "1,500", COMMA, minimum=1, maximum=10**6).endswith("if you meant 1.500, write 1500")
    assert refused(read_money, "1.500", "USD", POINT).startswith("more than 2 decimals: prices are exact to the cent;")
    assert refused(read_money, "1.500", "JPY", POINT).endswith("if you meant 1,500, write 1500")
    assert refused(read_whole, "10.0", POINT, minimum=1, maximum=100) == "must be a whole number, at least 1"
    assert read_whole(10.0, POINT, minimum=1, maximum=100) == 10  # a spreadsheet's number cell is a number
    # Exponents, other digits, signs.
    assert refused(read_number, "2.5e3", POINT) == "“2.5e3” is written with an exponent: write it in full: 2500"
    assert refused(read_number, "2.5e3", COMMA).endswith("write the number in full, like 1234")  # not a guess
    assert refused(read_number, "\uff11\uff12\uff13", POINT) == "“１２３” uses digits other than 0-9: type it as 123"
    assert read_number("+12", POINT) == 12 and str(read_number("-0", POINT)) == "0"
    assert read_number("1\u202f234,5", COMMA) == Decimal("1234.5")
    # Quarters: full-width digits were saved as typed, a NUL was shown invisibly.
    assert (
        refused(read_quarter, "\uff12\uff10\uff12\uff17Q2")
        == "“２０２７Q2” uses digits other than 0-9: type it as 2027Q2"
    )
    assert refused(read_quarter, "2027Q2\x00").startswith("holds an invisible control character")
    assert read_quarter("2027\u00a0Q2") == "2027Q2"


def test_money_knows_its_currencys_minor_unit():
    assert minor_unit("USD") == Decimal("0.01") and minor_unit("JPY") == 1 and minor_unit("CLP") == 1
    assert read_money("1000", "JPY") == Decimal("1000.00")
    assert refused(read_money, "1000.50", "JPY") == "JPY has no cents: give a whole amount"
    assert refused(read_money, "1000.505", "USD") == "more than 2 decimals: prices are exact to the cent"
    assert refused(read_money, "100000000", "USD") == "must be below 100,000,000 USD"
    assert read_money("0", "USD", allow_zero=True) == 0
    # 40 digits (the longest number text read): a message, not decimal.InvalidOperation (a 500)
    assert refused(read_money, "9" * 38 + ".5", "USD") == "must be below 100,000,000 USD"
    assert refused(read_money, "9" * 40, "JPY") == "must be below 100,000,000 JPY"
    assert check_minor_unit(Decimal("1" * 38 + ".01"), "USD") is None
    assert check_minor_unit(Decimal("1" * 38 + ".5"), "JPY") == "JPY has no cents: give a whole amount"


def test_quarters_text_ids():
    assert [read_quarter(q) for q in ("2027Q2", "2027-q3", "Q4 2027", "2028 Q1")] == [
        "2027Q2", "2027Q3", "2027Q4", "2028Q1",
    ]  # fmt: skip
    assert refused(read_quarter, date(2027, 4, 1)) == "the cell holds the date 2027-04-01, not a quarter: write 2027Q2"
    assert refused(read_quarter, 46478) == "“46478” is not a quarter: write it like 2027Q2"
    assert read_text("  Depot\nLong Beach ", max_length=50, multiline=True) == "Depot\nLong Beach"
    assert "(NUL) at character 3" in refused(read_text, "ab\x00c", max_length=50)
    assert "U+202E" in refused(read_text, "a\u202eb", max_length=50)
    assert "line" not in refused(read_text, "a\nb", max_length=50)  # one-line fields refuse line breaks
    assert read_id("42") == 42
    for bad in ("9" * 30, "2147483648", "-1", "0", "4.2", "", "x", "٤٢"):  # ids are 32-bit on PostgreSQL
        assert refused(read_id, bad).endswith("is not an id")


def test_the_default_format_follows_the_country_and_the_organization_can_change_it(world):
    assert default_number_format("US") is POINT and default_number_format("DE") is COMMA
    assert default_number_format("BR") is COMMA and default_number_format("MX") is POINT
    assert number_format_of(world.fleet) is POINT  # a US organization
    accounts.set_number_format(world.fleet, "comma")
    assert number_format_of(world.fleet) is COMMA
    entry = db.session.execute(
        sa.select(AuditEntry).where(AuditEntry.action == "organization.number_format")
    ).scalar_one()
    assert entry.after == {"number_format": "comma"}
    with pytest.raises(ValidationFailed):
        accounts.set_number_format(world.fleet, "guess")


def test_the_account_page_sets_the_number_format(world, login):
    client = login(world.fleet)
    page = client.get("/account").get_data(as_text=True)
    assert "1.234,56: a comma before the decimals" in page
    response = client.post("/account/number-format", data={"number_format": "comma"}, follow_redirects=True)
    assert "are now read as 1.234,56" in response.get_data(as_text=True)
    assert client.post("/account/number-format", data={"number_format": "x"}).status_code == 400


# ---------------------------------------------------------------- demand lines: form and upload


def test_a_decimal_comma_price_is_refused_or_read_by_the_organizations_format(world, rnd, login):
    client = login(world.fleet)
    data = {**valid_values(max_unit_price="185000,50"), "charging": ["CCS1"], "splittable": ""}
    response = client.post(f"/fleet/rounds/{rnd.id}/lines/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "write it as 185000.50" in page
    assert 'value="185000,50"' in page  # what was typed is kept
    assert db.session.execute(sa.select(sa.func.count(DemandLine.id))).scalar_one() == 0
    accounts.set_number_format(world.fleet, "comma")
    line = demand.create_line(rnd.id, valid_values(max_unit_price="185.000,50", quantity="1.200"), world.fleet)
    assert (line.max_unit_price, line.quantity) == (Decimal("185000.50"), 1200)


def test_huge_numbers_and_a_nul_in_a_note_are_messages(world, rnd, login):
    client = login(world.fleet)
    for field, value, message in [
        ("quantity", "9" * 5000, "Is too long for a number"),
        ("min_range_km", "9" * 5000, "Is too long for a number"),
        ("note", "Depot\x00", "Holds an invisible control character (NUL)"),
    ]:
        data = {**valid_values(**{field: value}), "charging": ["CCS1"], "splittable": ""}
        response = client.post(f"/fleet/rounds/{rnd.id}/lines/new", data=data)
        assert response.status_code == 400 and message in response.get_data(as_text=True), field
    assert db.session.execute(sa.select(sa.func.count(DemandLine.id))).scalar_one() == 0


def _xlsx(rows: list[list], formats: dict[int, str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Demand lines"
    sheet.append(list(FIELDS))
    for row in rows:
        sheet.append(row)
    for column, number_format in (formats or {}).items():
        for cells in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            for cell in cells:
                cell.number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_excel_date_cells_and_decimal_comma_text_in_an_upload(world, rnd):
    quarter_col = FIELDS.index("earliest_quarter") + 1
    data = _xlsx(
        [
            sheet_row(earliest_quarter=datetime(2027, 4, 1)),
            sheet_row(max_unit_price="185000,50"),
            sheet_row(quantity="9" * 5000),
            sheet_row(note="Example line: replace or delete this row"),
        ],
        {quarter_col: "yyyy-mm-dd"},
    )
    check = demand_upload.check_upload(rnd.id, "lines.xlsx", data, world.fleet)
    problems = [str(p) for p in check.problems]
    assert problems[0] == "row 2, earliest_quarter: the cell holds the date 2027-04-01, not a quarter: write 2027Q2"
    assert problems[1].startswith("row 3, max_unit_price: “185000,50” is not written in your organization's number")
    assert problems[2].startswith("row 4, quantity: is too long for a number")
    assert problems[3].startswith("row 5, note: this is the template's example line")
    assert check.upload is None


def test_a_huge_number_cell_and_a_nul_in_a_csv_name_the_row(world, rnd):
    # A number cell of 5,000 digits, as another program may write it.
    data = with_sheet(
        xlsx_bytes([sheet_row(quantity=10)]), lambda xml: xml.replace(b"<v>10</v>", b"<v>" + b"9" * 5000 + b"</v>", 1)
    )
    check = demand_upload.check_upload(rnd.id, "lines.xlsx", data, world.fleet)
    assert [str(p) for p in check.problems] == [
        "row 2, quantity: is too long for a number (5,000 characters; at most 40)"
    ]
    csv_data = ",".join(FIELDS).encode() + b"\r\n" + b"md_box_truck,us-ca-los-angeles,1\x00\r\n"
    with pytest.raises(demand_upload.UploadRefused, match="line 2 holds a NUL character"):
        demand_upload.check_upload(rnd.id, "lines.csv", csv_data, world.fleet)


def test_the_preview_shows_values_as_they_will_be_saved(world, rnd, login):
    client = login(world.fleet)
    accounts.set_number_format(world.fleet, "comma")
    data = _xlsx([sheet_row(max_unit_price="185.000,50", note="ours")])
    response = client.post(
        f"/fleet/rounds/{rnd.id}/upload", data={"file": (io.BytesIO(data), "lines.xlsx")}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "185,000.50" in page and "1.234,56" in page


# ---------------------------------------------------------------- ids, rounds


def test_30_digit_ids_are_not_found_or_refused_never_a_crash(world, rnd, login):
    line = make_line(rnd, world.fleet.organization, status=DemandStatus.DRAFT)
    client = login(world.fleet)
    response = client.post(
        f"/fleet/rounds/{rnd.id}/commit", data={"line_ids": [str(line.id), "9" * 30]}, follow_redirects=True
    )
    assert "reload the page and choose again" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DemandLine, line.id).status is DemandStatus.DRAFT
    assert client.get(f"/fleet/lines/{'9' * 30}/edit").status_code == 404
    oem = login(world.oem)
    assert oem.get(f"/oem/rounds/{rnd.id}/lots/{'9' * 30}/bid").status_code == 404


def test_a_round_refuses_a_jpy_deposit_with_cents_when_it_is_set(world):
    rnd = make_round(world.coordinator, RoundPhase.DRAFT)
    settings = rounds.settings_of(rnd)
    settings.currency, settings.deposit_per_vehicle = "JPY", Decimal("1000.50")
    with pytest.raises(ValidationFailed) as exc:
        rounds.update_round(rnd.id, settings, world.coordinator)
    assert exc.value.field_errors == {"deposit_per_vehicle": "JPY has no cents: give a whole amount."}


def test_the_readme_lists_every_limit_as_the_code_defines_it():
    from pathlib import Path

    from marketplace.services.values import LIMITS

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for value, limit in LIMITS:
        assert f"| {value} | {limit} |" in readme, value
    # One table, and nothing in it that the code does not define.
    assert readme.count("| value | limits |") == 1
    table = readme[readme.index("| value | limits |") :].split("\n\n")[0].splitlines()[2:]
    assert table == [f"| {value} | {limit} |" for value, limit in LIMITS]
