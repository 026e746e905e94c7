"""CSV in and out: real-world files read into rows, tables written as RFC 4180.

Reading accepts UTF-8 with or without a BOM, CRLF or LF line ends, quoted fields holding the
delimiter, quotes and line breaks, and a comma, semicolon or tab delimiter (guessed from the
header line unless given). Any other encoding is refused with the row where the first byte
that is not UTF-8 sits. Rows are numbered as a spreadsheet shows them: the header is row 1,
and a cell with line breaks does not make more rows.

Writing quotes only what must be quoted, ends lines with CRLF (RFC 4180) and can start with a
BOM for spreadsheets that need one to see UTF-8.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: What a delimiter may be when the mapping does not say.
DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its spreadsheet row number (the header is row 1) and its cells."""

    number: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A CSV file read: its name (for messages), header cells and data rows.

    ``problems`` are (row number, message) of rows that could not be read as data (more
    cells than the header has); such rows are not in ``rows``.
    """

    name: str
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    problems: tuple[tuple[int, str], ...] = ()


class CsvError(ValueError):
    """The file cannot be read as CSV at all (encoding, quoting); the message names the row."""


def decode(name: str, data: bytes) -> str:
    """The text of a CSV file: UTF-8, a BOM dropped.

    Raises:
        CsvError: the file is not UTF-8 (UTF-16 or a legacy code page): names the row.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CsvError(
            f"{name} is UTF-16; save it as UTF-8 ('CSV UTF-8' in Excel) and import it again"
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8", errors="replace")
        row = _row_of(before)
        raise CsvError(
            f"{name} row {row}: byte 0x{data[exc.start]:02X} is not UTF-8 (the file looks like "
            "Windows-1252 or Latin-1); save it as UTF-8 ('CSV UTF-8' in Excel) and import it "
            "again"
        ) from None


def _row_of(text: str) -> int:
    """The spreadsheet row in which ``text`` (a prefix of the file) ends."""
    rows = 0
    try:
        for _ in csv.reader(io.StringIO(text, newline="")):
            rows += 1
    except csv.Error:
        return text.count("\n") + 1
    return max(rows, 1)


def guess_delimiter(text: str) -> str:
    """The delimiter of a file from its header line: the one of ``DELIMITERS`` seen most
    outside quotes (a comma when none is)."""
    line = text.split("\n", 1)[0]
    unquoted = "".join(part for i, part in enumerate(line.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(name: str, data: bytes, delimiter: str | None = None) -> Table:
    """Read a CSV file's bytes into a header and rows of cells.

    Rows whose cells are all empty are skipped (spreadsheets export them); rows shorter than
    the header are padded with empty cells; a row longer than the header, with text in the
    extra cells, is a problem of that row.

    Raises:
        CsvError: not UTF-8, no header, or broken quoting (names the row).
    """
    text = decode(name, data)
    sep = delimiter or guess_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    header: tuple[str, ...] | None = None
    rows: list[Row] = []
    problems: list[tuple[int, str]] = []
    number = 0
    try:
        for cells in reader:
            number += 1
            if header is None:
                header = tuple(cell.strip() for cell in cells)
                continue
            if not any(cell.strip() for cell in cells):
                continue
            width = len(header)
            if len(cells) > width and any(cell.strip() for cell in cells[width:]):
                problems.append(
                    (
                        number,
                        f"has {len(cells)} cells but the header has {width}; quote cells "
                        f"that contain the delimiter {sep!r}",
                    )
                )
                continue
            padded = tuple(cells[:width]) + ("",) * (width - len(cells))
            rows.append(Row(number, tuple(c.replace("\r\n", "\n") for c in padded)))
    except csv.Error as exc:
        raise CsvError(
            f"{name} row {number + 1}: {exc}; check the quotes in that row (a quote inside a "
            'quoted cell is written "")'
        ) from None
    if header is None or not any(header):
        raise CsvError(f"{name} is empty: the first row must name the columns")
    return Table(name, header, tuple(rows), tuple(problems))


class _Line:
    """A file object that keeps the one line a ``csv.writer`` writes into it."""

    text = ""

    def write(self, text: str) -> None:
        self.text = text


def csv_line(cells: Sequence[str]) -> bytes:
    """One row of RFC 4180 CSV: a cell quoted only when it holds a comma, a quote or a line
    break; CRLF; UTF-8."""
    line = _Line()
    csv.writer(line, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(cells)
    return line.text.encode("utf-8")


def write_csv(header: Sequence[str], rows: Iterable[Sequence[str]], *, bom: bool = False) -> bytes:
    """RFC 4180 CSV (see ``csv_line``), with a UTF-8 BOM when ``bom``."""
    lines = (csv_line(row) for row in (header, *rows))
    return (codecs.BOM_UTF8 if bom else b"") + b"".join(lines)
