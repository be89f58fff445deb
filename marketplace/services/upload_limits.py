"""Bounds on uploaded spreadsheets, checked before any parser builds anything from them.

A few kilobytes can declare gigabytes: a zip entry that inflates 1,000 times, a sheet whose rows
are numbered up to 20 million, a cell at column CZZZZZ that makes a reader pad a row with 48
million empty cells, a CSV line with 2 million columns. Each reader calls this module first, and
a file over a bound is refused with a message saying which bound, in well under a second and
without growing the process.

An XLSX is checked in two passes, neither of which keeps more than one chunk in memory:
1. the zip's central directory: entry count, each entry's and the total uncompressed size, and
   each large entry's compression ratio. Python's zipfile stops at an entry's declared size (a
   lying header fails its CRC), so the declared sizes are upper bounds;
2. every entry streamed through a scanner that counts markup, refuses a DTD (entity expansion),
   and tracks the row and column of every `<row>` and `<c>` (by their `r` reference, or by
   position when it is left out) so that no row number, column, cells in a row or rows in a
   sheet exceed the caller's limits, whatever the sheet's declared `<dimension>` says.
A CSV is read line by line with a cap on the line length, the columns and the lines.
"""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from collections.abc import Iterator

from marketplace.services.errors import ValidationFailed

MAX_ENTRIES = 500  # Excel writes 10-20 parts; images and comments add a few
MAX_ENTRY_BYTES = 20 * 1024 * 1024  # a 10,000-row demand sheet is about 5 MB of XML
MAX_TOTAL_BYTES = 40 * 1024 * 1024
MAX_RATIO = 200  # spreadsheet XML deflates 10-50 times; a bomb 1,000 times
RATIO_FROM_BYTES = 1024 * 1024  # small parts may compress as they like
MAX_MARKUP = 3_000_000  # "<" in the whole archive: elements the parsers would build
MAX_CSV_LINE = 64 * 1024  # characters; a demand line with a 500-character note is under 1,000
EXCEL_MAX_ROWS, EXCEL_MAX_COLUMNS = 1_048_576, 16_384
CHUNK = 1024 * 1024


class UploadTooLarge(ValidationFailed):
    """The file goes over a bound; nothing of it was parsed."""


def column_name(index: int) -> str:
    """1 -> A, 27 -> AA."""
    name = ""
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


# ---------------------------------------------------------------- XLSX

