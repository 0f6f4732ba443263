"""Canary records in handover packages (issue 6 item 6), on SQLite and PostgreSQL."""

import csv
import json

from openpyxl import load_workbook
from sqlalchemy import func, select

from factories_collection import english_messages  # noqa: F401  (autouse)
from factories_privacy_leaks import make_book, make_package
from weiwai.handover.models import HandoverPackageCase
from weiwai.handover.policy import RELEASABLE_FIELDS
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import normalise_mobile, normalise_national_id
from weiwai.portfolio.models import Account, Debtor
from weiwai.placements.models import Case
from weiwai.privacy import canaries
from weiwai.privacy.canary_models import CanaryRecord


def read_csv(path):
    with path.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def read_xlsx(path):
    rows = list(load_workbook(path).worksheets[0].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_canaries_are_in_both_files_sorted_among_real_rows_and_not_counted(session, tmp_path):
    book = make_book(session, cases=7)
    package = make_package(session, book, tmp_path)
    records = session.scalars(select(CanaryRecord).where(CanaryRecord.package_id == package.id)).all()
    assert len(records) == package.canary_count == canaries.canary_count_for(7) == 2
    assert package.row_count == 7
    assert session.scalar(select(func.count()).select_from(HandoverPackageCase)
                          .where(HandoverPackageCase.package_id == package.id)) == 7
    canary_nos = {r.case_no for r in records}
    real_nos = {c.case_no for c in book.cases}
    for rows in (read_csv(tmp_path / f"{package.package_no}.csv"), read_xlsx(tmp_path / f"{package.package_no}.xlsx")):
        numbers = [row["case_no"] for row in rows]
        assert set(numbers) == real_nos | canary_nos and len(numbers) == 9
        assert numbers == sorted(numbers)  # canaries sit where they sort
        assert list(rows[0]) == list(RELEASABLE_FIELDS)
        for row in rows:
            if row["case_no"] in canary_nos:
                record = next(r for r in records if r.case_no == row["case_no"])
                assert row["account_no"] == record.account_no
                assert "*" in row["national_id"] and "*" in row["mobile"]  # masked like the real rows
                assert row["contact_relation"] == "spouse"
                assert all(row[name] not in (None, "") for name in ("debtor_name", "address", "principal_outstanding",
                                                                   "dpd", "bucket", "region", "due_date"))
    manifest = json.loads((tmp_path / f"{package.package_no}.manifest.json").read_text(encoding="utf-8"))
    text = json.dumps(manifest)
    assert "canary" not in text.lower() and all(no not in text for no in canary_nos)


def test_canaries_are_plausible_unique_and_never_real(session, tmp_path):
    book = make_book(session, cases=3)
    first = make_package(session, book, tmp_path / "one")
    second = make_package(session, book, tmp_path / "two")
    records = session.scalars(select(CanaryRecord).where(CanaryRecord.package_id.in_([first.id, second.id]))).all()
    assert len(records) == 4
    assert len({r.case_no for r in records}) == 4 and len({r.account_no for r in records}) == 4
    assert len({r.national_id_bidx for r in records}) == 4 and len({r.phone_bidx for r in records}) == 4
    for record in records:
        assert record.agency_id == book.agency.id
        nid = personal_data.open_value(record.national_id_enc, personal_data.NATIONAL_ID, reveal=True)
        assert normalise_national_id(nid) == nid  # checksum and birth date valid
        assert nid.startswith("440305")  # the region of the real rows (广东 -> 深圳)
        phone = personal_data.open_value(record.phone_enc, personal_data.DEBTOR_PHONE, reveal=True)
        assert normalise_mobile(phone) == phone
        address = personal_data.open_value(record.address_enc, personal_data.ADDRESS, reveal=True)
        assert address.startswith("广东深圳市") and record.region == "广东"
        assert record.principal_outstanding > 0 and record.dpd > 0
        assert record.case_no[:2] == book.cases[0].case_no[:2] and len(record.case_no) == len(book.cases[0].case_no)
        assert personal_data.national_id_index(nid) == record.national_id_bidx
    numbers = {r.case_no for r in records}
    accounts = {r.account_no for r in records}
    assert not session.scalars(select(Case.id).where(Case.case_no.in_(numbers))).first()
    assert not session.scalars(select(Account.id).where(Account.account_no.in_(accounts))).first()
    assert not session.scalars(select(Debtor.id).where(
        Debtor.national_id_bidx.in_([r.national_id_bidx for r in records]))).first()


def test_number_of_canaries_follows_the_settings(monkeypatch):
    from weiwai.config import reset_settings

    assert [canaries.canary_count_for(n) for n in (1, 4000, 4001, 50_000, 10**7)] == [2, 2, 3, 25, 25]
    monkeypatch.setenv("WEIWAI_CANARY_MIN", "3")
    monkeypatch.setenv("WEIWAI_CANARY_MAX", "4")
    reset_settings()
    try:
        assert [canaries.canary_count_for(n) for n in (1, 50_000)] == [3, 4]
    finally:
        monkeypatch.undo()
        reset_settings()


def test_masked_policy_applies_to_canaries_and_full_policy_reveals(session, tmp_path):
    book = make_book(session, cases=2, handover_fields={"case_no": "full", "debtor_name": "masked",
                                                        "mobile": "full", "dpd": "full"})
    package = make_package(session, book, tmp_path)
    rows = read_csv(tmp_path / f"{package.package_no}.csv")
    record = session.scalars(select(CanaryRecord).where(CanaryRecord.package_id == package.id)).first()
    row = next(row for row in rows if row["case_no"] == record.case_no)
    assert list(row) == ["case_no", "debtor_name", "mobile", "dpd"]
    assert "*" in row["debtor_name"] and normalise_mobile(row["mobile"]) == row["mobile"]
    assert personal_data.phone_index(row["mobile"]) == record.phone_bidx
