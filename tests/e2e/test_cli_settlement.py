"""`weiwai payment …` and `weiwai statement …` end to end, on a fresh SQLite and
PostgreSQL database: attribute, month end, issue, reversals one by one and from a file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from factories_settlement import make_account, make_case, make_contract, pay
from openpyxl import Workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from weiwai.db import session_scope
from weiwai.errors import Conflict, InputRejected
from weiwai.payments.models import PaymentReversal
from weiwai.settlement.models import CommissionEntry, CommissionStatement

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEIWAI = Path(sys.executable).parent / "weiwai"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture(scope="module")
def cli():
    from weiwai.cli import main

    main._register()
    return main.app


@pytest.fixture
def run(cli, use_db, monkeypatch):
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_DEFAULT_LOCALE", "en")
    reset_settings()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), env={"COLUMNS": "250"})

    return invoke


def ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


@pytest.fixture
def book(use_db):
    """One agency's case with three January payments, and one direct payment."""
    with session_scope() as session:
        contract = make_contract(session, fixed_fee="10.00")
        account = make_account(session, principal="1000.00")
        make_case(session, account=account, contract=contract, placed_at=local(2023, 12, 1))
        txns = [pay(session, account=account, amount=amount, paid_at=local(2024, 1, day)).txn_id
                for amount, day in (("100.00", 5), ("200.00", 6), ("300.00", 7))]
        direct = pay(session, account=make_account(session), amount="9.00", paid_at=local(2024, 1, 8)).txn_id
        return {"txns": txns, "direct": direct, "agency_id": contract.agency_id}


def test_attribute_run_issue_and_show(run, book, tmp_path):
    assert "4 payment(s) attributed: 3 to open cases, 0 in grace days, 1 direct" in ok(run("payment", "attribute"))
    assert "0 payment(s) attributed" in ok(run("payment", "attribute"))
    output = ok(run("statement", "run", "--period", "2024-01"))
    # (100 + 200 + 300) × 0.15 = 90.00
    assert "2024-01: 3 commission entries (90.00), 0 fixed fees (0.00) added" in output
    with session_scope() as session:
        number = session.scalar(select(CommissionStatement.statement_no))
    assert f"draft {number}: 3 line(s), total 90.00" in output
    assert "0 commission entries" in ok(run("statement", "run", "--period", "2024-01"))
    listed = ok(run("statement", "list", "--period", "2024-01"))
    assert number in listed and "draft" in listed
    issued = ok(run("statement", "issue", number, "--out", str(tmp_path / "out"), "--actor", "finance:li"))
    assert f"{number} issued: total 90.00" in issued
    assert (tmp_path / "out" / f"{number}.xlsx").exists()
    shown = ok(run("statement", "show", number))
    assert "issued" in shown and "finance:li" in shown and "90.00" in shown
    result = run("statement", "issue", number, "--out", str(tmp_path / "again"))
    assert isinstance(result.exception, Conflict)
    payment = ok(run("payment", "show", book["txns"][0]))
    assert "case" in payment and "principal 100.00" in payment and number in payment
    assert "direct" in ok(run("payment", "show", book["direct"]))


def test_reverse_one_payment_after_issue(run, book, tmp_path):
    ok(run("payment", "attribute"))
    ok(run("statement", "run", "--period", "2024-01"))
    with session_scope() as session:
        number = session.scalar(select(CommissionStatement.statement_no))
    ok(run("statement", "issue", number, "--out", str(tmp_path)))
    txn = book["txns"][1]
    output = ok(run("payment", "reverse", txn, "--reason", "bounced", "--at", "2024-02-03 09:30"))
    assert f"payment {txn} reversed at 2024-02-03 09:30:00" in output
    result = run("payment", "reverse", txn, "--reason", "bounced")
    assert isinstance(result.exception, Conflict)
    output = ok(run("statement", "run", "--period", "2024-02"))
    assert "total -30.00" in output


def _bounce_file(path, rows):
    path.write_text("txn_id,reversed_at,reason\n" + "".join(",".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_reverse_file_is_whole_or_nothing_and_idempotent(run, book, tmp_path):
    ok(run("payment", "attribute"))
    first, second, third = book["txns"]
    bad = _bounce_file(tmp_path / "bounced.csv", [
        (first, "2024-01-20", "退票"),
        ("NO-SUCH", "2024-01-20", "退票"),
        (second, "yesterday", "退票"),
        (third, "2024-01-01", ""),
        (first, "2024-01-21", "again"),
    ])
    result = run("payment", "reverse-file", str(bad))
    assert isinstance(result.exception, InputRejected)
    problems = {(e.row, e.column) for e in result.exception.errors}
    assert problems == {(3, "txn_id"), (4, "reversed_at"), (5, "reason"), (5, "reversed_at"), (6, "txn_id")}
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(PaymentReversal)) == 0

    good = _bounce_file(tmp_path / "bounced-ok.csv",
                        [(first, "2024-01-20 10:00", "退票"), (second, "2024-01-06", "退票")])
    assert "2 row(s), 2 reversed, 0 already reversed" in ok(run("payment", "reverse-file", str(good)))
    assert "2 row(s), 0 reversed, 2 already reversed" in ok(run("payment", "reverse-file", str(good)))
    with session_scope() as session:
        reversals = session.scalars(select(PaymentReversal).order_by(PaymentReversal.id)).all()
        assert [r.reference for r in reversals] == ["bounced-ok.csv", "bounced-ok.csv"]
        # A bare date on the payment's own day means the payment's moment, never before it.
        assert reversals[1].reversed_at == local(2024, 1, 6)
        assert session.scalar(select(func.count()).select_from(CommissionEntry)) == 0


def test_reverse_file_from_xlsx(run, book, tmp_path):
    ok(run("payment", "attribute"))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["txn_id", "reversed_at", "reason", "reference"])
    sheet.append([book["txns"][2], datetime(2024, 1, 9, 8, 0), "余额不足", "BK-77"])
    path = tmp_path / "bounced.xlsx"
    workbook.save(path)
    assert "1 row(s), 1 reversed" in ok(run("payment", "reverse-file", str(path)))
    with session_scope() as session:
        reversal = session.scalar(select(PaymentReversal))
        expected = ("BK-77", local(2024, 1, 9, 8), "余额不足")
        assert (reversal.reference, reversal.reversed_at, reversal.reason) == expected


def test_the_installed_command_lists_every_problem_of_a_rejected_file(use_db, book, tmp_path):
    """The real `weiwai` binary: exit code 2, one line per problem, no traceback, in Chinese."""
    bad = _bounce_file(tmp_path / "退票.csv", [("NO-SUCH", "2024-01-20", "退票"), (book["txns"][0], "soon", "")])
    env = {**os.environ, "WEIWAI_DATABASE_URL": use_db, "WEIWAI_DEFAULT_LOCALE": "zh_CN", "COLUMNS": "250"}
    completed = subprocess.run([str(WEIWAI), "payment", "reverse-file", str(bad)], capture_output=True, text=True,
                               env=env, timeout=60)
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 4  # the summary and three problems
    assert "第 2 行，列 'txn_id'，值 'NO-SUCH'：找不到该交易号的还款" in lines[1]
    assert {"第 3 行，列 'reason'" in line for line in lines[2:]} == {True, False}
    assert any("第 3 行，列 'reversed_at'，值 'soon'" in line for line in lines[2:])
