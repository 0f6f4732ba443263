"""Screening (确定催收对象): which accounts may be placed with an agency.

Rules are validated data (`ScreeningRules`, loaded from YAML or JSON). `explain` checks
one account against every criterion and says why it passes or fails; `evaluate` keeps
the failures. These pure functions are the definition of screening: the vectorised path
over the whole book (`screening_frame`) is tested to agree with them.

Selection criteria choose accounts (open with a balance, past due, DPD / bucket / balance
ranges, grades, products, regions); exclusions remove accounts that must not go out
(deceased, bankrupt, …, already placed). Every failing criterion is reported, not only the
first, so that an operator sees everything standing between an account and placement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from weiwai.config import BucketBand
from weiwai.i18n import _
from weiwai.money import FEN
from weiwai.placements.strata import balance_band
from weiwai.portfolio.delinquency import bucket_of, days_past_due
from weiwai.rules_data import CanonicalDocument

# Failure codes in the order they are checked and reported.
SELECTION_CODES = (
    "not_open",
    "not_past_due",
    "dpd_out_of_range",
    "bucket_not_selected",
    "balance_out_of_range",
    "credit_grade_not_selected",
    "product_not_selected",
    "region_not_selected",
)
EXCLUSION_CODES = (
    "deceased",
    "bankrupt",
    "litigation",
    "disputed",
    "cease_contact",
    "vulnerable",
    "open_complaint",
    "in_house_hold",
    "already_placed",
)
REASON_CODES = SELECTION_CODES + EXCLUSION_CODES

# Exclusion code -> the debtor flag it reads (the rest are facts about the account).
FLAG_OF_EXCLUSION = {
    "deceased": "deceased",
    "bankrupt": "bankrupt",
    "litigation": "in_litigation",
    "disputed": "disputed",
    "cease_contact": "cease_contact",
    "vulnerable": "vulnerable",
}


def reason_labels() -> dict[str, str]:
    """Every failure code with its label in the current locale."""
    return {
        "not_open": _("account not open or nothing outstanding"),
        "not_past_due": _("not past due"),
        "dpd_out_of_range": _("days past due out of range"),
        "bucket_not_selected": _("bucket not selected"),
        "balance_out_of_range": _("balance out of range"),
        "credit_grade_not_selected": _("credit grade not selected"),
        "product_not_selected": _("product not selected"),
        "region_not_selected": _("region not selected"),
        "deceased": _("debtor deceased"),
        "bankrupt": _("debtor bankrupt"),
        "litigation": _("in litigation"),
        "disputed": _("debt disputed"),
        "cease_contact": _("debtor asked to cease contact"),
        "vulnerable": _("vulnerable debtor"),
        "open_complaint": _("open complaint"),
        "in_house_hold": _("held for in-house collection"),
        "already_placed": _("already placed with an agency"),
    }


def reason_label(code: str) -> str:
    return reason_labels().get(code, code)


# --- the rules --------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DpdRange(_Strict):
    """Days past due, both ends inclusive; either end may be left open."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> DpdRange:
        _check_range(self.min, self.max)
        return self


class BalanceRange(_Strict):
    """Total outstanding, both ends inclusive; either end may be left open."""

    # At most what a money column holds (NUMERIC(18,2)); 1e308 would not even quantize.
    min: Decimal | None = Field(default=None, ge=0, max_digits=20)
    max: Decimal | None = Field(default=None, ge=0, max_digits=20)

    @field_validator("min", "max")
    @classmethod
    def _to_the_fen(cls, value: Decimal | None) -> Decimal | None:
        if value is None:
            return None
        if value != value.quantize(FEN):
            raise ValueError(_("at most 2 decimal places are allowed"))
        return value.quantize(FEN)

    @model_validator(mode="after")
    def _ordered(self) -> BalanceRange:
        _check_range(self.min, self.max)
        return self


def _check_range(low: Any, high: Any) -> None:
    if low is None and high is None:
        raise ValueError(_("give min, max or both"))
    if low is not None and high is not None and low > high:
        raise ValueError(_("min must not be greater than max"))


class Exclusions(_Strict):
    """Accounts that must not go out. True = excluded. Already placed accounts are always
    excluded (an account is with at most one agency at a time)."""

    deceased: bool = True
    bankrupt: bool = True
    litigation: bool = True
    disputed: bool = True
    cease_contact: bool = True
    vulnerable: bool = False
    open_complaint: bool = True
    in_house_hold: bool = True
    # An agency that returned an account does not get it back for this many days (the
    # return day counts as day 1); 0 = no cooling-off. Enforced by allocation, per agency.
    cooling_off_days: int = Field(default=30, ge=0, le=3650)


