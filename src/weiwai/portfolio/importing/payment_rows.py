"""The rules for the rows of a payments file (the lender's repayment records)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from weiwai.config import Settings
from weiwai.errors import InputRejected
from weiwai.i18n import _
from weiwai.portfolio.importing import validation as v
from weiwai.portfolio.importing.columns import PAYMENT_COLUMNS, ColumnMap
from weiwai.portfolio.importing.readers import RawTable

FIELDS = [spec.name for spec in PAYMENT_COLUMNS]
EARLIEST_PAYMENT = datetime(2000, 1, 1, tzinfo=UTC)
# Clocks disagree a little; a payment stamped a few minutes ahead is not an error.
CLOCK_SKEW = timedelta(minutes=10)


def check_payments(table: RawTable, columns: ColumnMap, *, settings: Settings) -> pl.DataFrame:
    """The rows of a payments file, normalised (amount in fen, paid_at in UTC); InputRejected if any is wrong."""
    c = pl.col
    checks = {
        "txn_id": v.code(max_chars=64).require(),
        "account_no": v.code(max_chars=40).require(),
        "amount": v.amount_fen(positive=True).require(),
        "paid_at": v.timestamp_utc(local_zone=settings.default_time_zone).require(),
        "channel": v.text(max_chars=32),
    }
    rows = v.normalise(v.take_cells(table, columns, FIELDS), checks)
    latest = datetime.now(UTC) + CLOCK_SKEW
    rules = [
        v.RowRule(
            "txn_id",
            candidates=c("txn_id").is_duplicated(),
            context={"~first": v.first_row_of(c("txn_id"))},
            failing=c("~first") < c(v.ROW),
            reason=v.message(_("this transaction id is already on row {row}"), row=c("~first")),
        ),
        v.RowRule("paid_at", failing=c("paid_at") > latest, reason=pl.lit(_("the payment time is in the future"))),
        v.RowRule(
            "paid_at",
            failing=c("paid_at") < EARLIEST_PAYMENT,
            reason=pl.lit(_("the payment time is before the year 2000")),
        ),
    ]
    errors = v.row_errors(
        v.problems(rows, checks, rules),
        file=table.file,
        headers=columns.headers,
        field_order=v.file_order(columns, FIELDS),
    )
    if errors:
        raise InputRejected(errors=errors)
    return rows.select(v.ROW, *v.checked_values(rows, checks, FIELDS))
