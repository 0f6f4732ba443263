"""Statements on SQLite and PostgreSQL: drafting, issuing (XLSX and its hash), immutability,
clawbacks after issue landing in the next statement, the month-end job."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from factories_settlement import make_account, make_case, make_contract, pay
from openpyxl import load_workbook
from sqlalchemy import select

from weiwai.errors import Conflict
from weiwai.payments.service import attribute_payments, reverse_payment
from weiwai.settlement.guard import IssuedStatementChanged
from weiwai.settlement.ledger import compute_commission
from weiwai.settlement.models import CommissionEntry, StatementStatus
from weiwai.settlement.service import month_end_commission, run_period, statement_document
from weiwai.settlement.statements import draft_statement, issue_statement
from weiwai.settlement.xlsx import sha256_of

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def january(session):
    """One agency, a paid-off case (fixed fee) and a partly paid one, computed for 2024-01."""
    contract = make_contract(session, fixed_fee="50.00")
    paid_off = make_account(session, principal="200.00")
    make_case(session, account=paid_off, contract=contract, placed_at=local(2023, 12, 1), bucket="M2")
    partly = make_account(session, principal="1000.00")
    case = make_case(session, account=partly, contract=contract, placed_at=local(2023, 12, 1), bucket="M3")
    payments = [
        pay(session, account=paid_off, amount="200.00", paid_at=local(2024, 1, 3, 10)),
        pay(session, account=partly, amount="300.00", paid_at=local(2024, 1, 20, 15)),
    ]
    attribute_payments(session=session)
    compute_commission(session=session, period="2024-01")
    return {"contract": contract, "agency_id": contract.agency_id, "payments": payments, "case": case,
            "partly": partly}


def test_draft_collects_the_entries_and_totals(session, january):
    statement = draft_statement(session=session, agency_id=january["agency_id"], period="2024-01")
    # 200 × 0.15 + 300 × 0.20 = 30 + 60; fixed fee 50.
    assert (statement.status, statement.period) == (StatementStatus.draft, "2024-01")
    assert (statement.recovered, statement.commission, statement.fixed_fees, statement.clawbacks) == (
        Decimal("500.00"), Decimal("90.00"), Decimal("50.00"), Decimal("0.00"))
    assert (statement.total, statement.entry_count) == (Decimal("140.00"), 3)
    assert statement.statement_no.startswith("CS-202401-")
    again = draft_statement(session=session, agency_id=january["agency_id"], period="2024-01")
    assert again.id == statement.id and again.total == Decimal("140.00")


def test_issue_writes_the_xlsx_and_keeps_its_hash(session, january, tmp_path):
    statement = draft_statement(session=session, agency_id=january["agency_id"], period="2024-01")
    issued = issue_statement(session=session, statement_id=statement.id, actor="finance:wang", out_dir=tmp_path,
                             at=local(2024, 2, 2, 10))
    assert issued.path.exists() and issued.path.name == f"{statement.statement_no}.xlsx"
    assert statement.status == StatementStatus.issued and statement.issued_by == "finance:wang"
    assert statement.document_sha256 == sha256_of(issued.path)
    assert list(tmp_path.iterdir()) == [issued.path]  # no temporary file left behind
    workbook = load_workbook(issued.path, read_only=True)
    summary = {row[0]: row[1] for row in workbook.worksheets[0].iter_rows(values_only=True)}
    assert summary["对账单编号 Statement no."] == statement.statement_no
    assert summary["应付合计 Total payable"] == pytest.approx(140.0)
    assert summary["状态 Status"] == "issued"
    lines = list(workbook.worksheets[1].iter_rows(values_only=True))
    assert lines[0][:9] == (
        "案件编号 case_no", "账号 account_no", "交易流水号 txn_id", "还款时间 paid_at", "账龄 bucket",
        "计佣基数 base amount", "费率 rate", "金额 amount", "类型 kind",
    )
    kinds = sorted((line[8], line[7]) for line in lines[1:])
    assert kinds == [("commission", 30.0), ("commission", 60.0), ("fixed_fee", 50.0)]
    txns = {line[2] for line in lines[1:] if line[8] == "commission"}
    assert txns == {p.txn_id for p in january["payments"]}
    # The document can be rebuilt byte for byte from the stored data.
    rebuilt = statement_document(session=session, statement=statement, directory=tmp_path)
    assert sha256_of(rebuilt) == statement.document_sha256


def test_issued_statement_and_its_entries_are_immutable(session, january, tmp_path):
    statement = draft_statement(session=session, agency_id=january["agency_id"], period="2024-01")
    issue_statement(session=session, statement_id=statement.id, actor="finance", out_dir=tmp_path)
    entry = session.scalars(select(CommissionEntry).where(CommissionEntry.statement_id == statement.id)).first()
    statement_no = statement.statement_no
    changes = [
        (statement, lambda: setattr(statement, "total", Decimal("1.00"))),
        (statement, lambda: setattr(statement, "status", StatementStatus.draft)),
        (statement, lambda: setattr(statement, "document_sha256", "0" * 64)),
        (entry, lambda: setattr(entry, "amount", Decimal("0.01"))),
        (entry, lambda: setattr(entry, "statement_id", None)),
        (entry, lambda: session.delete(entry)),
        (statement, lambda: session.delete(statement)),
    ]
    for target, change in changes:
        change()
        with pytest.raises(IssuedStatementChanged, match=statement_no):
            session.flush()
        if target in session.deleted:
            session.expunge(target)
            session.add(target)  # back to persistent: the delete is forgotten
        session.expire(target)
    with pytest.raises(Conflict):
        draft_statement(session=session, agency_id=january["agency_id"], period="2024-01")
    with pytest.raises(Conflict):
        issue_statement(session=session, statement_id=statement.id, actor="finance", out_dir=tmp_path)


def test_new_entries_cannot_be_put_on_an_issued_statement(session, january, tmp_path):
    statement = draft_statement(session=session, agency_id=january["agency_id"], period="2024-01")
    issue_statement(session=session, statement_id=statement.id, actor="finance", out_dir=tmp_path)
    source = session.scalars(select(CommissionEntry)).first()
    session.add(CommissionEntry(
        agency_id=source.agency_id, contract_id=source.contract_id, case_id=source.case_id, kind="fixed_fee",
        source_key="manual:1", period="2024-01", base_amount=Decimal("0"), amount=Decimal("1.00"),
        statement_id=statement.id,
    ))
    with pytest.raises(IssuedStatementChanged):
        session.flush()


def test_reversal_after_issue_claws_back_in_the_next_statement(session, january, tmp_path):
    agency_id = january["agency_id"]
    issued_dir = tmp_path / "issued"
    statement = draft_statement(session=session, agency_id=agency_id, period="2024-01")
    issued = issue_statement(session=session, statement_id=statement.id, actor="finance", out_dir=issued_dir)
    frozen = (statement.recovered, statement.commission, statement.fixed_fees, statement.clawbacks,
              statement.total, statement.entry_count, statement.document_sha256)
    file_hash = sha256_of(issued.path)

    # The 300.00 payment bounces in February; its 60.00 commission is clawed back.
    bounced = january["payments"][1]
    reverse_payment(session=session, txn_id=bounced.txn_id, reason="退票", actor="finance", at=local(2024, 2, 5))
    clawback = session.scalar(select(CommissionEntry).where(CommissionEntry.kind == "clawback"))
    assert (clawback.period, clawback.amount, clawback.base_amount, clawback.source_key) == (
        "2024-02", Decimal("-60.00"), Decimal("-300.00"), f"clawback:payment:{bounced.id}")

    session.expire_all()
    assert (statement.recovered, statement.commission, statement.fixed_fees, statement.clawbacks,
            statement.total, statement.entry_count, statement.document_sha256) == frozen
    assert sha256_of(issued.path) == file_hash
    assert sha256_of(statement_document(session=session, statement=statement, directory=tmp_path)) == file_hash

    february = draft_statement(session=session, agency_id=agency_id, period="2024-02")
    assert (february.clawbacks, february.total, february.recovered, february.entry_count) == (
        Decimal("-60.00"), Decimal("-60.00"), Decimal("-300.00"), 1)


def test_back_dated_clawback_after_issue_lands_in_the_next_statement(session, january, tmp_path):
    agency_id = january["agency_id"]
    statement = draft_statement(session=session, agency_id=agency_id, period="2024-01")
    issue_statement(session=session, statement_id=statement.id, actor="finance", out_dir=tmp_path)
    bounced = january["payments"][1]
    # The bank's notice arrives late: reversed on January 25, recorded after January was issued.
    reverse_payment(session=session, txn_id=bounced.txn_id, reason="退票", actor="finance", at=local(2024, 1, 25))
    february = draft_statement(session=session, agency_id=agency_id, period="2024-02")
    assert february.clawbacks == Decimal("-60.00")


def test_fixed_fee_is_clawed_back_when_the_payoff_bounces(session, january, tmp_path):
    agency_id = january["agency_id"]
    statement = draft_statement(session=session, agency_id=agency_id, period="2024-01")
    issue_statement(session=session, statement_id=statement.id, actor="finance", out_dir=tmp_path)
    payoff = january["payments"][0]
    reverse_payment(session=session, txn_id=payoff.txn_id, reason="退票", actor="finance", at=local(2024, 2, 2))
    february = draft_statement(session=session, agency_id=agency_id, period="2024-02")
    # Commission 30.00 and the 50.00 fixed fee both come back.
    assert (february.clawbacks, february.entry_count) == (Decimal("-80.00"), 2)
    compute_commission(session=session, period="2024-02")
    assert session.scalar(select(CommissionEntry).where(CommissionEntry.kind == "fixed_fee",
                                                        CommissionEntry.period == "2024-02")) is None


def test_run_period_drafts_for_every_agency_and_skips_issued_ones(session, january, tmp_path):
    other = make_contract(session)
    account = make_account(session)
    make_case(session, account=account, contract=other, placed_at=local(2023, 12, 1))
    pay(session, account=account, amount="100.00", paid_at=local(2024, 1, 9))
    attribute_payments(session=session)
    run = run_period(session=session, period="2024-01")
    assert run.commission.commission_entries == 1  # the new agency's; the first was computed already
    assert len(run.statements) == 2
    first = next(s for s in run.statements if s.agency_id == january["agency_id"])
    issue_statement(session=session, statement_id=first.id, actor="finance", out_dir=tmp_path)
    again = run_period(session=session, period="2024-01")
    assert [s.agency_id for s in again.statements] == [other.agency_id]


def test_month_end_job_closes_the_month_before_its_day(session, january):
    result = month_end_commission(session=session, run_for=date(2024, 2, 1))
    assert result["period"] == "2024-01" and len(result["statements"]) == 1
    again = month_end_commission(session=session, run_for=date(2024, 2, 1))
    assert (again["commission_entries"], again["fixed_fee_entries"]) == (0, 0)


def test_long_statements_continue_on_further_line_sheets(session, january, tmp_path, monkeypatch):
    from weiwai.settlement import xlsx

    monkeypatch.setattr(xlsx, "LINES_PER_SHEET", 2)
    statement = draft_statement(session=session, agency_id=january["agency_id"], period="2024-01")
    issued = issue_statement(session=session, statement_id=statement.id, actor="finance", out_dir=tmp_path)
    workbook = load_workbook(issued.path, read_only=True)
    assert workbook.sheetnames == ["Summary 汇总", "Lines 明细", "Lines 明细 2"]
    rows = [len(list(sheet.iter_rows(values_only=True))) - 1 for sheet in workbook.worksheets[1:]]
    assert rows == [2, 1]  # three lines, each sheet with its header
