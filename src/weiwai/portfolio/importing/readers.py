"""Reading an import file into a table of strings: CSV in UTF-8 (with or without BOM) or
GB18030/GBK, and XLSX.

Every cell is read as text, so nothing is guessed: "0012" stays "0012" and an 18-digit
ID is not turned into a float. Row numbers are kept as a person sees them in Excel
(the header is row 1), blank rows included, so that errors point at the right line.
Any file that cannot be read becomes InputRejected with the reason, never a traceback.
"""

from __future__ import annotations

import codecs
import csv
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from weiwai.errors import InputRejected, RowError
from weiwai.i18n import _

WHOLE_FILE = 0  # row number of errors about the file as a whole
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_SNIFF_BYTES = 64 * 1024
_TRANSCODE_BLOCK = 4 * 1024 * 1024
_SEPARATORS = (",", "\t", ";", "|")
_MAX_RAGGED_REPORTED = 100


@dataclass
class RawTable:
    """An import file as text: the header row and the data rows, in file order."""

    file: str  # the name shown in messages
    headers: list[str]
    frame: pl.DataFrame  # columns c0..cN (String), one row per data row, blank rows included
    first_row: int  # row number (as Excel shows it) of the frame's first row
    warnings: list[str] = field(default_factory=list)


def reject(file: str, reason: str, *, row: int = WHOLE_FILE, column: str = "", value: str = "") -> InputRejected:
    return InputRejected(errors=[RowError(file, row, column, value, reason)])


