"""Importing payment records, on SQLite and PostgreSQL."""

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from weiwai.errors import InputRejected
from weiwai.i18n import using_locale
from weiwai.portfolio.identity import national_id_check_char
from weiwai.portfolio.importing import import_accounts, import_payments
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    ImportRun,
    Payment,
)

HEADER = [
    "account_no",
    "debtor_name",
    "national_id",
    "mobile",
    "product",
    "original_amount",
    "principal_outstanding",
    "interest_outstanding",
    "fee_outstanding",
    "penalty_outstanding",
    "due_date",
    "credit_grade",
    "region",
    "time_zone",
]


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


def national_id(serial: int) -> str:
    first17 = f"44030519900101{serial:03d}"
    return first17 + national_id_check_char(first17)


def load_book(session, tmp_path, accounts: list[tuple[str, str, str, str, str]], time_zone="Asia/Shanghai"):
    """accounts: (account_no, principal, interest, fee, penalty)."""
    lines = [",".join(HEADER)]
    for serial, (account_no, principal, interest, fee, penalty) in enumerate(accounts, start=1):
        lines.append(
            f"{account_no},张三{serial},{national_id(serial)},1381234{serial:04d},消费贷,100000,{principal},{interest},"
            f"{fee},{penalty},2026-01-01,B,广东,{time_zone}"
        )
    path = tmp_path / "book.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_accounts(session=session, path=path, actor="tester", as_of=date(2026, 6, 30))


