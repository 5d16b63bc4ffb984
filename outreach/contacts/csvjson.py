"""Reading contact files in CSV (any common dialect) and JSON (a list of objects).

Both report each record with the line an editor shows, so a rejection reads
``contacts/meps.csv:14: invalid e-mail address …``. A file that cannot be read
at all raises :class:`~outreach.errors.ImportFileError`; a single record that
cannot be read (a bad byte sequence, the wrong number of fields) becomes a
rejected row and the rest of the file is still imported.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from outreach.contacts import fields, record
from outreach.contacts.rows import RawRow, ReadResult
from outreach.errors import ImportFileError
from outreach.spreadsheet import unguard

_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"
_SURROGATE = re.compile(r"[\udc80-\udcff]")
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def decode(data: bytes, *, file: str) -> str:
    return decode_marked(data, file=file)[0]


def decode_marked(data: bytes, *, file: str) -> tuple[str, bool]:
    """UTF-8 text (with or without BOM; UTF-16 with a BOM too).

    Undecodable bytes are kept as lone surrogates so that only their record is
    rejected. A file whose every non-ASCII line is undecodable is in another
    encoding altogether: that is an :class:`ImportFileError`.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), False
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"not valid UTF-16: {exc.reason}", place=file) from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="surrogateescape")
    lines = text.split("\n")
    bad = [i for i, line in enumerate(lines, 1) if _SURROGATE.search(line)]
    good_non_ascii = sum(1 for line in data.split(b"\n") if _NON_ASCII.search(line) and _utf8(line))
    if bad and (bad[0] == 1 or (good_non_ascii == 0 and len(bad) > 1)):
        raise ImportFileError(
            "not UTF-8 (perhaps Latin-1 or Windows-1252): save the file as UTF-8",
            place=f"{file}:{bad[0]}",
        )
    return text, True


def _utf8(line: bytes) -> bool:
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _dialect(text: str, *, file: str) -> type[csv.Dialect] | csv.Dialect:
    sample = text[:_SNIFF_BYTES]
    header = sample.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS)
        if dialect.delimiter in header:
            return dialect
    except csv.Error:
        pass
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])

    class Guessed(csv.excel):
        delimiter = best if counts[best] else ","

    return Guessed


def _records(
    text: str, dialect: type[csv.Dialect] | csv.Dialect, *, file: str
) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of every record; blank lines skipped."""
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    end = 0
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(f"not valid CSV: {exc}", place=f"{file}:{start}") from None
        end = reader.line_num
        if record and any(cell.strip() for cell in record):
            yield start, record


def header_map(headers: list[str], *, place: str) -> tuple[list[str | None], list[str]]:
    """Column of each header (None: ignored) and the ignored unknown headers.

    Two headers naming the same column, or no e-mail/ep_id column, make the
    file unusable.
    """
    columns: list[str | None] = []
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for header in headers:
        column = record.header_column(header)
        if column is None:
            if header.strip():
                unknown.append(header.strip())
            columns.append(None)
            continue
        if column == "":
            columns.append(None)
            continue
        if column in seen:
            raise ImportFileError(
                f"columns {seen[column]!r} and {header.strip()!r} both mean {column!r}",
                place=place,
            )
        seen[column] = header.strip()
        columns.append(column)
    if "email" not in seen and "ep_id" not in seen:
        known = ", ".join(fields.COLUMNS)
        raise ImportFileError(f"no e-mail column (the canonical columns are: {known})", place=place)
    return columns, unknown


def read_csv(data: bytes, *, file: str) -> ReadResult:
    text, damaged = decode_marked(data, file=file)
    result = ReadResult(file=file, format="csv")
    if not text.strip():
        raise ImportFileError("the file is empty", place=file)
    dialect = _dialect(text, file=file)
    records = _records(text, dialect, file=file)
    first = next(records, None)
    if first is None:  # only separators and blanks: no header to read
        raise ImportFileError("the file has no header line (only empty cells)", place=file)
    header_line, headers = first
    if any(_SURROGATE.search(h) for h in headers):
        raise ImportFileError("the header is not UTF-8", place=f"{file}:{header_line}")
    columns, unknown = header_map(headers, place=f"{file}:{header_line}")
    if unknown:
        result.warnings.append(f"{file}: ignored unknown columns: {', '.join(unknown)}")
    width = len(headers)
    for line, cells in records:
        row = RawRow(file=file, line=line)
        if damaged and any(_SURROGATE.search(cell) for cell in cells):
            row.error = "bad encoding (not UTF-8)"
        elif len(cells) != width:
            row.error = f"wrong column count: {len(cells)} fields, the header has {width}"
        else:
            row.values = {c: unguard(v) for c, v in zip(columns, cells, strict=True) if c}
        result.rows.append(row)
    return result


def read_json(data: bytes, *, file: str) -> ReadResult:
    """A JSON array of objects, each object's line taken from where it starts."""
    text = decode(data, file=file)
    bad = _SURROGATE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        raise ImportFileError("not UTF-8", place=f"{file}:{line}")
    result = ReadResult(file=file, format="json")
    for line, item in json_items(text, file=file):
        row = RawRow(file=file, line=line)
        if not isinstance(item, dict):
            raise ImportFileError(
                f"expected a list of objects, found {record.json_type(item)}",
                place=f"{file}:{line}",
            )
        values: dict[str, Any] = {}
        for key, value in item.items():
            column = record.header_column(str(key))
            if column:
                if column in values:
                    row.error = f"two keys mean {column!r}"
                values[column] = value
        row.values = values
        result.rows.append(row)
    return result


NESTED_TOO_DEEPLY = "not JSON that can be read: nested too deeply"


def json_items(text: str, *, file: str) -> Iterator[tuple[int, Any]]:
    """The elements of a top-level JSON array with the line each starts on."""
    decoder = json.JSONDecoder()
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] != "[":
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"not JSON: {exc.msg}", place=f"{file}:{exc.lineno}") from None
        except RecursionError:
            raise ImportFileError(NESTED_TOO_DEEPLY, place=file) from None
        raise ImportFileError(
            f"expected a list of objects, found {record.json_type(value)}", place=file
        )
    pos = _skip(text, pos + 1)
    line, counted = 1, 0
    if pos < len(text) and text[pos] == "]":
        _end(text, pos + 1, file)
        return
    while True:
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise ImportFileError(f"not JSON: {exc.msg}", place=f"{file}:{exc.lineno}") from None
        except RecursionError:  # e.g. "[[[[…": Python's decoder recurses per level
            raise ImportFileError(NESTED_TOO_DEEPLY, place=f"{file}:{line}") from None
        yield line, value
        pos = _skip(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos = _skip(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            _end(text, pos + 1, file)
            return
        where = text.count("\n", 0, pos) + 1
        raise ImportFileError("not JSON: expected ',' or ']'", place=f"{file}:{where}")


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _end(text: str, pos: int, file: str) -> None:
    pos = _skip(text, pos)
    if pos != len(text):
        where = text.count("\n", 0, pos) + 1
        raise ImportFileError("not JSON: extra data after the list", place=f"{file}:{where}")
