"""Importing an agency's action log file: all rows or none, on SQLite and PostgreSQL."""

import csv
from datetime import UTC, datetime

import pytest
import xlsxwriter
from sqlalchemy import func, select

from factories_collection import (
    english_messages,  # noqa: F401  (autouse)
    make_agency,
    make_case,
    make_contract,
    make_world,
)
from weiwai.collection.action_import import import_actions
from weiwai.collection.models import CollectionAction, PromiseToPay
from weiwai.errors import InputRejected, NotFound
from weiwai.placements.models import CaseStatus
from weiwai.portfolio.models import ImportRun
from weiwai.security.models import AuditEvent

# The collection log's mechanics, not the compliance rules (tested in test_compliance_*).
pytestmark = pytest.mark.usefixtures("record_compliance")

AT = datetime(2024, 3, 8, 4, 0, tzinfo=UTC)
HEADER = ["case_no", "channel", "occurred_at", "party", "phone_id", "outcome", "promise_amount", "promise_due_on",
          "notes", "idempotency_key"]


def write_csv(path, rows, header=HEADER, encoding="utf-8-sig"):
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def count_actions(session, case):
    return session.scalar(select(func.count()).select_from(CollectionAction).where(CollectionAction.case_id == case.id))


@pytest.fixture
def world(session):
    return make_world(session)


def rows_for(world):
    no, pid = world.case.case_no, world.debtor.phones[0].id
    return [
        [no, "phone", "2024-03-05 10:00", "debtor", pid, "no_answer", "", "", "", "k1"],
        [no, "phone", "2024-03-05T11:00+08:00", "debtor", pid, "promise_to_pay", "300.00", "2024-03-12", "答应还款",
         "k2"],
        [no, "sms", "2024-03-04 09:00", "", pid, "sms_sent", "", "", "", ""],
    ]


def run(session, path, world, **kwargs):
    return import_actions(session=session, path=path, agency_code=world.agency.code, actor="user:ops", at=AT, **kwargs)


def test_a_valid_csv_is_logged_in_time_order(session, world, tmp_path):
    summary = run(session, write_csv(tmp_path / "log.csv", rows_for(world)), world)
    assert (summary.rows, summary.created, summary.already_logged, summary.promises) == (3, 3, 0, 1)
    actions = session.scalars(select(CollectionAction).where(CollectionAction.case_id == world.case.id)
                              .order_by(CollectionAction.id)).all()
    assert [a.outcome for a in actions] == ["sms_sent", "no_answer", "promise_to_pay"]
    # A time without an offset is Shanghai time.
    assert actions[1].occurred_at == datetime(2024, 3, 5, 2, 0, tzinfo=UTC)
    assert world.case.status == CaseStatus.promised
    run_row = session.scalars(select(ImportRun).where(ImportRun.kind == "actions")).one()
    assert run_row.rows == 3 and run_row.created == 3 and run_row.imported_by == "user:ops"
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "collection.import")).one()


def test_an_xlsx_with_real_date_cells(session, world, tmp_path):
    path = tmp_path / "log.xlsx"
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_string(1, 0, world.case.case_no)
    sheet.write_string(1, 1, "phone")
    sheet.write_datetime(1, 2, datetime(2024, 3, 5, 10, 0), stamp)
    sheet.write_number(1, 4, world.debtor.phones[0].id)
    sheet.write_string(1, 5, "promise_to_pay")
    sheet.write_number(1, 6, 250.5)
    sheet.write_datetime(1, 7, datetime(2024, 3, 9), stamp)
    workbook.close()
    summary = run(session, path, world)
    assert summary.created == 1 and summary.promises == 1
    promise = session.scalars(select(PromiseToPay).where(PromiseToPay.case_id == world.case.id)).one()
    assert str(promise.amount) == "250.50" and promise.due_on.isoformat() == "2024-03-09"