class ScreeningRules(_Strict, CanonicalDocument):
    """Which accounts to place. Omitted criteria accept any value; criteria combine with AND."""

    dpd: DpdRange | None = None
    buckets: list[str] | None = None
    balance: BalanceRange | None = None
    credit_grades: list[str] | None = None
    products: list[str] | None = None
    regions: list[str] | None = None
    exclude: Exclusions = Field(default_factory=Exclusions)

    @field_validator("credit_grades", "products", "regions")
    @classmethod
    def _value_list(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        cleaned = sorted({value.strip() for value in values})
        if not cleaned or "" in cleaned:
            raise ValueError(_("list must not be empty or hold blank values; omit it to accept any"))
        return cleaned

    @field_validator("buckets")
    @classmethod
    def _known_buckets(cls, values: list[str] | None) -> list[str] | None:
        if values is None:
            return None
        from weiwai.config import get_settings

        configured = [band.label for band in get_settings().buckets]
        wanted = {value.strip().upper() for value in values}
        if not wanted:
            raise ValueError(_("list must not be empty or hold blank values; omit it to accept any"))
        unknown = sorted(wanted - {label.upper() for label in configured})
        if unknown:
            raise ValueError(
                _("unknown bucket(s) {unknown}; configured: {configured}").format(
                    unknown=", ".join(unknown), configured=", ".join(configured)
                )
            )
        return [label for label in configured if label.upper() in wanted]



# --- one account ------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """What screening needs to know about one account (and its debtor) today."""

    account_no: str
    status: str
    product: str
    due_date: date | None
    outstanding: Decimal
    region: str
    credit_grade: str
    deceased: bool = False
    bankrupt: bool = False
    in_litigation: bool = False
    disputed: bool = False
    cease_contact: bool = False
    vulnerable: bool = False
    open_complaint: bool = False
    held: bool = False  # an in-house hold applies on the screening day
    placed: bool = False  # an open case exists


@dataclass(frozen=True)
class Check:
    """One criterion applied to one account."""

    code: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    dpd: int
    bucket: str
    band: str
    failures: tuple[str, ...]

    @property
    def eligible(self) -> bool:
        return not self.failures


def candidate_dpd(candidate: Candidate, as_of: date) -> int:
    """Days past due with the portfolio's rule: only an open account with a balance is past due."""
    owed = candidate.outstanding if candidate.status == "open" else Decimal(0)
    return days_past_due(due_date=candidate.due_date, as_of=as_of, outstanding=owed)


def explain(
    rules: ScreeningRules, candidate: Candidate, *, as_of: date, buckets: Sequence[BucketBand]
) -> list[Check]:
    """Every criterion the rules apply, in order, each passed or failed with the facts."""
    dpd = candidate_dpd(candidate, as_of)
    bucket = bucket_of(dpd, list(buckets))
    amount = candidate.outstanding
    checks = [
        Check("not_open", candidate.status == "open" and amount > 0,
              _("status {status}, outstanding {amount}").format(status=candidate.status, amount=amount)),
        Check("not_past_due", dpd > 0,
              _("{dpd} days past due, bucket {bucket}").format(dpd=dpd, bucket=bucket)),
    ]
    if rules.dpd is not None:
        checks.append(Check("dpd_out_of_range", _within(dpd, rules.dpd.min, rules.dpd.max),
                            _("{value} against {rule}").format(value=dpd, rule=_range_text(rules.dpd))))
    if rules.buckets is not None:
        checks.append(Check("bucket_not_selected", bucket in rules.buckets,
                            _("{value} against {rule}").format(value=bucket, rule=", ".join(rules.buckets))))
    if rules.balance is not None:
        checks.append(Check("balance_out_of_range", _within(amount, rules.balance.min, rules.balance.max),
                            _("{value} against {rule}").format(value=amount, rule=_range_text(rules.balance))))
    for code, wanted, value in (
        ("credit_grade_not_selected", rules.credit_grades, candidate.credit_grade),
        ("product_not_selected", rules.products, candidate.product),
        ("region_not_selected", rules.regions, candidate.region),
    ):
        if wanted is not None:
            checks.append(Check(code, value in wanted,
                                _("{value} against {rule}").format(value=value, rule=", ".join(wanted))))
    for code, flag in FLAG_OF_EXCLUSION.items():
        if getattr(rules.exclude, code):
            checks.append(_exclusion(code, getattr(candidate, flag)))
    if rules.exclude.open_complaint:
        checks.append(_exclusion("open_complaint", candidate.open_complaint))
    if rules.exclude.in_house_hold:
        checks.append(_exclusion("in_house_hold", candidate.held))
    checks.append(_exclusion("already_placed", candidate.placed))
    return checks


def evaluate(
    rules: ScreeningRules, candidate: Candidate, *, as_of: date, buckets: Sequence[BucketBand]
) -> Verdict:
    """Screen one account: its DPD, bucket, balance band and every failing criterion."""
    checks = explain(rules, candidate, as_of=as_of, buckets=buckets)
    dpd = candidate_dpd(candidate, as_of)
    return Verdict(
        dpd=dpd,
        bucket=bucket_of(dpd, list(buckets)),
        band=balance_band(candidate.outstanding),
        failures=tuple(check.code for check in checks if not check.passed),
    )


def _exclusion(code: str, applies: bool) -> Check:
    return Check(code, not applies, _("yes") if applies else _("no"))


def _within(value: Any, low: Any, high: Any) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _range_text(rule: DpdRange | BalanceRange) -> str:
    low = "" if rule.min is None else str(rule.min)
    high = "" if rule.max is None else str(rule.max)
    return f"[{low} … {high}]"
