"""`import_payments`: post the lender's repayment records to the accounts they pay.

Each payment is applied by the waterfall (weiwai.portfolio.balances) in the order it
was paid, its allocation stored on the Payment row, the account reduced, and the
change recorded in the balance history. A txn_id seen before with the same account,
amount and time is skipped, so a file can be imported again without double posting;
the same txn_id with other details refuses the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.errors import InputRejected, RowError
from weiwai.i18n import _
from weiwai.money import to_fen
from weiwai.portfolio.balances import Balances, apply_payment
from weiwai.portfolio.importing import payment_rows
from weiwai.portfolio.importing import validation as v
from weiwai.portfolio.importing.columns import PAYMENT_COLUMNS, match_columns
from weiwai.portfolio.importing.readers import read_table
from weiwai.portfolio.importing.report import (
    ImportReport,
    ProgressCallback,
    Steps,
    file_sha256,
    record_run,
)
from weiwai.portfolio.importing.writers import Store, chunks
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    BalanceChangeSource,
    Debtor,
    Payment,
    PaymentStatus,
)

ACCOUNTS = Account.__table__
PAYMENTS = Payment.__table__
HISTORY = AccountBalanceChange.__table__
_MONEY = pl.Decimal(18, 2)


def import_payments(
    *, session: Session, path: Path, actor: str, progress: ProgressCallback | None = None
) -> ImportReport:
    """Post a payments file (CSV/XLSX); InputRejected, with nothing written, if any row is wrong."""
    settings = get_settings()
    steps = Steps(progress)
    started_at = utcnow()
    path = Path(path)

    steps.start(_("Reading {file}").format(file=path.name))
    table = read_table(path)
    columns = match_columns(table.headers, PAYMENT_COLUMNS, file=table.file)
    warnings = list(table.warnings)
    if columns.ignored:
        warnings.append(_("ignored unknown column(s): {names}").format(names=", ".join(columns.ignored)))

    steps.start(_("Checking rows"), total=table.frame.height)
    rows = payment_rows.check_payments(table, columns, settings=settings)
    steps.advance(table.frame.height)

    store = Store.for_session(session)
    store.lock()
    steps.start(_("Comparing with the portfolio"))
    accounts = _accounts(store, rows["account_no"])
    rows, duplicates = _against_portfolio(store, rows, accounts, file=table.file, headers=columns.headers)

    steps.start(_("Posting payments"), total=rows.height)
    posted = post_rows(store, rows, accounts, source_file=table.file, actor=actor, steps=steps)

    report = ImportReport(
        kind="payments",
        file=table.file,
        rows=rows.height + duplicates,
        posted=rows.height,
        duplicates=duplicates,
        updated=posted.accounts.height,
        warnings=tuple(warnings),
    )
    return record_run(session=session, report=report, sha256=file_sha256(path), started_at=started_at, actor=actor)


def post_rows(
    store: Store,
    rows: pl.DataFrame,
    accounts: pl.DataFrame | None = None,
    *,
    source_file: str,
    actor: str,
    steps: Steps | None = None,
) -> _Posted:
    """Apply checked rows (txn_id, account_no, amount in fen, paid_at in UTC, channel) to their
    accounts by the waterfall, oldest first, and write the payments, the accounts' new
    balances and their history. The store must be locked, and the rows new (txn_ids not
    posted before). Also posts the single payments entered over the API (weiwai.payments.recording).
    """
    if accounts is None:
        accounts = _accounts(store, rows["account_no"])
    posted = _apply(rows, accounts, waterfall=get_settings().payment_waterfall, steps=steps or Steps(None))
    with store.savepoint():
        _write(store, posted, now=utcnow(), source_file=source_file, actor=actor)
    store.finish()
    return posted


def _accounts(store: Store, account_nos: pl.Series) -> pl.DataFrame:
    statement = select(
        Account.account_no,
        Account.id.label("account_id"),
        Account.version,
        Account.status,
        Account.principal_outstanding,
        Account.interest_outstanding,
        Account.fee_outstanding,
        Account.penalty_outstanding,
        Account.credit_balance,
        Account.due_date,
        Account.last_payment_date,
        Debtor.time_zone,
    ).join(Debtor, Debtor.id == Account.debtor_id)
    return store.fetch_in(statement, Account.account_no, account_nos).with_columns(
        pl.col("account_id", "version").cast(pl.Int64)
    )


def _against_portfolio(
    store: Store, rows: pl.DataFrame, accounts: pl.DataFrame, *, file: str, headers: dict[str, str]
) -> tuple[pl.DataFrame, int]:
    """Rows still to post and the number of earlier duplicates; InputRejected on contradictions."""
    stored = store.fetch_in(
        select(
            Payment.txn_id,
            Account.account_no.label("stored_account_no"),
            Payment.amount.label("stored_amount"),
            Payment.paid_at.label("stored_paid_at"),
        ).join(Account, Account.id == Payment.account_id),
        Payment.txn_id,
        rows["txn_id"],
    )
    stored = v.parse_columns(
        stored, {"stored_amount": v.amount_fen(), "stored_paid_at": v.timestamp_utc(local_zone="UTC")}
    )
    checked = rows.join(stored, on="txn_id", how="left").join(
        accounts.select("account_no", pl.lit(True).alias("known")), on="account_no", how="left"
    )
    seen_before = pl.col("stored_account_no").is_not_null()
    same = (
        (pl.col("stored_account_no") == pl.col("account_no"))
        & (pl.col("stored_amount") == pl.col("amount"))
        & (pl.col("stored_paid_at") == pl.col("paid_at"))
    )
    errors: list[RowError] = []
    for row, account_no in checked.filter(pl.col("known").is_null()).select(v.ROW, "account_no").iter_rows():
        errors.append(
            RowError(
                file,
                row,
                headers.get("account_no", "account_no"),
                account_no,
                _("no account with this number in the portfolio"),
            )
        )
    conflicting = checked.filter(seen_before & ~same)
    for row, txn_id, account_no, amount, paid_at in conflicting.select(
        v.ROW, "txn_id", "stored_account_no", v.fen_text(pl.col("stored_amount")), "stored_paid_at"
    ).iter_rows():
        errors.append(
            RowError(
                file,
                row,
                headers.get("txn_id", "txn_id"),
                txn_id,
                _(
                    "this transaction id was imported before with other details"
                    " (account {account}, amount {amount}, paid at {paid_at})"
                ).format(account=account_no, amount=amount, paid_at=paid_at.isoformat()),
            )
        )
    if errors:
        raise InputRejected(errors=sorted(errors, key=lambda error: error.row)[: v.MAX_ERRORS])
    duplicates = checked.filter(seen_before).height
    return rows.join(stored.select("txn_id"), on="txn_id", how="anti"), duplicates


@dataclass(frozen=True)
class _Posted:
    """What posting produced: new payment rows, the accounts' new state, history rows."""

    payments: pl.DataFrame
    accounts: pl.DataFrame
    history: pl.DataFrame


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _money(text: str | None) -> Decimal:
    return to_fen(Decimal(text)) if text is not None else Decimal("0.00")


