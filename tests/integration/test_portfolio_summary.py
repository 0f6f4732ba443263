"""Portfolio summary: totals equal the sum of the accounts, every breakdown adds up, and
the SQL delinquency rule gives the same bucket as the Python rule for every account."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from factories import make_account, make_debtor
from weiwai.config import get_settings
from weiwai.portfolio import service
from weiwai.portfolio.delinquency import bucket_of
from weiwai.portfolio.models import Account, AccountStatus
from weiwai.reports.portfolio_summary import portfolio_summary

AS_OF = date(2024, 6, 30)
ZERO = Decimal("0.00")


def _boundary_offsets() -> list[int]:
    """Days past due at and around every band edge, plus the current side."""
    offsets = {-30, -1, 0, 1}
    for band in get_settings().buckets:
        offsets.update({band.min_dpd - 1, band.min_dpd, band.min_dpd + 1})
        if band.max_dpd is not None:
            offsets.update({band.max_dpd - 1, band.max_dpd, band.max_dpd + 1})
    offsets.update({400, 1000, 3650})
    return sorted(offsets)


@pytest.fixture
def varied_book(session):
    """A few hundred accounts: every band edge, no due date, future dates, every status,
    zero balances and balances owed only in interest or fees."""
    rng = random.Random(20240630)
    debtors = [
        make_debtor(session, region=region, credit_grade=grade)
        for region, grade in [("北京", "A"), ("广东", "B"), ("四川", "C"), ("上海", "B"), ("广东", "D")]
    ]
    amounts = ["0.00", "0.01", "0.10", "0.20", "99.99", "1234.56", "50000.05"]
    statuses = [AccountStatus.open] * 5 + [AccountStatus.paid_off, AccountStatus.written_off, AccountStatus.closed]
    due_dates = [None] + [AS_OF - timedelta(days=offset) for offset in _boundary_offsets()]
    accounts = []
    for index in range(320):
        due = due_dates[index % len(due_dates)]
        accounts.append(
            make_account(
                session,
                debtor=rng.choice(debtors),
                product=rng.choice(["cash_loan", "consumer"]),
                principal=rng.choice(amounts),
                interest=rng.choice(amounts),
                fee=rng.choice(["0.00", "0.00", "15.00"]),
                penalty=rng.choice(["0.00", "0.33"]),
                due_date=due,
                status=rng.choice(statuses),
            )
        )
    return accounts


@pytest.mark.parametrize("shift_days", [0, -45, 17, 365])
def test_sql_bucket_equals_python_bucket_for_every_account(session, varied_book, shift_days):
    as_of = AS_OF + timedelta(days=shift_days)
    dialect = service.dialect_of(session)
    rows = session.execute(
        select(Account.id, service.account_dpd_sql(as_of, dialect), service.account_bucket_sql(as_of, dialect))
    ).all()
    by_id = {account.id: account for account in varied_book}
    bands = get_settings().buckets
    assert len(rows) == len(varied_book)
    seen_buckets = set()
    for account_id, sql_dpd, sql_bucket in rows:
        account = by_id[account_id]
        python_dpd = service.account_days_past_due(account, as_of)
        assert (sql_dpd, sql_bucket) == (python_dpd, bucket_of(python_dpd, bands)), account.account_no
        seen_buckets.add(sql_bucket)
    if shift_days == 0:
        # The data really is varied: every bucket occurs.
        assert seen_buckets == set(service.bucket_labels())


def _open_accounts(accounts):
    return [a for a in accounts if a.status == AccountStatus.open]


def test_summary_totals_equal_the_sum_of_the_accounts(session, varied_book):
    summary = portfolio_summary(session=session, as_of=AS_OF)
    open_accounts = _open_accounts(varied_book)

    assert summary.totals.accounts == len(open_accounts)
    assert summary.totals.total_outstanding == sum((a.total_outstanding for a in open_accounts), ZERO)
    assert summary.totals.principal_outstanding == sum((a.principal_outstanding for a in open_accounts), ZERO)
    for breakdown in (summary.by_bucket, summary.by_grade, summary.by_region):
        assert sum(line.accounts for line in breakdown) == summary.totals.accounts
        assert sum((line.total_outstanding for line in breakdown), ZERO) == summary.totals.total_outstanding
        assert sum((line.principal_outstanding for line in breakdown), ZERO) == summary.totals.principal_outstanding
    assert sum(line.accounts for line in summary.by_status) == len(varied_book)
    assert sum((line.total_outstanding for line in summary.by_status), ZERO) == sum(
        (a.total_outstanding for a in varied_book), ZERO
    )


def test_summary_lines_match_the_accounts_in_them(session, varied_book):
    summary = portfolio_summary(session=session, as_of=AS_OF)
    bands = get_settings().buckets
    open_accounts = _open_accounts(varied_book)
    for line in summary.by_bucket:
        members = [a for a in open_accounts if bucket_of(service.account_days_past_due(a, AS_OF), bands) == line.key]
        assert line.accounts == len(members), line.key
        assert line.total_outstanding == sum((a.total_outstanding for a in members), ZERO), line.key
    for line in summary.by_region:
        members = [a for a in open_accounts if a.debtor.region == line.key]
        assert (line.accounts, line.principal_outstanding) == (
            len(members), sum((a.principal_outstanding for a in members), ZERO)
        )
    current = next(line for line in summary.by_bucket if line.key == "M0")
    assert summary.delinquent.accounts == summary.totals.accounts - current.accounts
    assert summary.delinquent.total_outstanding == summary.totals.total_outstanding - current.total_outstanding


def test_summary_shape_on_an_empty_book(session):
    summary = portfolio_summary(session=session, as_of=AS_OF)
    assert [line.key for line in summary.by_bucket] == service.bucket_labels()
    assert all(line.accounts == 0 and line.total_outstanding == ZERO for line in summary.by_bucket)
    assert summary.by_grade == summary.by_region == summary.by_status == []
    assert summary.totals.total_outstanding == ZERO


def test_summary_breakdowns_are_sorted_and_money_serialises_as_strings(session):
    make_account(session, debtor=make_debtor(session, region="四川", credit_grade="C"), principal="10.10")
    make_account(session, debtor=make_debtor(session, region="北京", credit_grade="A"), principal="20.20")
    make_account(session, principal="5.00", status=AccountStatus.written_off)
    summary = portfolio_summary(session=session, as_of=AS_OF)
    assert [line.key for line in summary.by_grade] == ["A", "C"]
    assert [line.key for line in summary.by_status] == ["open", "written_off"]
    data = summary.model_dump(mode="json")
    assert data["totals"] == {"key": "total", "accounts": 2, "total_outstanding": "30.30", "principal_outstanding": "30.30"}


def test_summary_sums_are_exact_to_the_fen(session):
    # A thousand amounts of x.01 / x.07 drift in floating point; the summary must not.
    debtor = make_debtor(session)
    for index in range(1000):
        make_account(session, debtor=debtor, principal=f"{index}.01", interest="0.07", due_date=None)
    summary = portfolio_summary(session=session, as_of=AS_OF)
    expected = sum((Decimal(f"{index}.01") for index in range(1000)), ZERO) + Decimal("70.00")
    assert summary.totals.total_outstanding == expected