def test_one_bad_row_rejects_the_whole_file_with_row_column_value_reason(session, world, tmp_path):
    rows = rows_for(world)
    rows[1][6] = "0"  # promise of nothing
    rows[2][1] = "pigeon"
    with pytest.raises(InputRejected) as raised:
        run(session, write_csv(tmp_path / "log.csv", rows), world)
    errors = {(e.row, e.column): e for e in raised.value.errors}
    assert set(errors) == {(3, "promise_amount"), (4, "channel")}
    assert errors[(3, "promise_amount")].value == "0" and "more than zero" in errors[(3, "promise_amount")].reason
    assert errors[(4, "channel")].value == "pigeon" and errors[(4, "channel")].file == "log.csv"
    assert count_actions(session, world.case) == 0 and world.case.status == CaseStatus.placed


def test_cases_of_other_agencies_are_unknown_to_the_file(session, world, tmp_path):
    other = make_case(session, contract=make_contract(session, agency=make_agency(session)))
    rows = [[other.case_no, "phone", "2024-03-05 10:00", "debtor", 1, "no_answer", "", "", "", ""]]
    with pytest.raises(InputRejected) as raised:
        run(session, write_csv(tmp_path / "log.csv", rows), world)
    assert [(e.row, e.column) for e in raised.value.errors] == [(2, "case_no")]
    assert "of agency" in raised.value.errors[0].reason


def test_header_problems(session, world, tmp_path):
    path = write_csv(tmp_path / "log.csv", [["x"]], header=["case_no", "channel", "salary", "channel"])
    with pytest.raises(InputRejected) as raised:
        run(session, path, world)
    problems = {(e.column, e.reason.split(" (")[0]) for e in raised.value.errors}
    assert ("salary", "unknown column") in problems
    assert ("channel", "column repeated") in problems
    assert ("occurred_at", "required column missing") in problems
    assert ("outcome", "required column missing") in problems


def test_known_idempotency_keys_are_skipped_and_repeats_in_a_file_refused(session, world, tmp_path):
    run(session, write_csv(tmp_path / "day1.csv", rows_for(world)[:1]), world)
    summary = run(session, write_csv(tmp_path / "day2.csv", rows_for(world)), world)
    assert (summary.created, summary.already_logged) == (2, 1)
    rows = rows_for(world)
    rows[2][-1] = "k9"
    rows.append(list(rows[2]))
    with pytest.raises(InputRejected) as raised:
        run(session, write_csv(tmp_path / "day3.csv", rows), world)
    assert any(e.column == "idempotency_key" and e.row == 5 for e in raised.value.errors)


def test_the_same_file_is_not_imported_twice(session, world, tmp_path):
    path = write_csv(tmp_path / "log.csv", [row[:-1] + [""] for row in rows_for(world)])
    run(session, path, world)
    with pytest.raises(InputRejected, match="1 error"):
        run(session, path, world)
    assert count_actions(session, world.case) == 3


def test_gb18030_csv_is_read(session, world, tmp_path):
    summary = run(session, write_csv(tmp_path / "log.csv", rows_for(world), encoding="gb18030"), world)
    notes = session.scalars(select(CollectionAction.notes).where(CollectionAction.notes.is_not(None))).all()
    assert summary.created == 3 and notes == ["答应还款"]


def test_unknown_agency_and_empty_or_foreign_files(session, world, tmp_path):
    path = write_csv(tmp_path / "log.csv", rows_for(world))
    with pytest.raises(NotFound):
        import_actions(session=session, path=path, agency_code="NOPE", actor="x", at=AT)
    with pytest.raises(InputRejected, match="1 error"):
        run(session, write_csv(tmp_path / "empty.csv", []), world)
    (tmp_path / "log.txt").write_text("hello")
    with pytest.raises(InputRejected):
        run(session, tmp_path / "log.txt", world)
    (tmp_path / "broken.xlsx").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputRejected):
        run(session, tmp_path / "broken.xlsx", world)


def test_a_full_phone_number_is_not_echoed_in_errors(session, world, tmp_path):
    header = ["case_no", "channel", "occurred_at", "phone", "outcome"]
    rows = [[world.case.case_no, "phone", "2024-03-05 10:00", "13800138000", "no_answer"]]
    with pytest.raises(InputRejected) as raised:
        run(session, write_csv(tmp_path / "log.csv", rows, header=header), world)
    assert all("13800138000" not in e.value for e in raised.value.errors)
