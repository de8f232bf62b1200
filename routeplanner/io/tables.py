"""Spreadsheet-shaped input (CSV or XLSX) as rows of text cells with spreadsheet row numbers.

Everything above this module works on ``{column: text}`` rows, so the account and rep readers
validate CSV and XLSX input with the same code and the same messages. Row numbers count the header
as row 1, as a spreadsheet program shows them, because that is where the user will fix the cell.
"""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from routeplanner.errors import InputError, Problem

if TYPE_CHECKING:
    from routeplanner.settings import Settings

__all__ = [
    "DEFAULT_LIMITS",
    "Row",
    "Table",
    "TableLimits",
    "limits_from",
    "normalise_column",
    "read_table",
    "read_table_bytes",
    "render_csv",
    "render_xlsx",
    "spreadsheet_safe",
    "write_csv",
    "write_xlsx",
]

_XLSX_MAGIC = b"PK\x03\x04"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (or a DDE command)."""
_MAX_ZIP_MEMBERS = 1000


@dataclass(frozen=True, slots=True)
class TableLimits:
    """How big an input table may be: bytes of the file, bytes once unzipped (XLSX), and
    rows × columns, which bounds the cells held in memory whatever the file declares."""

    max_bytes: int = 20 * 1024 * 1024
    max_uncompressed_bytes: int = 100 * 1024 * 1024
    max_rows: int = 50_000
    max_columns: int = 60


DEFAULT_LIMITS = TableLimits()


def limits_from(settings: Settings) -> TableLimits:
    """The limits a deployment configured (``RP_MAX_UPLOAD_BYTES``, ``RP_IMPORT_MAX_*``)."""
    return TableLimits(
        max_bytes=settings.max_upload_bytes,
        max_uncompressed_bytes=settings.import_max_uncompressed_bytes,
        max_rows=settings.import_max_rows,
        max_columns=settings.import_max_columns,
    )


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: ``number`` is the spreadsheet row (header = 1), cells keyed by column name."""

    number: int
    cells: dict[str, str]

    def get(self, column: str) -> str:
        return self.cells.get(column, "").strip()


@dataclass(frozen=True, slots=True)
class Table:
    """A header and its data rows; ``source`` is the file name used in every problem report."""

    source: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...] = field(default=())
    header_row: int = 1


def read_table(
    path: Path, *, source: str | None = None, limits: TableLimits = DEFAULT_LIMITS
) -> Table:
    """Read a CSV or XLSX file (recognised by content, not by extension).

    Raises
    ------
    InputError
        When the file is missing, too big (see :class:`TableLimits`), not UTF-8, not a readable
        workbook, or its header is unusable.
    """
    name = source if source is not None else path.name
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:
            raise InputError(Problem(name, None, None, _too_big(size, limits.max_bytes)))
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(Problem(name, None, None, "file not found")) from None
    except OSError as exc:
        raise InputError(Problem(name, None, None, f"cannot read file: {exc.strerror}")) from None
    return read_table_bytes(data, source=name, limits=limits)


def read_table_bytes(data: bytes, *, source: str, limits: TableLimits = DEFAULT_LIMITS) -> Table:
    """Like :func:`read_table` for an upload already in memory (the web import uses this)."""
    if len(data) > limits.max_bytes:
        raise InputError(Problem(source, None, None, _too_big(len(data), limits.max_bytes)))
    if data.startswith(_XLSX_MAGIC):
        raw_rows = _xlsx_rows(data, source, limits)
    else:
        raw_rows = _csv_rows(_decode(data, source), source, limits)
    return _to_table(raw_rows, source)


def _too_big(size: int, limit: int) -> str:
    return f"file is larger than {limit:,} bytes ({size:,} bytes); split it"


def _rows_message(limits: TableLimits) -> str:
    return f"more than {limits.max_rows:,} rows; split the file"


def _columns_message(limits: TableLimits, found: int) -> str:
    return f"a value in column {found}: more than {limits.max_columns} columns"


def _decode(data: bytes, source: str) -> str:
    try:
        # utf-8-sig drops the byte-order mark Excel writes for "CSV UTF-8"
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        msg = (
            f"file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as 'CSV UTF-8'"
        )
        raise InputError(Problem(source, None, None, msg)) from None


