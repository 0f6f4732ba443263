"""Reading import files: encodings, separators, XLSX, row numbers, unreadable files."""

import codecs
from datetime import datetime

import openpyxl
import pytest
import xlsxwriter

from weiwai.errors import InputRejected
from weiwai.i18n import using_locale
from weiwai.portfolio.importing.readers import read_table

HEADER = "账号,姓名,本金"
ROWS = ["A1,张三,100.50", "A2,李四,0"]


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def write(path, text: str, encoding: str) -> None:
    path.write_bytes(text.encode(encoding))


def as_rows(table):
    return [tuple(row) for row in table.frame.rows()]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings(tmp_path, encoding):
    path = tmp_path / "book.csv"
    write(path, "\r\n".join([HEADER, *ROWS]) + "\r\n", encoding)
    table = read_table(path)
    assert table.headers == ["账号", "姓名", "本金"]
    assert as_rows(table) == [("A1", "张三", "100.50"), ("A2", "李四", "0")]
    assert table.first_row == 2


def test_gb18030_text_found_late_in_a_mostly_ascii_file(tmp_path):
    lines = ["account_no,debtor_name"] + [f"A{i},x" for i in range(20_000)] + ["A-last,王五"]
    path = tmp_path / "late.csv"
    write(path, "\n".join(lines) + "\n", "gb18030")
    table = read_table(path)
    assert table.frame.row(-1) == ("A-last", "王五")


def test_gb18030_characters_outside_gbk(tmp_path):
    path = tmp_path / "rare.csv"
    write(path, "account_no,debtor_name\nA1,𠀀䶮\n", "gb18030")
    assert read_table(path).frame.row(0) == ("A1", "𠀀䶮")


def test_tab_and_semicolon_separated_files(tmp_path):
    for separator in ("\t", ";"):
        path = tmp_path / "book.txt"
        write(path, f"账号{separator}姓名\nA1{separator}张三\n", "utf-8")
        assert read_table(path).frame.row(0) == ("A1", "张三")


def test_quoted_fields_keep_commas_and_text_stays_text(tmp_path):
    path = tmp_path / "book.csv"
    write(path, 'a,b,c\n"1,234.50",0012,"北京, 朝阳"\n', "utf-8")
    assert read_table(path).frame.row(0) == ("1,234.50", "0012", "北京, 朝阳")


def test_blank_rows_keep_row_numbers(tmp_path):
    path = tmp_path / "book.csv"
    write(path, "a,b\n1,2\n\n3,4\n,\n", "utf-8")
    table = read_table(path)
    assert table.frame.height == 4
    assert table.frame.row(2) == ("3", "4")  # row 4 as Excel numbers it: first_row + 2


def test_rows_with_too_many_fields_are_listed(tmp_path):
    path = tmp_path / "book.csv"
    write(path, "a,b\n1,2\n3,4,5\n6,7\n", "utf-8")
    with pytest.raises(InputRejected) as rejected:
        read_table(path)
    [error] = rejected.value.errors
    assert (error.row, error.value) == (3, "5")
    assert "3 fields but the header has 2" in error.reason


@pytest.mark.parametrize(
    "name,content,reason",
    [
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"  \n\n", "the file is empty"),
        ("book.pdf", b"%PDF-1.4", "unsupported file type .pdf; use .csv or .xlsx"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel .xls files are not supported"),
        ("utf16.csv", codecs.BOM_UTF16_LE + "a,b\n".encode("utf-16-le"), "UTF-16 text is not supported"),
        ("binary.csv", b"a,b\n\x00\x01\x02", "this is not a text file"),
        ("broken.xlsx", b"this is no zip file", "this is not a valid XLSX file"),
        ("corrupt.xlsx", b"PK\x03\x04" + b"\x00" * 50, "the XLSX file cannot be read"),
    ],
)
def test_unreadable_files_are_rejected_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputRejected) as rejected:
        read_table(path)
    [error] = rejected.value.errors
    assert error.file == name and error.row == 0
    assert error.reason.startswith(reason)


def test_missing_file(tmp_path):
    with pytest.raises(InputRejected) as rejected:
        read_table(tmp_path / "nope.csv")
    assert rejected.value.errors[0].reason.startswith("file not found")


def test_undecodable_bytes_are_rejected(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\n\x81\x30\xff\xff,1\n")  # invalid in UTF-8 and in GB18030
    with pytest.raises(InputRejected) as rejected:
        read_table(path)
    assert rejected.value.errors[0].reason == "the file is neither UTF-8 nor GB18030 text"


def test_xlsx_written_with_xlsxwriter(tmp_path):
    path = tmp_path / "book.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("逾期")
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["账号", "本金", "到期日", "手机号", "身份证号"])
    sheet.write_row(1, 0, ["A1", 1234.5])
    sheet.write_datetime(1, 2, datetime(2024, 1, 5), day)
    sheet.write_number(1, 3, 13812345678)
    sheet.write_string(1, 4, "11010119900307123X")
    sheet.write_row(3, 0, ["A2", 7])
    workbook.add_worksheet("notes")
    workbook.close()
    table = read_table(path)
    assert table.headers == ["账号", "本金", "到期日", "手机号", "身份证号"]
    assert table.frame.row(0) == ("A1", "1234.5", "2024-01-05 00:00:00", "13812345678", "11010119900307123X")
    assert table.frame.row(2)[:2] == ("A2", "7")  # Excel row 4, after an empty row 3
    assert table.first_row == 2
    assert table.warnings == ["only the first sheet (逾期) was read; the workbook has 2 sheets"]


def test_xlsx_written_with_openpyxl_with_a_header_further_down(tmp_path):
    path = tmp_path / "book.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.cell(row=3, column=2, value="交易号")
    sheet.cell(row=3, column=3, value="还款时间")
    sheet.cell(row=4, column=2, value="T1")
    sheet.cell(row=4, column=3, value=datetime(2024, 3, 5, 10, 20, 30))
    workbook.save(path)
    table = read_table(path)
    assert table.headers == ["交易号", "还款时间"]
    assert table.frame.row(0) == ("T1", "2024-03-05 10:20:30")
    assert table.first_row == 4  # errors in that row say row 4, as Excel shows it


def test_header_only_file_has_no_rows(tmp_path):
    path = tmp_path / "book.csv"
    write(path, HEADER + "\n", "utf-8")
    table = read_table(path)
    assert table.headers == ["账号", "姓名", "本金"]
    assert table.frame.height == 0
