"""Thresholds a contract sets on an agency's conduct: `Contract.compliance_terms["thresholds"]`.

The compliance terms are one JSON document per contract; this module owns only its
`"thresholds"` key (the pack and its overrides live under other keys, owned elsewhere):

    {"thresholds": {
        "complaints_per_1000_placed": {"limit": "5", "period_days": 90, "min_cases": 200},
        "severe_violations": {"limit": 0, "period_days": 30}
    }}

A threshold is crossed when the figure over the rolling period that ends on the day is
**above** its limit (a limit of 0 severe violations: the first one crosses it). A contract
without thresholds sets none. Evaluated by weiwai.compliance.thresholds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from weiwai.errors import RuleViolation
from weiwai.i18n import _

THRESHOLDS_KEY = "thresholds"

PeriodDays = Annotated[int, Field(ge=1, le=730, description="Length of the rolling period, in days.")]


class ComplaintRate(BaseModel):
    """Complaints (not rejected) received per 1,000 cases the agency held during the period."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[Decimal, Field(ge=0, le=1000, max_digits=8, decimal_places=2)]
    period_days: PeriodDays = 90
    # Below this many cases held the rate says little: not judged (0 = always judged).
    min_cases: Annotated[int, Field(ge=0, le=10_000_000)] = 0


class SevereViolations(BaseModel):
    """Severe compliance violations (and severe complaints not rejected) in the period."""

    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=0, le=100_000)]
    period_days: PeriodDays = 30


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    complaints_per_1000_placed: ComplaintRate | None = None
    severe_violations: SevereViolations | None = None

    @property
    def empty(self) -> bool:
        return self.complaints_per_1000_placed is None and self.severe_violations is None


def parse_thresholds(data: Any) -> Thresholds:
    """The validated thresholds; RuleViolation (code invalid_thresholds) naming what is wrong."""
    try:
        return Thresholds.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or THRESHOLDS_KEY}: {error['msg']}"
            for error in exc.errors()
        )
        raise RuleViolation(_("invalid compliance thresholds: {problems}").format(problems=problems),
                            code="invalid_thresholds") from None


def thresholds_of(compliance_terms: dict | None) -> Thresholds:
    """The thresholds a contract's compliance terms set (none when the key is absent)."""
    return parse_thresholds((compliance_terms or {}).get(THRESHOLDS_KEY))


def with_thresholds(compliance_terms: dict | None, thresholds: Any) -> dict:
    """A copy of the compliance terms with `thresholds` validated and set; other keys kept as they are."""
    parsed = parse_thresholds(thresholds)
    terms = dict(compliance_terms or {})
    terms[THRESHOLDS_KEY] = parsed.model_dump(mode="json", exclude_none=True)
    return terms


OVERRIDES_KEY = "overrides"


def validate_terms(data: Any) -> dict:
    """A contract's whole compliance terms, checked, as stored: `overrides` may only tighten the
    lender's pack (weiwai.compliance.pack_schema.tighten), `thresholds` must be well formed.

    Raises RuleViolation (code invalid_compliance_terms) naming what is wrong.
    """
    from weiwai.compliance.pack_schema import load_pack, tighten
    from weiwai.config import get_settings
    from weiwai.errors import InputRejected

    data = dict(data or {})
    unknown = sorted(set(data) - {OVERRIDES_KEY, THRESHOLDS_KEY})
    if unknown:
        raise RuleViolation(_("unknown compliance terms {keys}; use overrides and thresholds").format(
            keys=", ".join(unknown)), code="invalid_compliance_terms")
    terms: dict = {}
    overrides = data.get(OVERRIDES_KEY) or {}
    if overrides:
        if not isinstance(overrides, dict) or not all(isinstance(v, dict) for v in overrides.values()):
            raise RuleViolation(_("overrides map rule ids to their parameters, e.g. {example}").format(
                example='{"CN-02": {"max_per_local_day": 2}}'), code="invalid_compliance_terms")
        try:
            tighten(load_pack(get_settings().compliance_pack), overrides)
        except InputRejected as exc:
            raise RuleViolation("; ".join(f"{error.column}: {error.reason}" for error in exc.errors),
                                code="invalid_compliance_terms") from None
        terms[OVERRIDES_KEY] = overrides
    if data.get(THRESHOLDS_KEY):
        terms = with_thresholds(terms, data[THRESHOLDS_KEY])
    return terms
