"""Write generated rows as the files a lender would import (CSV in UTF-8 or GB18030, XLSX)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import xlsxwriter


def write_csv(path: Path, columns: list[str], rows: Iterable[dict[str, str]], *, encoding: str = "utf-8-sig") -> Path:
    """utf-8-sig is what Excel on Windows opens correctly; gb18030 mimics older exports."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, columns: list[str], rows: Iterable[dict[str, str]]) -> Path:
    """Every cell as text, so that IDs and account numbers keep their leading zeros."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    try:
        sheet = workbook.add_worksheet("data")
        text = workbook.add_format({"num_format": "@"})
        for col, name in enumerate(columns):
            sheet.write_string(0, col, name)
        for r, row in enumerate(rows, start=1):
            for col, name in enumerate(columns):
                sheet.write_string(r, col, row.get(name, "") or "", text)
    finally:
        workbook.close()
    return path