def read_table(path: Path) -> RawTable:
    """Read a CSV or XLSX file; InputRejected if it is missing, empty or unreadable."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise reject(name, _("file not found: {path}").format(path=str(path)))
    with path.open("rb") as fh:
        head = fh.read(_SNIFF_BYTES)
    if not head.strip():
        raise reject(name, _("the file is empty"))
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return _read_xlsx(path, name)
    if suffix == ".xls" or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise reject(name, _("old Excel .xls files are not supported; save the sheet as .xlsx or CSV"))
    if suffix in XLSX_SUFFIXES:
        raise reject(name, _("this is not a valid XLSX file"))
    if suffix not in CSV_SUFFIXES:
        raise reject(name, _("unsupported file type {suffix}; use .csv or .xlsx").format(suffix=suffix or "''"))
    return _read_csv(path, name, head)


# CSV --------------------------------------------------------------------------------


def _read_csv(path: Path, name: str, head: bytes) -> RawTable:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise reject(name, _("UTF-16 text is not supported; save the file as CSV UTF-8"))
    if b"\x00" in head:
        raise reject(name, _("this is not a text file"))
    if head.startswith(codecs.BOM_UTF8) or _looks_like_utf8(head):
        try:
            return _parse_csv(path, name, head.decode("utf-8", errors="ignore"))
        except _NotUtf8:
            pass  # Chinese text further down the file: read it as GB18030 below
    with _transcoded_from_gb18030(path, name) as utf8_path:
        with utf8_path.open("rb") as fh:
            utf8_head = fh.read(_SNIFF_BYTES).decode("utf-8", errors="ignore")
        try:
            return _parse_csv(utf8_path, name, utf8_head)
        except _NotUtf8:  # cannot happen for our own transcoding; keep the message honest
            raise reject(name, _("the file is neither UTF-8 nor GB18030 text")) from None


class _NotUtf8(Exception):
    pass


def _looks_like_utf8(head: bytes) -> bool:
    try:
        # A multi-byte character may be cut at the end of the sample.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


@contextmanager
def _transcoded_from_gb18030(path: Path, name: str) -> Iterator[Path]:
    """A temporary UTF-8 copy of a GB18030/GBK file, converted block by block."""
    decoder = codecs.getincrementaldecoder("gb18030")()
    with tempfile.TemporaryDirectory(prefix="weiwai-import-") as folder:
        target = Path(folder) / "utf8.csv"
        try:
            with path.open("rb") as source, target.open("wb") as out:
                while block := source.read(_TRANSCODE_BLOCK):
                    out.write(decoder.decode(block).encode("utf-8"))
                out.write(decoder.decode(b"", final=True).encode("utf-8"))
        except UnicodeDecodeError:
            raise reject(name, _("the file is neither UTF-8 nor GB18030 text")) from None
        yield target


def _separator(head_text: str) -> str:
    first_line = head_text.lstrip("\ufeff").splitlines()[0] if head_text.strip() else ""
    counts = {sep: first_line.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _parse_csv(path: Path, name: str, head_text: str) -> RawTable:
    separator = _separator(head_text)
    try:
        frame = pl.read_csv(
            path,
            has_header=False,
            infer_schema=False,
            separator=separator,
            encoding="utf8",
            raise_if_empty=False,
        )
    except pl.exceptions.ComputeError as exc:
        message = str(exc)
        if "utf-8" in message.lower() or "utf8" in message.lower():
            raise _NotUtf8 from None
        if "more fields" in message:
            raise InputRejected(errors=_ragged_rows(path, name, separator)) from None
        raise reject(
            name, _("the file cannot be read as CSV: {detail}").format(detail=message.splitlines()[0])
        ) from None
    except pl.exceptions.NoDataError:
        raise reject(name, _("the file is empty")) from None
    if frame.height == 0:
        raise reject(name, _("the file is empty"))
    # One contiguous chunk per column (the reader returns many): otherwise steps that
    # need aligned chunks would copy every derived column of the file later on.
    frame = frame.rename({old: f"c{i}" for i, old in enumerate(frame.columns)}).rechunk()
    headers = [value or "" for value in frame.row(0)]
    return RawTable(file=name, headers=headers, frame=frame.slice(1), first_row=2)


def _ragged_rows(path: Path, name: str, separator: str) -> list[RowError]:
    """Rows with more fields than the header, found with the csv module (error path only)."""
    errors: list[RowError] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=separator)
        width = len(next(reader, []))
        for row_number, record in enumerate(reader, start=2):
            if len(record) > width:
                errors.append(
                    RowError(
                        name,
                        row_number,
                        "",
                        separator.join(record[width:])[:80],
                        _("this row has {count} fields but the header has {width}; check quotes and separators").format(
                            count=len(record), width=width
                        ),
                    )
                )
                if len(errors) >= _MAX_RAGGED_REPORTED:
                    break
    return errors or [RowError(name, WHOLE_FILE, "", "", _("a row has more fields than the header"))]


# XLSX -------------------------------------------------------------------------------


def _read_xlsx(path: Path, name: str) -> RawTable:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
        sheet = reader.load_sheet(0, header_row=None, dtypes="string")
        frame = sheet.to_polars()
    except (fastexcel.FastExcelError, OSError, ValueError) as exc:
        raise reject(
            name, _("the XLSX file cannot be read: {detail}").format(detail=str(exc).splitlines()[0])
        ) from None
    if frame.height == 0:
        raise reject(name, _("the file is empty"))
    warnings = []
    if len(reader.sheet_names) > 1:
        warnings.append(
            _("only the first sheet ({sheet}) was read; the workbook has {count} sheets").format(
                sheet=reader.sheet_names[0], count=len(reader.sheet_names)
            )
        )
    frame = frame.rename({old: f"c{i}" for i, old in enumerate(frame.columns)})
    headers = [value or "" for value in frame.row(0)]
    header_row = _first_used_row(path)
    return RawTable(file=name, headers=headers, frame=frame.slice(1), first_row=header_row + 1, warnings=warnings)


def _first_used_row(path: Path) -> int:
    """The Excel row number of the first non-empty row of the first sheet.

    The sheet reader starts at the first used cell, so rows above it must be counted
    to give error rows as Excel numbers them. The sheet is streamed and only its top
    is read.
    """
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return 1
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if any(value not in (None, "") for value in values):
                return number
        return 1
    finally:
        workbook.close()
