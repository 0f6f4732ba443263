"""Leak tracing (issue 6 item 6): a leaked package file names its agency and package; canary sightings."""

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from factories_collection import english_messages  # noqa: F401  (autouse)
from factories_collection import make_user
from factories_privacy_leaks import make_book, make_package
from weiwai.collection.schemas import ActionCreate
from weiwai.compliance.models import LenderNotice
from weiwai.errors import NotFound, RuleViolation
from weiwai.privacy import leaks
from weiwai.privacy.canary_models import CanaryRecord, CanarySighting
from weiwai.security.models import AuditEvent


@pytest.fixture
def two(session, tmp_path):
    a, b = make_book(session, cases=5), make_book(session, cases=5)
    return {"a": (a, make_package(session, a, tmp_path / "a")), "b": (b, make_package(session, b, tmp_path / "b")),
            "dir": tmp_path}


def _csv_rows(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _to_csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("gbk", errors="replace")


def _trace(session, name, content):
    return leaks.trace_content(session=session, name=name, content=content, actor="user:infosec")


def test_csv_copy_names_the_agency_and_package(session, two):
    book, package = two["b"]
    content = (two["dir"] / "b" / f"{package.package_no}.csv").read_bytes()
    result = _trace(session, "found-online.csv", content)
    assert result.agency_code == book.agency.code
    top = result.packages[0]
    assert top.package_no == package.package_no and top.contract_no == book.contract.contract_no
    assert top.canaries_matched == top.canaries_in_package == 2 and len(result.packages) == 1
    assert result.overlaps[0].package_no == package.package_no and result.overlaps[0].real_cases_found == 5
    sightings = session.scalars(select(CanarySighting).where(CanarySighting.source == "trace")).all()
    assert len(sightings) == 2 and all(s.leak_suspected for s in sightings)
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "leaks.trace")).one()
    assert event.details["packages"] == {package.package_no: 2}


