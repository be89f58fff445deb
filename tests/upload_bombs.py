"""Hostile spreadsheets, built in memory in a second or two: the files of issue 13 that took the site down.

The 1 GB entry is not compressed byte by byte: deflating a chunk after a full flush gives the same
bytes every time, so its stream is one compressed megabyte repeated (a zip bomb's usual trick).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from tests.demand_helpers import sheet_row, xlsx_bytes

MB = 1024 * 1024
_SHEET = "xl/worksheets/sheet1.xml"
_NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return packer.compress(data) + packer.flush()


def repeated(chunk: bytes, times: int, prefix: bytes = b"", suffix: bytes = b"") -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of prefix + chunk * times + suffix, without building the whole."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    assert packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH) == block  # the same bytes every time
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    end = tail.compress(suffix) + tail.flush()
    crc = zlib.crc32(prefix)
    for _ in range(times):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    return head + block * times + end, crc, len(prefix) + len(chunk) * times + len(suffix)


def zip_of(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip from (name, raw deflate stream, CRC-32, uncompressed size) entries, as any zip tool writes it."""
    out, central = bytearray(), bytearray()
    for name, packed, crc, size in entries:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(packed), size, len(encoded), 0)
        out += encoded + packed
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(packed), size, len(encoded), 0, 0, 0, 0, 0,
            offset,
        )  # fmt: skip
        central += encoded
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return bytes(out + central + end)


def workbook(
    sheet_xml: bytes | None = None,
    extra: list[tuple[str, bytes, int, int]] | None = None,
    packed_sheet: tuple[bytes, int, int] | None = None,
) -> bytes:
    """A real demand workbook (openpyxl's), its sheet replaced by `sheet_xml` or an already packed
    `packed_sheet` (deflate stream, CRC-32, size), with `extra` entries added."""
    import io
    import zipfile

    parts = []
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes([sheet_row()]))) as source:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == _SHEET and packed_sheet is not None:
                parts.append((info.filename, *packed_sheet))
                continue
            if info.filename == _SHEET and sheet_xml is not None:
                data = sheet_xml
            parts.append((info.filename, _deflate(data), zlib.crc32(data), len(data)))
    return zip_of(parts + (extra or []))


def with_sheet(xlsx: bytes, edit: Callable[[bytes], bytes], part: str = _SHEET) -> bytes:
    """The workbook `xlsx` with its first sheet's XML passed through `edit`: a cell, a merge or a size as
    another program may write it, which openpyxl would not write."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info, edit(body) if info.filename == part else body)
    return out.getvalue()


def merged(ref: bytes) -> Callable[[bytes], bytes]:
    """An edit for with_sheet: the cells `ref` (e.g. b"A2:B2") merged, as Excel writes it after the rows."""
    return lambda xml: xml.replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="' + ref + b'"/></mergeCells>', 1
    )


def sheet(rows: bytes, dimension: bytes = b"A1:K2") -> bytes:
    return _NS + b'<dimension ref="' + dimension + b'"/><sheetData>' + rows + b"</sheetData></worksheet>"


def _inline(ref: str, value: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'.encode()


def header_row() -> bytes:
    from marketplace.services.demand import FIELDS

    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return b'<row r="1">' + b"".join(_inline(f"{letters[i]}1", name) for i, name in enumerate(FIELDS)) + b"</row>"


def hostile_files() -> dict[str, tuple[str, bytes]]:
    """name -> (file name, bytes) for every file the readers must refuse unread."""
    gigabyte = repeated(b"\0" * MB, 1024)
    twenty_million = repeated(b"<row/>" * 100_000, 200, _NS + b'<dimension ref="A1:K20000000"/><sheetData>',
                              b"</sheetData></worksheet>")  # fmt: skip
    return {
        # 1 MB on disk, a 1 GB part nobody references
        "unused 1 GB entry": ("unused.xlsx", workbook(extra=[("xl/media/unused.bin", *gigabyte)])),
        # 20 million empty rows in 150 KB: the sheet inflates 1,000 times
        "20 million empty rows": ("bomb.xlsx", workbook(packed_sheet=twenty_million)),
        # one row numbered 20,000,000 (the dimension says A1:K2)
        "row 20,000,000": (
            "rows.xlsx",
            workbook(sheet(header_row() + b'<row r="20000000"><c r="A20000000"><v>1</v></c></row>')),
        ),
        # 40,000 empty rows without numbers, under every size bound
        "many empty rows": ("empty.xlsx", workbook(sheet(header_row() + b"<row/>" * 40_000))),
        # a 5 KB file with one cell at column CZZZZZ
        "cell CZZZZZ2": (
            "wide.xlsx",
            workbook(sheet(header_row() + b'<row r="2">' + _inline("CZZZZZ2", "x") + b"</row>")),
        ),
        # the same cell only declared by the dimension, and 200,000 cells in one row without references
        "dimension CZZZZZ2": ("dim.xlsx", workbook(sheet(header_row(), b"A1:CZZZZZ2"))),
        "wide row": ("row.xlsx", workbook(sheet(header_row() + b'<row r="2">' + b"<c/>" * 200_000 + b"</row>"))),
    }


def hostile_csv() -> tuple[str, bytes]:
    """A 4 MB CSV whose second line has 2 million columns."""
    from marketplace.services.demand import FIELDS

    return "wide.csv", (",".join(FIELDS) + "\n" + "0," * 2_000_000 + "\n").encode()
