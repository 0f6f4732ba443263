"""A minimal streaming XLSX writer: one sheet, text and number cells, a bold header row.

Handover packages of 50,000 cases have over a million cells; a general-purpose library
spends ~25 s on them, this writer ~2 s, because it only concatenates the sheet's XML
and streams it into the zip. Text is always an inline string cell (never a formula,
whatever it starts with); numbers are numeric cells, money with the format 0.00.
Zip entries carry the package's creation time, so the same content gives the same bytes.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import BinaryIO
from xml.sax.saxutils import escape

TEXT, MONEY, INTEGER = "text", "money", "integer"

_CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/xl/workbook.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
<Override PartName="/xl/worksheets/sheet1.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>\
<Override PartName="/xl/styles.xml" \
ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
</Types>"""
_ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""
_WORKBOOK = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>"""
_WORKBOOK_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" \
Target="worksheets/sheet1.xml"/>\
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" \
Target="styles.xml"/></Relationships>"""
# Cell styles: 0 plain, 1 money (0.00), 2 bold header.
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<numFmts count="1"><numFmt numFmtId="164" formatCode="0.00"/></numFmts>\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>\
<fills count="2"><fill><patternFill patternType="none"/></fill>\
<fill><patternFill patternType="gray125"/></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>\
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
</styleSheet>"""
_SHEET_START = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
<sheetViews><sheetView workbookViewId="0">\
<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>\
<sheetData>"""
_SHEET_END = "</sheetData></worksheet>"

# Characters XML 1.0 cannot carry, and CR (XML readers turn it into LF): OOXML writes
# them as _xHHHH_; a literal "_xHHHH_" in the text is itself escaped so it reads back as typed.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")
# Most values need no escaping at all; one search finds those that do.
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")


def _ooxml_escape(match: re.Match) -> str:
    return f"_x{ord(match.group()):04X}_"


def _xml_text(value: str) -> str:
    if not _SPECIAL.search(value):
        return value
    return _NEEDS_ESCAPE.sub(_ooxml_escape, escape(value))


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


class SheetWriter:
    """Write rows of one sheet; call close() (or use as a context manager) to finish the file."""

    def __init__(self, target: BinaryIO, *, sheet_name: str, kinds: Sequence[str], created_at: datetime) -> None:
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED)
        self._stamp = created_at.timetuple()[:6]
        self._kinds = list(kinds)
        self._columns = [column_letters(i) for i in range(len(kinds))]
        for name, content in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _ROOT_RELS),
            ("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet_name, {'"': "&quot;"}))),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            ("xl/styles.xml", _STYLES),
        ):
            self._zip.writestr(self._info(name), content)
        self._sheet = self._zip.open(self._info("xl/worksheets/sheet1.xml"), "w")
        self._sheet.write(_SHEET_START.encode())
        self._row = 0
        self._buffer: list[str] = []

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def header(self, titles: Sequence[str]) -> None:
        self._row += 1
        cells = "".join(
            f'<c r="{column}1" t="inlineStr" s="2"><is><t>{_xml_text(title)}</t></is></c>'
            for column, title in zip(self._columns, titles, strict=True)
        )
        self._buffer.append(f'<row r="1">{cells}</row>')

    def row(self, values: Sequence[object]) -> None:
        """One row: text for TEXT columns (str), numbers for MONEY and INTEGER; None is an empty cell."""
        self._row += 1
        number = self._row
        parts = [f'<row r="{number}">']
        for column, kind, value in zip(self._columns, self._kinds, values, strict=True):
            if value is None or value == "":
                continue
            if kind == TEXT:
                parts.append(f'<c r="{column}{number}" t="inlineStr"><is><t xml:space="preserve">'
                             f'{_xml_text(value)}</t></is></c>')
            elif kind == MONEY:
                parts.append(f'<c r="{column}{number}" s="1"><v>{value}</v></c>')
            else:
                parts.append(f'<c r="{column}{number}"><v>{value}</v></c>')
        parts.append("</row>")
        self._buffer.append("".join(parts))
        if len(self._buffer) >= 1000:
            self._flush()

    def _flush(self) -> None:
        self._sheet.write("".join(self._buffer).encode())
        self._buffer.clear()

    def close(self) -> None:
        self._flush()
        self._sheet.write(_SHEET_END.encode())
        self._sheet.close()
        self._zip.close()

    def __enter__(self) -> SheetWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