def _apply(rows: pl.DataFrame, accounts: pl.DataFrame, *, waterfall: list[str], steps: Steps) -> _Posted:
    """Apply each payment, oldest first, to a running balance per account."""
    state: dict[int, dict] = {}
    for account in accounts.iter_rows(named=True):
        state[account["account_id"]] = {
            "balances": Balances(
                principal=_money(account["principal_outstanding"]),
                interest=_money(account["interest_outstanding"]),
                fee=_money(account["fee_outstanding"]),
                penalty=_money(account["penalty_outstanding"]),
                credit=_money(account["credit_balance"]),
            ),
            "status": account["status"],
            "last_payment_date": date.fromisoformat(account["last_payment_date"][:10])
            if account["last_payment_date"]
            else None,
            "due_date": date.fromisoformat(account["due_date"][:10]) if account["due_date"] else None,
            "time_zone": account["time_zone"],
            "version": account["version"],
        }
    account_ids = dict(zip(accounts["account_no"], accounts["account_id"], strict=True))
    payments, history = [], []
    ordered = rows.sort("paid_at", v.ROW)
    for count, row in enumerate(ordered.iter_rows(named=True), start=1):
        account_id = account_ids[row["account_no"]]
        account = state[account_id]
        amount = Decimal(row["amount"]).scaleb(-2)
        before = account["balances"]
        after, allocation = apply_payment(before, amount, waterfall=waterfall)
        account["balances"] = after
        if account["status"] == AccountStatus.open.value and after.total_outstanding == 0:
            account["status"] = AccountStatus.paid_off.value
        local_day = row["paid_at"].astimezone(_zone(account["time_zone"])).date()
        if account["last_payment_date"] is None or local_day > account["last_payment_date"]:
            account["last_payment_date"] = local_day
        account["touched"] = True
        payments.append(
            (
                row["txn_id"],
                account_id,
                amount,
                row["paid_at"],
                row["channel"],
                allocation.fee,
                allocation.penalty,
                allocation.interest,
                allocation.principal,
                allocation.credit,
            )
        )
        history.append(
            (
                account_id,
                row["txn_id"],
                after.principal,
                after.interest,
                after.fee,
                after.penalty,
                account["due_date"],
                after.total_outstanding - before.total_outstanding,
            )
        )
        if count % 10_000 == 0:
            steps.advance(10_000)
    steps.advance(ordered.height % 10_000)
    payment_frame = pl.DataFrame(
        payments,
        schema={
            "txn_id": pl.String,
            "account_id": pl.Int64,
            "amount": _MONEY,
            "paid_at": pl.Datetime("us", "UTC"),
            "channel": pl.String,
            "applied_fee": _MONEY,
            "applied_penalty": _MONEY,
            "applied_interest": _MONEY,
            "applied_principal": _MONEY,
            "applied_credit": _MONEY,
        },
        orient="row",
    )
    history_frame = pl.DataFrame(
        history,
        schema={
            "account_id": pl.Int64,
            "reference": pl.String,
            "principal_outstanding": _MONEY,
            "interest_outstanding": _MONEY,
            "fee_outstanding": _MONEY,
            "penalty_outstanding": _MONEY,
            "due_date": pl.Date,
            "delta_total": _MONEY,
        },
        orient="row",
    )
    account_frame = pl.DataFrame(
        [
            (
                account_id,
                account["version"],
                account["balances"].principal,
                account["balances"].interest,
                account["balances"].fee,
                account["balances"].penalty,
                account["balances"].credit,
                account["last_payment_date"],
                account["status"],
            )
            for account_id, account in state.items()
            if account.get("touched")
        ],
        schema={
            "id": pl.Int64,
            "version": pl.Int64,
            "principal_outstanding": _MONEY,
            "interest_outstanding": _MONEY,
            "fee_outstanding": _MONEY,
            "penalty_outstanding": _MONEY,
            "credit_balance": _MONEY,
            "last_payment_date": pl.Date,
            "status": pl.String,
        },
        orient="row",
    )
    return _Posted(payment_frame, account_frame, history_frame)


def _money_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimal columns as "1234.56" text, the form both stores write exactly."""
    decimals = [name for name, dtype in frame.schema.items() if isinstance(dtype, pl.Decimal)]
    return frame.with_columns(pl.col(decimals).cast(pl.String)) if decimals else frame


def _write(store: Store, posted: _Posted, *, now: datetime, source_file: str, actor: str) -> None:
    payments = posted.payments.with_columns(
        store.next_ids(PAYMENTS, posted.payments.height).alias("id"),
        pl.lit(PaymentStatus.posted.value).alias("status"),
        pl.lit(source_file[:200]).alias("source_file"),
        pl.lit(now).alias("imported_at"),
    )
    store.insert(PAYMENTS, (_money_text(chunk) for chunk in chunks(payments)))
    store.update(ACCOUNTS, _money_text(posted.accounts.with_columns(pl.lit(now).alias("updated_at"))), versioned=True)
    history = posted.history.with_columns(
        store.next_ids(HISTORY, posted.history.height).alias("id"),
        pl.lit(BalanceChangeSource.payment.value).alias("source"),
        pl.lit(now).alias("changed_at"),
        pl.lit(actor).alias("changed_by"),
    )
    store.insert(HISTORY, (_money_text(chunk) for chunk in chunks(history)))