def _sniff_delimiter(text: str) -> str:
    """Pick ``;`` or ``,`` (or tab) from the header line.

    German spreadsheet programs export ``;``-separated CSV because ``,`` is the decimal mark, so the
    delimiter is whichever of the candidates occurs most often in the first line (quotes aside).
    """
    header = next((line for line in text.split("\n") if line.strip()), "")
    unquoted = "".join(part for i, part in enumerate(header.split('"')) if i % 2 == 0)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(text: str, source: str, limits: TableLimits) -> list[list[str]]:
    """The rows, counted as they are read: the header and ``max_rows`` data rows at most."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    rows: list[list[str]] = []
    try:
        for number, cells in enumerate(reader, start=1):
            _check_width(cells, source, number, limits)
            if number > limits.max_rows + 1:
                if any(c.strip() for c in cells):
                    raise InputError(Problem(source, number, None, _rows_message(limits)))
                continue
            rows.append(cells)
    except csv.Error as exc:
        # a field over the csv module's size limit, a NUL byte, an unclosed quote at the end
        msg = f"cannot read the CSV: {exc} (is a cell too long or a quote not closed?)"
        raise InputError(Problem(source, len(rows) + 1, None, msg)) from None
    return rows


def _check_width(cells: Sequence[object], source: str, row: int, limits: TableLimits) -> None:
    if len(cells) <= limits.max_columns:
        return
    last = max((i for i, c in enumerate(cells, start=1) if c not in (None, "")), default=0)
    if last > limits.max_columns:
        raise InputError(Problem(source, row, None, _columns_message(limits, last)))


def _cell_text(value: object) -> str:
    """Cell values as the text a user would have typed, so both formats validate identically."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _check_zip(data: bytes, source: str, limits: TableLimits) -> None:
    """Refuse a workbook whose parts unzip to more than the limit (a zip bomb) before any XML
    is parsed; the sizes in the zip directory are binding, as reading stops at them."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        msg = f"cannot read the file as an XLSX workbook ({exc})"
        raise InputError(Problem(source, None, None, msg)) from None
    total = sum(m.file_size for m in members)
    if len(members) > _MAX_ZIP_MEMBERS or total > limits.max_uncompressed_bytes:
        msg = (
            f"workbook is {total:,} bytes uncompressed in {len(members)} parts; at most "
            f"{limits.max_uncompressed_bytes:,} bytes are read"
        )
        raise InputError(Problem(source, None, None, msg))


def _xlsx_rows(data: bytes, source: str, limits: TableLimits) -> list[list[str]]:
    import openpyxl  # deferred: only XLSX uploads pay for importing it

    _check_zip(data, source, limits)
    # openpyxl warns about workbook features it drops (data validation, conditional formats);
    # none of them changes a cell value, and a warning is no use to someone uploading a file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            msg = f"cannot read the file as an XLSX workbook ({exc})"
            raise InputError(Problem(source, None, None, msg)) from None
        try:
            return _sheet_rows(book.worksheets[0], source, limits)
        except InputError:
            raise
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            msg = f"cannot read the first sheet of the workbook ({exc})"
            raise InputError(Problem(source, None, None, msg)) from None
        finally:
            book.close()


def _sheet_rows(sheet: Any, source: str, limits: TableLimits) -> list[list[str]]:
    """Rows as they are stored, each as wide as its last cell: the ``<dimension>`` a sheet
    declares is ignored (openpyxl pads every row to it, so a tiny file could claim 16,384
    columns). Blank rows past the limit are skipped; a value there is an error."""
    sheet.reset_dimensions()
    rows: list[list[str]] = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        blank = all(v is None or v == "" for v in values)
        if number > limits.max_rows + 1:
            if blank:
                continue
            raise InputError(Problem(source, number, None, _rows_message(limits)))
        _check_width(values, source, number, limits)
        rows.append([] if blank else [_cell_text(v) for v in values[: limits.max_columns]])
    return rows


def _text_cell(sheet: Any, value: str) -> Any:
    """A cell holding ``value`` as text: openpyxl would store a string starting with ``=`` as
    a formula."""
    from openpyxl.cell import Cell

    cell = Cell(sheet, value=value)
    cell.data_type = "s"
    return cell


def normalise_column(name: str) -> str:
    """Header cells compare case- and blank-insensitively: ``Visit Minutes`` = ``visit_minutes``."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def spreadsheet_safe(cell: str) -> str:
    """``cell`` as a spreadsheet will show it, never run it: a leading apostrophe (the
    spreadsheet "this is text" mark) when it would start a formula. Numbers such as ``-12.5``
    stay numbers; apostrophes already in front of a formula get one more, so that
    :func:`read_table` (which takes one off) gives back exactly what was written."""
    text = cell.lstrip("'")
    if not text.startswith(_FORMULA_START):
        return cell
    if cell == text and text[0] in "+-" and text == text.strip():
        try:
            float(text)
        except ValueError:
            pass
        else:
            return cell
    return "'" + cell


