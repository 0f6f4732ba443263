"""The files of a handover package: XLSX, CSV (UTF-8 with BOM) and a JSON manifest.

Rows are streamed into both spreadsheets at once, so a package of 50,000 cases never
sits in memory whole. Text that a spreadsheet would run as a formula (starting with
=, +, -, @, tab or carriage return) is neutralised with a leading single quote in both
files, and XLSX text cells are always inline strings, never formulas (OWASP "CSV injection").
Files are created owner-readable only and never overwrite an existing file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from weiwai.handover.policy import Mode
from weiwai.handover.xlsx import INTEGER, MONEY, TEXT, SheetWriter

MANIFEST_FORMAT = "weiwai.handover/1"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FIELDS = frozenset({
    "principal_outstanding", "interest_outstanding", "fee_outstanding", "penalty_outstanding", "total_outstanding",
})
INTEGER_FIELDS = frozenset({"dpd"})
DATE_FIELDS = frozenset({"due_date", "period_ends_on"})
SHEET_NAME = "cases"


@dataclass(frozen=True)
class PackageHeader:
    """What the manifest says about a package besides its files."""

    package_no: str
    agency_code: str
    agency_name: str
    contract_no: str
    batch_no: str | None
    created_at: datetime
    created_by: str
    # The entrustment the release is made under: {"id": ..., "version": ...} (weiwai.privacy).
    entrustment: dict | None = None


@dataclass(frozen=True)
class WrittenPackage:
    xlsx: Path
    csv: Path
    manifest: Path
    row_count: int
    # file name -> SHA-256 of every file written, the manifest included.
    sha256: dict[str, str]


@dataclass(frozen=True)
class FileCheck:
    name: str
    expected: str
    actual: str | None  # None: the file is missing

    @property
    def ok(self) -> bool:
        return self.actual == self.expected


def neutralise(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would otherwise evaluate as a formula."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def as_text(value: object) -> str:
    """A cell value as the CSV shows it (numbers as plain digits, dates ISO, text neutralised)."""
    if value is None:
        return ""
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return neutralise(str(value))


def _converter(field: str):
    """How one column's values become CSV text (chosen once per column, not per cell)."""
    if field in MONEY_FIELDS or field in INTEGER_FIELDS:
        return lambda value: "" if value is None else str(value)
    if field in DATE_FIELDS:
        return lambda value: "" if value is None else value.isoformat()
    return as_text


def file_names(package_no: str) -> tuple[str, str, str]:
    return f"{package_no}.xlsx", f"{package_no}.csv", f"{package_no}.manifest.json"


def write_package(
    *, out_dir: Path, header: PackageHeader, policy: dict[str, Mode], rows: Iterable[Sequence[object]]
) -> WrittenPackage:
    """Write the three files into `out_dir`; on any failure remove what was written."""
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    xlsx_name, csv_name, manifest_name = file_names(header.package_no)
    paths = [out_dir / xlsx_name, out_dir / csv_name, out_dir / manifest_name]
    created: list[Path] = []
    try:
        # utf-8-sig writes the BOM Excel needs to read Chinese text in a CSV correctly.
        with _create(paths[0], created) as xlsx_file, _create(paths[1], created, encoding="utf-8-sig") as csv_file:
            row_count = _write_rows(xlsx_file, csv_file, header, list(policy), rows)
        sha = {xlsx_name: sha256_of(paths[0]), csv_name: sha256_of(paths[1])}
        manifest = build_manifest(header=header, policy=policy, row_count=row_count, sha=sha, paths=paths[:2])
        with _create(paths[2], created, encoding="utf-8") as manifest_file:
            json.dump(manifest, manifest_file, ensure_ascii=False, indent=2)
            manifest_file.write("\n")
        sha[manifest_name] = sha256_of(paths[2])
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    return WrittenPackage(xlsx=paths[0], csv=paths[1], manifest=paths[2], row_count=row_count, sha256=sha)


def _create(path: Path, created: list[Path], *, encoding: str | None = None):
    """Open a new file for writing (binary unless an encoding is given), owner-only; never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    created.append(path)
    if encoding:
        return os.fdopen(fd, "w", encoding=encoding, newline="")
    return os.fdopen(fd, "wb")


def _write_rows(xlsx_file, csv_file, header: PackageHeader, fields: list[str], rows) -> int:
    kinds = [MONEY if f in MONEY_FIELDS else INTEGER if f in INTEGER_FIELDS else TEXT for f in fields]
    converters = [_converter(field) for field in fields]
    writer = csv.writer(csv_file)
    writer.writerow(fields)
    count = 0
    with SheetWriter(xlsx_file, sheet_name=SHEET_NAME, kinds=kinds, created_at=header.created_at) as sheet:
        sheet.header(fields)
        for count, row in enumerate(rows, start=1):
            texts = [convert(value) for convert, value in zip(converters, row, strict=True)]
            writer.writerow(texts)
            # Text cells get the neutralised text, number cells the number itself.
            sheet.row([text if kind == TEXT else value for kind, value, text in zip(kinds, row, texts, strict=True)])
    return count


def build_manifest(
    *, header: PackageHeader, policy: dict[str, Mode], row_count: int, sha: dict[str, str], paths: list[Path]
) -> dict:
    return {
        "format": MANIFEST_FORMAT,
        "package_no": header.package_no,
        "agency": {"code": header.agency_code, "name": header.agency_name},
        "contract": header.contract_no,
        "batch": header.batch_no,
        "created_at": header.created_at.astimezone(UTC).isoformat(),
        "created_by": header.created_by,
        "entrustment": header.entrustment,
        "fields": [{"name": field, "mode": str(mode)} for field, mode in policy.items()],
        "row_count": row_count,
        "files": [{"name": path.name, "sha256": sha[path.name], "bytes": path.stat().st_size} for path in paths],
    }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(path: Path) -> dict:
    """The manifest's content; ValueError with a reason if it is not one."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{path}: not a weiwai handover manifest")
    files = manifest.get("files")
    if not isinstance(files, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("sha256"), str)
        for item in files
    ):
        raise ValueError(f"{path}: the manifest lists no files")
    return manifest


def verify_manifest(path: Path) -> list[FileCheck]:
    """Recompute the SHA-256 of every file the manifest lists (found next to it)."""
    manifest = read_manifest(path)
    checks = []
    for item in manifest["files"]:
        name = item["name"]
        # Only plain names next to the manifest: a manifest cannot point elsewhere.
        candidate = path.parent / name
        if Path(name).name != name or not candidate.is_file():
            checks.append(FileCheck(name=name, expected=item["sha256"], actual=None))
        else:
            checks.append(FileCheck(name=name, expected=item["sha256"], actual=sha256_of(candidate)))
    return checks