def test_reordered_renamed_and_dropped_columns_still_trace(session, two):
    book, package = two["a"]
    rows = _csv_rows(two["dir"] / "a" / f"{package.package_no}.csv")
    header, body = rows[0], rows[1:]
    keep = [header.index(name) for name in ("mobile", "debtor_name", "national_id")]  # case_no dropped
    leaked = [["电话", "姓名", "身份证"]] + [[row[i] for i in keep] for row in reversed(body)]
    # Masked forms are all that is left; they are unique to the canaries here.
    result = _trace(session, "renamed.csv", _to_csv(leaked))
    assert result.agency_code == book.agency.code
    assert result.packages[0].package_no == package.package_no
    # Only the case numbers, re-saved as an XLSX with other columns.
    case_col = header.index("case_no")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["编号", "备注"])
    for row in sorted(body, key=lambda r: r[header.index("total_outstanding")]):
        sheet.append([row[case_col], "x"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = _trace(session, "resaved.xlsx", buffer.getvalue())
    assert [m.package_no for m in result.packages] == [package.package_no]
    assert result.packages[0].matched_by == {"case_no": 2}


def test_xlsx_copy_names_the_right_one_of_two(session, two):
    book, package = two["a"]
    content = (two["dir"] / "a" / f"{package.package_no}.xlsx").read_bytes()
    result = _trace(session, "leak.xlsx", content)
    assert result.agency_code == book.agency.code
    assert [m.package_no for m in result.packages] == [package.package_no]
    assert load_workbook(io.BytesIO(content))  # it was a real workbook


def test_full_numbers_match_by_blind_index(session, tmp_path):
    book = make_book(session, cases=3, handover_fields={"case_no": "full", "national_id": "full", "mobile": "full"})
    package = make_package(session, book, tmp_path)
    rows = _csv_rows(tmp_path / f"{package.package_no}.csv")
    only_numbers = "\n".join(f"{row[1]} {row[2]}" for row in rows[1:]).encode()
    result = _trace(session, "numbers.txt", only_numbers)
    assert result.packages[0].package_no == package.package_no
    assert result.packages[0].matched_by == {"mobile": 2, "national_id": 2}


def test_unreadable_files_are_named_with_the_reason(session, tmp_path):
    with pytest.raises(RuleViolation, match="empty.csv: the file is empty"):
        _trace(session, "empty.csv", b"")
    with pytest.raises(RuleViolation, match="bad.xlsx: not a readable XLSX"):
        _trace(session, "bad.xlsx", b"PK\x03\x04garbage")
    with pytest.raises(RuleViolation, match="missing.csv: cannot be read"):
        leaks.trace_file(session=session, path=tmp_path / "missing.csv", actor="user:x")


def test_a_file_without_canaries_names_no_agency(session, two):
    result = _trace(session, "other.csv", b"name,phone\nabc,123\n")
    assert result.agency_code is None and result.packages == [] and result.sightings == 0


def test_action_on_a_canary_by_another_agency_answers_like_an_unknown_case(session, two, record_compliance):
    from weiwai.collection import service
    from weiwai.collection.service import acting_as

    book_a, package_a = two["a"]
    book_b, _package_b = two["b"]
    canary = session.scalars(select(CanaryRecord).where(CanaryRecord.package_id == package_a.id)).first()
    principal = acting_as(book_b.agency.id)
    with pytest.raises(NotFound) as unknown:
        service.visible_context(session=session, principal=principal, case_no="CS99999999")
    with pytest.raises(NotFound) as seen:
        service.visible_context(session=session, principal=principal, case_no=canary.case_no)
    assert str(seen.value) == str(unknown.value).replace("CS99999999", canary.case_no)
    assert seen.value.code == unknown.value.code
    sighting = session.scalars(select(CanarySighting).where(CanarySighting.canary_id == canary.id)).one()
    assert sighting.source == "action_api" and sighting.leak_suspected
    assert sighting.actor_agency_id == book_b.agency.id
    notice = session.scalars(select(LenderNotice).where(LenderNotice.kind == "canary_sighting")).one()
    assert notice.agency_id is None  # lender-only: neither agency learns of it
    assert notice.details["package_no"] == package_a.package_no and notice.details["agency"] == book_a.agency.code
    # The agency's own canary, e.g. through the CLI: a sighting, not a suspected leak.
    with pytest.raises(NotFound):
        service.case_by_no(session=session, case_no=canary.case_no, agency_id=book_a.agency.id)
    own = session.scalars(select(CanarySighting).where(CanarySighting.source == "action_cli")).one()
    assert not own.leak_suspected


def test_contact_check_and_import_against_a_canary_record_sightings(session, two, tmp_path, record_compliance):
    from weiwai.collection.action_import import import_actions
    from weiwai.compliance.checks import check_contact
    from weiwai.collection.service import acting_as
    from weiwai.errors import InputRejected

    book_b, _ = two["b"]
    _book_a, package_a = two["a"]
    canary = session.scalars(select(CanaryRecord).where(CanaryRecord.package_id == package_a.id)).first()
    with pytest.raises(NotFound, match="no case"):
        check_contact(session=session, principal=acting_as(book_b.agency.id), case_no=canary.case_no,
                      channel="letter")
    log = tmp_path / "log.csv"
    log.write_text(f"case_no,channel,occurred_at,outcome\n{canary.case_no},letter,2024-03-05T10:00:00+08:00,"
                   "letter_sent\n", encoding="utf-8")
    with pytest.raises(InputRejected) as rejected:
        import_actions(session=session, path=log, agency_code=book_b.agency.code, actor="user:ops")
    assert f"no case {canary.case_no} of agency {book_b.agency.code}" in str(rejected.value.errors[0].reason)
    sources = sorted(session.scalars(select(CanarySighting.source).where(CanarySighting.canary_id == canary.id)))
    assert sources == ["action_import", "contact_check"]


def test_fifty_thousand_rows_are_scanned(session, two):
    _book, package = two["a"]
    rows = _csv_rows(two["dir"] / "a" / f"{package.package_no}.csv")
    filler = [[f"ZZ{n:08d}", f"AC-F{n:07d}", "张*三", "138****0000", "1000.00"] for n in range(50_000)]
    content = _to_csv([rows[0][:5], *filler[:25_000], *[row[:5] for row in rows[1:]], *filler[25_000:]])
    result = _trace(session, "big.csv", content)
    assert result.packages[0].package_no == package.package_no
