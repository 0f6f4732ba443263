"""The files of a package: both spreadsheets neutralise formulas, the manifest's hashes hold."""

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from weiwai.handover.package import PackageHeader, neutralise, sha256_of, verify_manifest, write_package
from weiwai.handover.policy import Mode

HEADER = PackageHeader(
    package_no="HP20240301TEST", agency_code="AG1", agency_name="某催收公司", contract_no="CT1", batch_no=None,
    created_at=datetime(2024, 3, 1, 2, 0, tzinfo=UTC), created_by="tester",
)
POLICY = {"case_no": Mode.full, "debtor_name": Mode.full, "total_outstanding": Mode.full, "dpd": Mode.full,
          "due_date": Mode.full, "overdue_reason": Mode.full}
DANGEROUS = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def rows():
    for number, text in enumerate(DANGEROUS, start=1):
        yield [f"CS{number}", text, Decimal("1234.50"), 45, date(2024, 1, 15), f"原因{number}"]
    yield ["CS9", "张三", Decimal("0.00"), 0, None, None]


@pytest.fixture
def written(tmp_path):
    return write_package(out_dir=tmp_path, header=HEADER, policy=POLICY, rows=rows())


@pytest.mark.parametrize("text", DANGEROUS)
def test_neutralise_prefixes_a_quote(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["张三", "a=b", "1+1", "", "'quoted"])
def test_neutralise_leaves_harmless_text(text):
    assert neutralise(text) == text


def test_csv_is_utf8_with_bom_and_neutralised(written):
    raw = written.csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with written.csv.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    assert table[0] == list(POLICY)
    names = [row[1] for row in table[1:]]
    assert names[: len(DANGEROUS)] == ["'" + text for text in DANGEROUS]
    assert table[1][2:5] == ["1234.50", "45", "2024-01-15"]
    assert table[-1] == ["CS9", "张三", "0.00", "0", "", ""]


def test_xlsx_writes_text_as_strings_and_neutralised(written):
    sheet = load_workbook(written.xlsx).worksheets[0]
    assert [cell.value for cell in sheet[1]] == list(POLICY)
    for row_number, text in enumerate(DANGEROUS, start=2):
        cell = sheet.cell(row=row_number, column=2)
        assert cell.data_type == "s"
        # OOXML escapes a carriage return as _x000D_; openpyxl leaves inline strings escaped.
        assert unescape(cell.value) == "'" + text
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    assert sheet.cell(row=2, column=3).value == 1234.5
    assert sheet.cell(row=2, column=5).value == "2024-01-15"


def test_manifest_describes_the_files(written):
    manifest = json.loads(written.manifest.read_text(encoding="utf-8"))
    assert manifest["package_no"] == HEADER.package_no
    assert manifest["agency"] == {"code": "AG1", "name": "某催收公司"}
    assert manifest["contract"] == "CT1" and manifest["created_by"] == "tester"
    assert manifest["row_count"] == len(DANGEROUS) + 1 == written.row_count
    assert manifest["fields"][0] == {"name": "case_no", "mode": "full"}
    hashes = {item["name"]: item["sha256"] for item in manifest["files"]}
    assert hashes == {written.xlsx.name: sha256_of(written.xlsx), written.csv.name: sha256_of(written.csv)}
    assert written.sha256[written.manifest.name] == sha256_of(written.manifest)
    assert all(check.ok for check in verify_manifest(written.manifest))


def test_files_are_private_to_their_owner(written):
    for path in (written.xlsx, written.csv, written.manifest):
        assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("which", ["csv", "xlsx"])
def test_verify_detects_one_changed_byte(written, which):
    path = getattr(written, which)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    failed = [check for check in verify_manifest(written.manifest) if not check.ok]
    assert [check.name for check in failed] == [path.name]
    assert failed[0].actual is not None


def test_verify_reports_a_missing_file(written):
    written.csv.unlink()
    failed = [check for check in verify_manifest(written.manifest) if not check.ok]
    assert [(check.name, check.actual) for check in failed] == [(written.csv.name, None)]


def test_a_manifest_cannot_point_outside_its_directory(written, tmp_path):
    manifest = json.loads(written.manifest.read_text(encoding="utf-8"))
    manifest["files"].append({"name": "../outside.csv", "sha256": "0" * 64})
    written.manifest.write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path.parent / "outside.csv").write_text("x")
    checks = {check.name: check for check in verify_manifest(written.manifest)}
    assert checks["../outside.csv"].actual is None


def test_existing_files_are_never_overwritten(written, tmp_path):
    before = written.csv.read_bytes()
    with pytest.raises(FileExistsError):
        write_package(out_dir=tmp_path, header=HEADER, policy=POLICY, rows=rows())
    assert written.csv.read_bytes() == before


def test_a_failed_write_leaves_no_files(tmp_path):
    def broken_rows():
        yield ["CS1", "张三", Decimal("1.00"), 1, None, None]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        write_package(out_dir=tmp_path / "out", header=HEADER, policy=POLICY, rows=broken_rows())
    assert list((tmp_path / "out").iterdir()) == []
