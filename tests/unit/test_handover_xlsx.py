"""The streaming XLSX writer: well-formed parts, exact text, numbers and reproducible bytes."""

import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from weiwai.handover.xlsx import INTEGER, MONEY, TEXT, SheetWriter, column_letters

CREATED = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
TRICKY = ["<b>&amp;</b>", 'say "hi"', "line\nbreak", "cr\rhere", "bell\x07", "_x0041_ literal", "张三丰", "=1+1"]


def build(rows, kinds=(TEXT, MONEY, INTEGER)):
    buffer = io.BytesIO()
    with SheetWriter(buffer, sheet_name="cases", kinds=kinds, created_at=CREATED) as sheet:
        sheet.header(["text", "money", "count"])
        for row in rows:
            sheet.row(row)
    return buffer.getvalue()


@pytest.mark.parametrize("index,letters", [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (701, "ZZ"), (702, "AAA")])
def test_column_letters(index, letters):
    assert column_letters(index) == letters


def test_every_part_is_well_formed_xml():
    content = build([[text, Decimal("1.50"), 3] for text in TRICKY])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))


def test_text_reads_back_exactly_and_never_as_a_formula():
    content = build([[text, None, None] for text in TRICKY])
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    cells = [sheet.cell(row=row, column=1) for row in range(2, len(TRICKY) + 2)]
    assert [unescape(cell.value) for cell in cells] == TRICKY
    assert all(cell.data_type == "s" for cell in cells)


def test_numbers_header_and_empty_cells():
    content = build([["a", Decimal("1234.50"), 45], ["b", None, 0]])
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert [cell.value for cell in sheet[1]] == ["text", "money", "count"]
    assert sheet["A1"].font.b
    assert (sheet["B2"].value, sheet["B2"].number_format, sheet["C2"].value) == (1234.5, "0.00", 45)
    assert sheet["B3"].value is None and sheet["C3"].value == 0
    assert sheet.freeze_panes == "A2"


def test_the_same_content_gives_the_same_bytes():
    rows = [["x", Decimal("1.00"), 1]]
    assert build(rows) == build(rows)
