"""`weiwai import accounts|payments` end to end: the real command in a subprocess, on a fresh
SQLite and PostgreSQL database."""

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from weiwai.portfolio.identity import national_id_check_char

WEIWAI = Path(sys.executable).parent / "weiwai"
HEADER = "借据号,姓名,身份证号,手机号,产品,合同金额,剩余本金,未还利息,费用,罚息,最早未还到期日,客户等级,省份,联系人,关系,联系人电话,家庭地址"


def national_id(serial: int) -> str:
    first17 = f"51010719881212{serial:03d}"
    return first17 + national_id_check_char(first17)


def row(serial: int, *, mobile: str | None = None, principal: str = "3000.00") -> str:
    return (
        f"JD{serial:05d},客户{serial},{national_id(serial)},{mobile or f'1860000{serial:04d}'},现金贷,5000,{principal},"
        f"12.30,0,8.8,2026-04-15,C,四川,家属{serial},母亲,1350000{serial:04d},成都市武侯区{serial}号"
    )


def weiwai(*args: str, locale: str = "en") -> subprocess.CompletedProcess:
    env = {**os.environ, "WEIWAI_DEFAULT_LOCALE": locale, "COLUMNS": "200"}
    return subprocess.run([str(WEIWAI), *args], capture_output=True, text=True, env=env, timeout=300, check=False)


def counts(url: str) -> tuple[int, int, int]:
    from weiwai.db import make_engine
    from weiwai.portfolio.models import Account, Debtor, Payment

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(
                conn.execute(select(func.count()).select_from(model)).scalar_one()
                for model in (Debtor, Account, Payment)
            )
    finally:
        engine.dispose()


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "book.csv"
    path.write_bytes(("\n".join([HEADER, *(row(i) for i in range(1, 6))]) + "\n").encode("gb18030"))
    return path


def test_import_accounts_then_payments(use_db, book, tmp_path):
    result = weiwai("import", "accounts", str(book), "--as-of", "2026-06-30", "--actor", "ops:li")
    assert result.returncode == 0, result.stderr
    assert "Imported book.csv" in result.stdout
    assert "New accounts" in result.stdout and "5" in result.stdout
    assert counts(use_db) == (5, 5, 0)

    again = weiwai("import", "accounts", str(book))
    assert again.returncode == 0, again.stderr
    assert "Unchanged" in again.stdout
    assert counts(use_db) == (5, 5, 0)

    payments = tmp_path / "payments.csv"
    payments.write_text("交易流水号,账号,还款金额,还款时间\nP1,JD00001,21.10,2026-06-01 10:00:00\n", encoding="utf-8")
    posted = weiwai("import", "payments", str(payments))
    assert posted.returncode == 0, posted.stderr
    assert "Payments posted" in posted.stdout
    assert counts(use_db) == (5, 5, 1)

    from weiwai.db import make_engine
    from weiwai.portfolio.models import Account

    engine = make_engine(use_db)
    with engine.connect() as conn:
        total = conn.execute(
            select(Account.interest_outstanding + Account.fee_outstanding + Account.penalty_outstanding).where(
                Account.account_no == "JD00001"
            )
        ).scalar_one()
    engine.dispose()
    assert Decimal(total) == Decimal("0.00")


def test_a_bad_file_exits_2_lists_every_error_and_writes_nothing(use_db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "\n".join([HEADER, row(1), row(2, mobile="123"), row(3, principal="-1"), row(1)]) + "\n", encoding="utf-8"
    )
    result = weiwai("import", "accounts", str(path))
    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert "Rejected" in result.stderr and "3 error(s); nothing was written" in result.stderr
    assert "bad.csv: row 3, column '手机号', value '123': not a mainland mobile number" in result.stderr
    assert "bad.csv: row 4, column '剩余本金', value '-1': amount must not be negative" in result.stderr
    assert "bad.csv: row 5, column '借据号', value 'JD00001': this account number is already on row 2" in result.stderr
    assert counts(use_db) == (0, 0, 0)


def test_errors_are_in_chinese_by_default(use_db, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([HEADER, row(1, mobile="123")]) + "\n", encoding="utf-8")
    result = weiwai("import", "accounts", str(path), locale="zh_CN")
    assert result.returncode == 2
    assert "已拒绝" in result.stderr
    assert "第 2 行，列 '手机号'，值 '123'：不是有效的大陆手机号" in result.stderr


def test_unreadable_files_exit_2_without_traceback(use_db, tmp_path):
    missing = weiwai("import", "payments", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2
    assert "file not found" in missing.stderr and "Traceback" not in missing.stderr
    other = tmp_path / "book.pdf"
    other.write_bytes(b"%PDF-1.4")
    wrong_type = weiwai("import", "accounts", str(other))
    assert wrong_type.returncode == 2
    assert "unsupported file type .pdf" in wrong_type.stderr


def test_payments_for_unknown_accounts_exit_2(use_db, book, tmp_path):
    assert weiwai("import", "accounts", str(book)).returncode == 0
    payments = tmp_path / "payments.csv"
    payments.write_text(
        "txn_id,account_no,amount,paid_at\nP1,JD00001,5,2026-06-01 10:00\nP2,JD99999,5,2026-06-01 10:00\n"
    )
    result = weiwai("import", "payments", str(payments))
    assert result.returncode == 2
    assert "row 3, column 'account_no', value 'JD99999': no account with this number in the portfolio" in result.stderr
    assert counts(use_db) == (5, 5, 0)