_PREFIX = rb"(?:[^\s/>:!?<]+:)?"  # a namespace prefix, as in <x:row>
# A row's start tag, its attributes quoted (a ">" may stand inside a value).
_ROW = re.compile(rb"<" + _PREFIX + rb"row((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*/?>")
_CELL = re.compile(rb"<" + _PREFIX + rb"c[\s/>]")
_REF = re.compile(rb"\sr\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_DIMENSION = re.compile(rb"<" + _PREFIX + rb"dimension\s[^>]*?ref\s*=\s*[\"']([^\"']*)[\"']")
_DECLARED_ENCODING = re.compile(rb"(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_CELL_REF = re.compile(r"\$?([A-Za-z]+)\$?([0-9]*)")
MAX_TAG_BYTES = 4 * 1024 * 1024  # from one "<" to the next; Excel's longest cell text is 32,767 characters


def _letters_after(last: str) -> str:
    """A pattern for column letters beyond `last` ("CV" -> 3+ letters, D..Z then any, CW..CZ)."""
    width = len(last)
    after = [f"[A-Z]{{{width + 1},}}"]
    for i, letter in enumerate(last):
        if letter < "Z":
            after.append(last[:i] + f"[{chr(ord(letter) + 1)}-Z]" + "[A-Z]" * (width - i - 1))
    return "|".join(after)


def _far_cells(last: str) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """Two patterns finding a cell reference beyond column `last`, or one escaped (no spreadsheet writes
    that): the first for any cell tag, the second, many times faster, for text where every reference is
    written `r="..."` (it may also find another attribute ending in r, which only refuses the file)."""
    reference = rb"\s*\$?(?:" + _letters_after(last).encode() + rb")\$?[0-9]|[^\"']*&"
    exact = re.compile(
        rb"<" + _PREFIX + rb"c\s(?:[^>\"']|\"[^\"]*\"|'[^']*')*?(?<![\w.:-])r\s*=\s*[\"'](?:" + reference + rb")",
        re.IGNORECASE,
    )
    return exact, re.compile(rb'r="(?:' + reference.replace(b"\\\"'", b'\\"') + rb")", re.IGNORECASE)


# What sends a text to the exact patterns: a namespace prefix, an attribute not written name="...", a
# tag name ended by a line break. Plain bytes searches, so the common case costs almost nothing.
_UNUSUAL = (b":c", b":row", b"'", b" =", b"= ", b"\t", b"\n=", b"=\n", b"\r=", b"=\r", b"<c\n", b"<c\r")
_PLAIN_ROW = re.compile(rb"<row((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*/?>")
_PLAIN_CELLS = (b"<c ", b"<c>", b"<c/")


def _ref(attributes: bytes) -> str | None:
    found = _REF.search(attributes)
    if found is None:
        return None
    value = (found.group(1) if found.group(1) is not None else found.group(2)).decode("utf-8", "replace")
    return html.unescape(value).strip() if "&" in value else value.strip()


def _column_of(ref: str) -> int | None:
    """ "CZZZZZ2" -> its column number (1-based), without building anything for a huge one."""
    found = _CELL_REF.match(ref)
    if found is None:
        return None
    letters = found.group(1).upper()
    if len(letters) > 3:
        return EXCEL_MAX_COLUMNS + 1  # past XFD: no need to know how far
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


class _SheetScan:
    """Rows of one XML part, fed as text holding whole tags: row numbers and count in Python (a few
    thousand), cells only counted and matched by regular expressions (C speed)."""

    def __init__(self, max_rows: int, max_columns: int) -> None:
        self.max_rows, self.max_columns = max_rows, max_columns
        self.far_exact, self.far_plain = _far_cells(column_name(max_columns))
        self.row = 0  # the current row's number
        self.rows = 0  # row elements seen
        self.cells = 0  # cells in the current row so far

    def feed(self, text: bytes) -> None:
        plain = not any(form in text for form in _UNUSUAL)
        far = (self.far_plain if plain else self.far_exact).search(text)
        if far is not None:
            ref = _ref(b" " + far.group(0)[far.group(0).rfind(b"r") :] + b'"') or "?"
            raise UploadTooLarge(
                f"The workbook has a value far to the right (cell {ref[:20]}); at most {self.max_columns:,} "
                f"columns (up to column {column_name(self.max_columns)}) are read. Delete the columns beside "
                "your data and upload it again."
            )
        if plain:

            def cells(start: int, end: int) -> int:
                return sum(text.count(tag, start, end) for tag in _PLAIN_CELLS)

            starts = list(_PLAIN_ROW.finditer(text))
        else:

            def cells(start: int, end: int) -> int:
                return len(_CELL.findall(text, start, end))

            starts = list(_ROW.finditer(text))
        # Cells before the first row start belong to the row the last text ended in.
        self._count(cells(0, starts[0].start() if starts else len(text)))
        for n, found in enumerate(starts):
            self.rows += 1
            row_ref = _ref(found.group(1)) if found.group(1) else None
            self.row = int(row_ref) if row_ref and row_ref.isdigit() else self.row + 1
            if self.row > self.max_rows or self.rows > self.max_rows:
                raise UploadTooLarge(
                    f"The workbook has rows down to row {max(self.row, self.rows):,}; at most {self.max_rows:,} "
                    "rows are read. Delete the empty rows below your data (or copy the data into a new "
                    "workbook) and upload it again."
                )
            self.cells = 0
            if not found.group(0).endswith(b"/>"):
                self._count(cells(found.end(), starts[n + 1].start() if n + 1 < len(starts) else len(text)))

    def _count(self, cells: int) -> None:
        self.cells += cells
        if self.cells > self.max_columns:
            raise UploadTooLarge(
                f"The workbook has {self.cells:,} cells in row {self.row:,}; at most {self.max_columns:,} columns "
                f"(up to column {column_name(self.max_columns)}) are read. Delete the columns beside your "
                "data and upload it again."
            )


def _check_dimension(head: bytes) -> None:
    found = _DIMENSION.search(head)
    if not found:
        return
    last = found.group(1).decode("ascii", "replace").split(":")[-1]
    match = _CELL_REF.fullmatch(last.strip())
    column = _column_of(last.strip())
    if match is None or column is None:
        return
    row = int(match.group(2)) if match.group(2) else 0
    if column > EXCEL_MAX_COLUMNS or row > EXCEL_MAX_ROWS:
        raise UploadTooLarge(
            f"The workbook says its sheet reaches cell {last[:20]}, beyond what Excel itself allows "
            "(XFD1048576): it was not written by a spreadsheet program. Save it again as .xlsx."
        )


def _check_encoding(head: bytes, name: str) -> None:
    """The scan reads ASCII markup: a part in UTF-16, EBCDIC... would pass it unseen, and no spreadsheet writes one."""
    declared = _DECLARED_ENCODING.match(head[:200])
    if (
        head[:2] in (b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")
        or head[:4] == b"\x00\x00\xfe\xff"
        or (declared and declared.group(1).lower() not in (b"utf-8", b"utf8", b"us-ascii", b"ascii"))
    ):
        raise UploadTooLarge(
            f"This workbook has a part in another encoding than UTF-8 (“{name[:60]}”), which spreadsheet programs never "
            "write: save it again as .xlsx."
        )


def check_xlsx(data: bytes, *, max_rows: int, max_columns: int) -> None:
    """Refuse an XLSX whose archive or sheets go over the bounds; return quietly otherwise.

    `max_rows` and `max_columns` bound every sheet: row numbers, rows, cells in a row and columns.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadTooLarge("This workbook cannot be read (it is not a whole .xlsx file): save it again.") from None
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ENTRIES:
            raise UploadTooLarge(
                f"This workbook holds {len(entries):,} parts; a spreadsheet has a few dozen at most "
                f"({MAX_ENTRIES} are accepted). Save the sheet alone as a new .xlsx."
            )
        total = 0
        for entry in entries:
            total += entry.file_size
            if entry.file_size > MAX_ENTRY_BYTES:
                raise UploadTooLarge(
                    f"This workbook holds a part of {entry.file_size / 1024**2:,.0f} MB once unpacked "
                    f"(“{entry.filename[:60]}”); at most {MAX_ENTRY_BYTES // 1024**2} MB are accepted. "
                    "Remove pictures and other sheets, or upload the data as CSV."
                )
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > RATIO_FROM_BYTES and ratio > MAX_RATIO:
                raise UploadTooLarge(
                    f"This workbook holds a part that unpacks {ratio:,.0f} times larger than it is stored "
                    f"(“{entry.filename[:60]}”), which spreadsheets never do: it was refused unread."
                )
            if total > MAX_TOTAL_BYTES:
                raise UploadTooLarge(
                    f"This workbook unpacks to more than {MAX_TOTAL_BYTES // 1024**2} MB: upload the demand or "
                    "bid sheet alone, without pictures or other sheets."
                )
        markup = 0
        for entry in entries:
            if entry.is_dir():
                continue
            markup = _scan_entry(archive, entry, markup, max_rows, max_columns)


def _scan_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, markup: int, max_rows: int, max_columns: int) -> int:
    scan = _SheetScan(max_rows, max_columns)
    carry = b""
    first = True
    try:
        with archive.open(entry) as source:
            while True:
                chunk = source.read(CHUNK)
                buffer = carry + chunk
                if first:
                    _check_encoding(buffer[:200], entry.filename)
                    _check_dimension(buffer)
                    first = False
                # The scan sees whole tags: the text from the last "<" (XML escapes it inside values) waits
                # for the next chunk, or is the part's end.
                cut = buffer.rfind(b"<") if chunk else -1
                body, carry = (buffer, b"") if cut == -1 else (buffer[:cut], buffer[cut:])
                if len(carry) > MAX_TAG_BYTES:
                    raise UploadTooLarge(
                        f"This workbook has a tag or a text of more than {MAX_TAG_BYTES // 1024**2} MB "
                        f"(in “{entry.filename[:60]}”): save the data alone as a new .xlsx or CSV."
                    )
                markup += body.count(b"<")
                if markup > MAX_MARKUP:
                    raise UploadTooLarge(
                        f"This workbook holds more than {MAX_MARKUP:,} elements: far more than "
                        f"{max_rows:,} rows of {max_columns:,} columns. Upload the data alone, as a new .xlsx or CSV."
                    )
                if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
                    raise UploadTooLarge(
                        "This workbook declares XML entities, which spreadsheet programs never write: it was "
                        "refused unread. Save it again as .xlsx."
                    )
                scan.feed(body)
                if not chunk:
                    break
    except UploadTooLarge:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise UploadTooLarge(
            f"This workbook cannot be read ({type(exc).__name__} in “{entry.filename[:60]}”): save it again as .xlsx."
        ) from None
    return markup


# ---------------------------------------------------------------- CSV


def _bounded_lines(text: str) -> Iterator[str]:
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        length = len(line) - (2 if line.endswith("\r\n") else 1 if line.endswith(("\n", "\r")) else 0)
        if length > MAX_CSV_LINE:
            raise UploadTooLarge(
                f"Line {number} of the CSV file is {length:,} characters long; at most {MAX_CSV_LINE:,} are "
                "read. Check that each row is on its own line and upload it again."
            )
        yield line


def csv_rows(text: str, delimiter: str, *, max_rows: int, max_columns: int) -> Iterator[list[str]]:
    """The rows of a CSV text, refusing a line, a row or a file over the bounds as soon as it is met."""
    reader = csv.reader(_bounded_lines(text), delimiter=delimiter)
    for count, row in enumerate(reader, start=1):
        if count > max_rows:
            raise UploadTooLarge(
                f"The CSV file has more than {max_rows:,} lines: delete the empty lines at its end, or upload "
                "it in parts."
            )
        if len(row) > max_columns:
            raise UploadTooLarge(
                f"Line {reader.line_num} of the CSV file has {len(row):,} columns; at most {max_columns:,} are "
                "read. Delete the columns beside your data and upload it again."
            )
        yield row