def _unquote(cell: str) -> str:
    """Undo :func:`spreadsheet_safe` on a cell read back."""
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_START):
        return cell[1:]
    return cell


def _to_table(raw: list[list[str]], source: str) -> Table:
    problems: list[Problem] = []
    # leading blank lines are not a header; the header is the first non-empty row
    start = next((i for i, r in enumerate(raw) if any(c.strip() for c in r)), None)
    if start is None:
        raise InputError(Problem(source, None, None, "file is empty (no header row)"))
    header_row = start + 1
    header = [normalise_column(c) for c in raw[start]]
    seen: dict[str, int] = {}
    for i, col in enumerate(header, start=1):
        if col in seen:
            msg = f"column {col!r} appears twice (columns {seen[col]} and {i})"
            problems.append(Problem(source, header_row, None, msg))
        elif col:
            seen[col] = i
    rows: list[Row] = []
    for number, cells in enumerate(raw[start + 1 :], start=header_row + 1):
        if not any(c.strip() for c in cells):
            continue
        # a value under a blank header cell or past the last column would be silently lost
        for i, cell in enumerate(cells, start=1):
            if cell.strip() and (i > len(header) or not header[i - 1]):
                if i > len(header):
                    msg = f"row has {len(cells)} cells but the header has {len(header)} columns"
                else:
                    msg = f"column {i} has a value but no name in the header"
                problems.append(Problem(source, number, None, msg))
                break
        row = {
            col: (_unquote(cells[i]) if i < len(cells) else "")
            for i, col in enumerate(header)
            if col
        }
        rows.append(Row(number, row))
    if problems:
        raise InputError(problems)
    columns = tuple(c for c in header if c)
    return Table(source, columns, tuple(rows), header_row=header_row)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write UTF-8, comma-separated, ``\\n`` line ends: stable bytes for diffs and round trips."""
    path.write_text(render_csv(columns, rows), encoding="utf-8", newline="")


def render_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The one CSV writer of every export: each text cell through :func:`spreadsheet_safe`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spreadsheet_safe(c) for c in columns])
    writer.writerows(
        [spreadsheet_safe(c) if isinstance(c, str) else c for c in row] for row in rows
    )
    return out.getvalue()


def write_xlsx(
    path: Path,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Collection[str] = (),
    sheet: str = "data",
) -> None:
    """Write one worksheet (:func:`render_xlsx`) to ``path``."""
    path.write_bytes(render_xlsx(columns, rows, numeric=numeric, sheet=sheet))


def render_xlsx(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Collection[str] = (),
    sheet: str = "data",
) -> bytes:
    """One worksheet as XLSX bytes; ``numeric`` columns become number cells, everything else
    text.

    Text stays text (an id ``0042`` must not become the number 42, a name ``=SUM(...)``
    must not become a formula), while coordinates and minutes are numbers so a spreadsheet
    can sort and sum them.
    """
    import openpyxl  # deferred like the reader

    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append([_text_cell(ws, c) for c in columns])
    wanted = [c in numeric for c in columns]
    for row in rows:
        ws.append(
            [
                (float(v) if "." in v or "e" in v.lower() else int(v))
                if num and v
                else _text_cell(ws, v)
                for v, num in zip(row, wanted, strict=True)
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