def payments_file(tmp_path, rows: list[str], name="payments.csv", header="txn_id,account_no,amount,paid_at,channel"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def post(session, path):
    return import_payments(session=session, path=path, actor="tester")


def account(session, account_no) -> Account:
    session.expire_all()
    return session.scalars(select(Account).where(Account.account_no == account_no)).one()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_payments_follow_the_waterfall_and_are_recorded(session, tmp_path):
    load_book(session, tmp_path, [("LN1", "1000.00", "100.00", "20.00", "30.00")])
    path = payments_file(tmp_path, ["T1,LN1,60.00,2026-06-01 10:00:00,bank", "T2,LN1,100,2026-06-02 23:30:00+08:00,"])
    report = post(session, path)
    assert (report.rows, report.posted, report.duplicates, report.updated) == (2, 2, 0, 1)

    first, second = session.scalars(select(Payment).order_by(Payment.paid_at)).all()
    assert (first.applied_fee, first.applied_penalty, first.applied_interest, first.applied_principal) == (
        Decimal("20.00"),
        Decimal("30.00"),
        Decimal("10.00"),
        Decimal("0.00"),
    )
    assert (second.applied_interest, second.applied_principal, second.applied_credit) == (
        Decimal("90.00"),
        Decimal("10.00"),
        Decimal("0.00"),
    )
    assert first.paid_at == datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
    assert (first.channel, first.status, first.source_file) == ("bank", "posted", "payments.csv")

    paid = account(session, "LN1")
    assert paid.total_outstanding == Decimal("990.00")
    assert paid.last_payment_date == date(2026, 6, 2)
    assert paid.version == 2

    changes = session.scalars(
        select(AccountBalanceChange).where(AccountBalanceChange.source == "payment").order_by(AccountBalanceChange.id)
    ).all()
    assert [(c.reference, c.delta_total, c.principal_outstanding) for c in changes] == [
        ("T1", Decimal("-60.00"), Decimal("1000.00")),
        ("T2", Decimal("-100.00"), Decimal("990.00")),
    ]
    run = session.scalars(select(ImportRun).where(ImportRun.kind == "payments")).one()
    assert (run.rows, run.created, run.unchanged) == (2, 2, 0)


def test_payments_are_applied_in_the_order_they_were_paid(session, tmp_path):
    load_book(session, tmp_path, [("LN1", "100.00", "10.00", "0", "0")])
    post(session, payments_file(tmp_path, ["LATE,LN1,5,2026-06-03 09:00", "EARLY,LN1,20,2026-06-01 09:00"]))
    applied = {p.txn_id: (p.applied_interest, p.applied_principal) for p in session.scalars(select(Payment))}
    assert applied == {"EARLY": (Decimal("10.00"), Decimal("10.00")), "LATE": (Decimal("0.00"), Decimal("5.00"))}


def test_overpayment_becomes_credit_and_the_account_is_paid_off(session, tmp_path):
    load_book(session, tmp_path, [("LN1", "50.00", "0", "0", "0")])
    post(session, payments_file(tmp_path, ["T1,LN1,80,2026-06-01 09:00"]))
    paid = account(session, "LN1")
    assert paid.total_outstanding == 0
    assert paid.credit_balance == Decimal("30.00")
    assert paid.status == AccountStatus.paid_off
    assert session.scalars(select(Payment)).one().applied_credit == Decimal("30.00")


def test_last_payment_date_is_local_to_the_debtor(session, tmp_path):
    load_book(session, tmp_path, [("LN1", "50.00", "0", "0", "0")], time_zone="America/New_York")
    post(session, payments_file(tmp_path, ["T1,LN1,1,2026-06-02T02:00:00Z"]))
    assert account(session, "LN1").last_payment_date == date(2026, 6, 1)


def test_reimporting_payments_skips_duplicates(session, tmp_path):
    load_book(session, tmp_path, [("LN1", "500.00", "0", "0", "0")])
    path = payments_file(tmp_path, ["T1,LN1,60,2026-06-01 10:00", "T2,LN1,40,2026-06-02 10:00"])
    post(session, path)
    again = post(session, payments_file(tmp_path, ["T1,LN1,60.00,2026-06-01T02:00:00Z", "T3,LN1,1,2026-06-03 10:00"]))
    assert (again.posted, again.duplicates) == (1, 1)
    assert count(session, Payment) == 3
    assert account(session, "LN1").total_outstanding == Decimal("399.00")
    unchanged = post(session, path)
    assert (unchanged.posted, unchanged.duplicates, unchanged.updated) == (0, 2, 0)
    assert count(session, AccountBalanceChange) == 1 + 3


def test_a_known_txn_id_with_other_details_rejects_the_file(session, tmp_path):
    load_book(session, tmp_path, [("LN1", "500.00", "0", "0", "0")])
    post(session, payments_file(tmp_path, ["T1,LN1,60,2026-06-01 10:00"]))
    with pytest.raises(InputRejected) as rejected:
        post(session, payments_file(tmp_path, ["T2,LN1,5,2026-06-02 10:00", "T1,LN1,61,2026-06-01 10:00"]))
    [error] = rejected.value.errors
    assert (error.row, error.column, error.value) == (3, "txn_id", "T1")
    assert "imported before with other details (account LN1, amount 60.00" in error.reason
    assert count(session, Payment) == 1


def test_unknown_accounts_reject_the_whole_file(session, tmp_path):
    load_book(session, tmp_path, [("LN1", "500.00", "0", "0", "0")])
    path = payments_file(
        tmp_path,
        ["T1,LN1,60,2026-06-01 10:00", "T2,NOPE,5,2026-06-01 10:00", "T3,GONE,5,2026-06-01 10:00"],
        header="流水号,账号,还款金额,还款时间,渠道",
    )
    with pytest.raises(InputRejected) as rejected:
        post(session, path)
    assert [(e.row, e.column, e.value, e.reason) for e in rejected.value.errors] == [
        (3, "账号", "NOPE", "no account with this number in the portfolio"),
        (4, "账号", "GONE", "no account with this number in the portfolio"),
    ]
    assert count(session, Payment) == 0
    assert account(session, "LN1").total_outstanding == Decimal("500.00")
    assert count(session, ImportRun) == 1  # the accounts import only


def test_sum_of_payments_equals_reduction_plus_credit(session, tmp_path):
    rng = random.Random(2026)
    books = [
        (
            f"LN{i}",
            f"{rng.randint(0, 5000)}.{rng.randint(0, 99):02d}",
            f"{rng.randint(0, 300)}.50",
            f"{rng.randint(0, 50)}",
            f"{rng.randint(0, 80)}.05",
        )
        for i in range(20)
    ]
    load_book(session, tmp_path, books)
    before = {a.account_no: (a.total_outstanding, a.credit_balance) for a in session.scalars(select(Account))}
    rows = [
        f"P{n},LN{rng.randrange(20)},{rng.randint(1, 2000)}.{rng.randint(0, 99):02d},2026-06-{rng.randint(1, 28):02d} "
        f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"
        for n in range(300)
    ]
    post(session, payments_file(tmp_path, rows))
    session.expire_all()
    paid = sum(p.amount for p in session.scalars(select(Payment)))
    reduction = sum(before[a.account_no][0] - a.total_outstanding for a in session.scalars(select(Account)))
    credit = sum(a.credit_balance - before[a.account_no][1] for a in session.scalars(select(Account)))
    assert paid == reduction + credit
    for payment in session.scalars(select(Payment)):
        applied = (
            payment.applied_fee
            + payment.applied_penalty
            + payment.applied_interest
            + payment.applied_principal
            + payment.applied_credit
        )
        assert applied == payment.amount
    changes = session.scalars(select(AccountBalanceChange).where(AccountBalanceChange.source == "payment")).all()
    assert -sum(c.delta_total for c in changes) == reduction
