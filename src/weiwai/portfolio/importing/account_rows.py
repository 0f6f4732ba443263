"""The rules for the rows of an accounts file (the overdue book), and their fingerprint.

`check_accounts` turns the raw table into normalised rows or raises InputRejected with
every problem found. Money comes out as whole fen (Int64), dates as Date, codes and
phone numbers normalised, optional columns defaulted.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import polars as pl

from weiwai.config import Settings
from weiwai.errors import InputRejected
from weiwai.i18n import _
from weiwai.portfolio.importing import validation as v
from weiwai.portfolio.importing.columns import ACCOUNT_COLUMNS, ColumnMap
from weiwai.portfolio.importing.readers import RawTable
from weiwai.security.crypto import Keyring

FIELDS = [spec.name for spec in ACCOUNT_COLUMNS]
AMOUNTS = (
    "original_amount",
    "principal_outstanding",
    "interest_outstanding",
    "fee_outstanding",
    "penalty_outstanding",
)
OUTSTANDING = AMOUNTS[1:]
CONTACT = ("contact_name", "contact_relation", "contact_phone")
# The normalised fields that make up an account row; their fingerprint is Account.source_hash.
FINGERPRINTED = (
    "account_no",
    "debtor_name",
    "national_id",
    "mobile",
    "product",
    *AMOUNTS,
    "due_date",
    "credit_grade",
    "region",
    *CONTACT,
    "address",
    "overdue_reason",
    "currency",
    "time_zone",
)
FINGERPRINT_VERSION = "v1"


def check_accounts(table: RawTable, columns: ColumnMap, *, as_of: date, settings: Settings) -> pl.DataFrame:
    """The rows of an accounts file, normalised; InputRejected listing every problem."""
    checks = {
        "account_no": v.code(max_chars=40).require(),
        "debtor_name": v.text(max_chars=100).require(),
        "national_id": v.national_id().require(),
        "mobile": v.mobile().require(),
        "product": v.text(max_chars=40).require(),
        **{name: v.amount_fen().require() for name in AMOUNTS},
        "due_date": v.calendar_date(),
        "dpd": v.whole_days(),
        "credit_grade": v.upper_text(max_chars=8).require(),
        "region": v.text(max_chars=40).require(),
        "contact_name": v.text(max_chars=100),
        "contact_relation": v.relation(),
        "contact_phone": v.mobile(),
        "address": v.text(max_chars=200),
        "overdue_reason": v.text(max_chars=200),
        "currency": v.currency().or_default(settings.default_currency),
        "time_zone": v.time_zone().or_default(settings.default_time_zone),
    }
    rows = v.normalise(v.take_cells(table, columns, FIELDS), checks)
    found = v.problems(rows, checks, _row_rules(columns))
    errors = v.row_errors(found, file=table.file, headers=columns.headers, field_order=v.file_order(columns, FIELDS))
    if errors:
        raise InputRejected(errors=errors)
    due_date = pl.coalesce(pl.col("due_date"), pl.lit(as_of) - pl.duration(days=pl.col("dpd"))).alias("due_date")
    values = v.checked_values(rows, checks, [name for name in FIELDS if name != "dpd"])
    return rows.select(v.ROW, *[due_date if value.meta.output_name() == "due_date" else value for value in values])


def _person_key() -> pl.Expr:
    return pl.col("national_id").str.slice(0, 17).cast(pl.Int64, strict=False)


def _row_rules(columns: ColumnMap) -> list[v.RowRule]:
    """Checks across fields and rows, on normalised values."""
    c = pl.col
    raw = v.raw_column
    contact_given = pl.any_horizontal([c(raw(name)).is_not_null() for name in CONTACT])
    rules = [
        v.RowRule(
            "due_date" if "due_date" in columns.positions else "dpd",
            failing=c(raw("due_date")).is_null() & c(raw("dpd")).is_null(),
            reason=pl.lit(_("either due_date or dpd (days past due) is required")),
        ),
        v.RowRule(
            "account_no",
            candidates=c("account_no").is_duplicated(),
            context={"~first": v.first_row_of(c("account_no"))},
            failing=c("~first") < c(v.ROW),
            reason=v.message(_("this account number is already on row {row}"), row=c("~first")),
        ),
        v.RowRule(
            "debtor_name",
            # Keyed by the 17 leading digits as an integer: hashing a million ints is far
            # cheaper than hashing a million strings, and they determine the whole ID.
            candidates=_person_key().is_duplicated(),
            context={
                "~first": v.first_row_of(_person_key()),
                "~first_name": c("debtor_name").first().over(_person_key()),
            },
            failing=c("national_id").is_not_null() & (c("debtor_name") != c("~first_name")),
            reason=v.message(_("the same national ID has another name on row {row}"), row=c("~first")),
        ),
        v.RowRule(
            "principal_outstanding",
            failing=c("principal_outstanding") > c("original_amount"),
            reason=pl.lit(_("principal outstanding is more than the original amount")),
        ),
    ]
    rules += [
        v.RowRule(
            name,
            failing=contact_given & c(raw(name)).is_null(),
            reason=pl.lit(_("give contact_name, contact_relation and contact_phone together, or none of them")),
        )
        for name in CONTACT
    ]
    return rules


def fingerprint_key(keyring: Keyring) -> bytes:
    """The key of row fingerprints (keyed BLAKE2b), derived from the blind-index key:
    rows hold personal data, so their digest must not be computable without a secret."""
    return hmac.new(keyring.blind_index_key, b"weiwai.import.account_fingerprint", hashlib.sha256).digest()


def fingerprint_texts(rows: pl.DataFrame) -> pl.Series:
    """What is fingerprinted of each row: its normalised fields, versioned, unit-separated."""
    return rows.select(
        pl.concat_str(
            [pl.lit(FINGERPRINT_VERSION), *[pl.col(name).cast(pl.String).fill_null("") for name in FINGERPRINTED]],
            separator="\x1f",
        ).alias("source_hash")
    )["source_hash"]
