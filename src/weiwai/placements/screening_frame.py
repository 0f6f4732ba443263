"""Screening the whole book at once: the rules of `screening.explain`, vectorised with polars.

A candidate frame holds one row per account with the columns of `CANDIDATE_SCHEMA`
(money in whole fen). `evaluate_frame` adds dpd, bucket, band, one boolean `fail_<code>`
column per failure code and `eligible`. It must give, row for row, the same failures as
the pure evaluator; a property test holds the two together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from weiwai.config import BucketBand
from weiwai.placements.screening import FLAG_OF_EXCLUSION, REASON_CODES, ScreeningRules
from weiwai.placements.strata import BALANCE_BANDS
from weiwai.portfolio.delinquency import CURRENT

CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.Int64(),
    "status": pl.String(),
    "product": pl.String(),
    "due_date": pl.Date(),
    "outstanding_fen": pl.Int64(),
    "principal_fen": pl.Int64(),
    "region": pl.String(),
    "credit_grade": pl.String(),
    "deceased": pl.Boolean(),
    "bankrupt": pl.Boolean(),
    "in_litigation": pl.Boolean(),
    "disputed": pl.Boolean(),
    "cease_contact": pl.Boolean(),
    "vulnerable": pl.Boolean(),
    "open_complaint": pl.Boolean(),
    "held": pl.Boolean(),
    "placed": pl.Boolean(),
}


def fail_column(code: str) -> str:
    return f"fail_{code}"


def empty_candidates() -> pl.DataFrame:
    return pl.DataFrame(schema=CANDIDATE_SCHEMA)


def dpd_expr(as_of: date) -> pl.Expr:
    """Days past due: only an open account with a balance and a due date before as_of."""
    past_due = (
        (pl.col("status") == "open")
        & (pl.col("outstanding_fen") > 0)
        & pl.col("due_date").is_not_null()
        & (pl.col("due_date") < pl.lit(as_of))
    )
    days = (pl.lit(as_of) - pl.col("due_date")).dt.total_days()
    return pl.when(past_due).then(days).otherwise(0).cast(pl.Int32)


def bucket_expr(dpd: pl.Expr, buckets: Sequence[BucketBand]) -> pl.Expr:
    expr = pl.lit(CURRENT)
    for band in reversed(list(buckets)):
        condition = dpd >= band.min_dpd
        if band.max_dpd is not None:
            condition = condition & (dpd <= band.max_dpd)
        expr = pl.when(condition).then(pl.lit(band.label)).otherwise(expr)
    return expr


def band_expr(fen: pl.Expr) -> pl.Expr:
    """`strata.balance_band` in whole fen."""
    expr: pl.Expr | None = None
    for upper, label in reversed(BALANCE_BANDS):
        if upper is None:
            expr = pl.lit(label)
        else:
            expr = pl.when(fen < int(upper * 100)).then(pl.lit(label)).otherwise(expr)
    assert expr is not None
    return expr


def evaluate_frame(
    rules: ScreeningRules, frame: pl.DataFrame, *, as_of: date, buckets: Sequence[BucketBand]
) -> pl.DataFrame:
    """The candidates with dpd, bucket, band, `fail_<code>` for every code, and `eligible`."""
    out = frame.with_columns(dpd=dpd_expr(as_of))
    out = out.with_columns(bucket=bucket_expr(pl.col("dpd"), buckets), band=band_expr(pl.col("outstanding_fen")))
    failures = {code: pl.lit(False) for code in REASON_CODES}
    failures["not_open"] = (pl.col("status") != "open") | (pl.col("outstanding_fen") <= 0)
    failures["not_past_due"] = pl.col("dpd") <= 0
    if rules.dpd is not None:
        failures["dpd_out_of_range"] = ~_within(pl.col("dpd"), rules.dpd.min, rules.dpd.max)
    if rules.buckets is not None:
        failures["bucket_not_selected"] = ~pl.col("bucket").is_in(rules.buckets)
    if rules.balance is not None:
        low = None if rules.balance.min is None else int(rules.balance.min * 100)
        high = None if rules.balance.max is None else int(rules.balance.max * 100)
        failures["balance_out_of_range"] = ~_within(pl.col("outstanding_fen"), low, high)
    for code, column, wanted in (
        ("credit_grade_not_selected", "credit_grade", rules.credit_grades),
        ("product_not_selected", "product", rules.products),
        ("region_not_selected", "region", rules.regions),
    ):
        if wanted is not None:
            failures[code] = ~pl.col(column).is_in(wanted)
    for code, flag in FLAG_OF_EXCLUSION.items():
        if getattr(rules.exclude, code):
            failures[code] = pl.col(flag)
    if rules.exclude.open_complaint:
        failures["open_complaint"] = pl.col("open_complaint")
    if rules.exclude.in_house_hold:
        failures["in_house_hold"] = pl.col("held")
    failures["already_placed"] = pl.col("placed")
    out = out.with_columns(**{fail_column(code): expr.fill_null(True) for code, expr in failures.items()})
    return out.with_columns(eligible=~pl.any_horizontal(fail_column(code) for code in REASON_CODES))


def failures_of_rows(evaluated: pl.DataFrame) -> list[tuple[str, ...]]:
    """Per row, the failing codes in the canonical order (as the pure evaluator lists them)."""
    columns = [evaluated[fail_column(code)].to_list() for code in REASON_CODES]
    return [
        tuple(code for code, flags in zip(REASON_CODES, columns, strict=True) if flags[row])
        for row in range(evaluated.height)
    ]


def _within(value: pl.Expr, low: int | None, high: int | None) -> pl.Expr:
    condition = pl.lit(True)
    if low is not None:
        condition = condition & (value >= low)
    if high is not None:
        condition = condition & (value <= high)
    return condition
