"""What evaluation and scorecards return.

Money is Decimal in Python and a two-decimal string in JSON; KPI values are Decimal
strings too ("0.123456"), or null where the KPI is n/a (its denominator was zero).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, PlainSerializer

from weiwai.money import to_fen
from weiwai.reports.kpis import KPI_NAMES, Facts

Money = Annotated[Decimal, PlainSerializer(lambda value: str(to_fen(value)), return_type=str, when_used="json")]
Rate = Annotated[
    Decimal | None,
    PlainSerializer(lambda value: None if value is None else str(value), return_type=str | None, when_used="json"),
]


class KpiSet(BaseModel):
    """One value per KPI of docs/kpis.md; None = n/a."""

    recovery_rate_amount: Rate = None
    recovery_rate_count: Rate = None
    net_back: Rate = None
    cost_to_collect: Rate = None
    contact_rate: Rate = None
    rpc_rate: Rate = None
    time_to_first_contact_hours: Rate = None
    coverage: Rate = None
    penetration: Rate = None
    ptp_rate: Rate = None
    ptp_kept_rate: Rate = None
    ptp_partly_kept_rate: Rate = None
    complaints_per_1000: Rate = None

    def items(self) -> list[tuple[str, Decimal | None]]:
        return [(name, getattr(self, name)) for name in KPI_NAMES]


class FactsRead(BaseModel):
    """The counts and amounts the KPIs are computed from."""

    cases: int
    balance_placed: Money
    recovered: Money
    cases_recovered: int
    commission_and_fees: Money
    attempts: int
    connected: int
    rpc: int
    cases_attempted: int
    promises: int
    promises_due: int
    promises_kept: int
    promises_partly_kept: int
    complaints: int

    @classmethod
    def of(cls, facts: Facts) -> FactsRead:
        return cls.model_validate(facts.amounts())


class AgencyResult(BaseModel):
    """One agency's figures within one stratum."""

    agency_id: int
    agency_code: str
    facts: FactsRead
    kpis: KpiSet


class StratumComparison(BaseModel):
    """One stratum of comparable cases: each agency that held cases in it, side by side."""

    bucket: str
    balance_band: str
    region: str
    cases: int
    balance_placed: Money
    case_weight: Rate  # the stratum's share of the scope's cases
    balance_weight: Rate  # … and of its balance placed
    agencies: list[AgencyResult]


class AgencyOverall(BaseModel):
    """An agency over all its strata: as placed (its own mix) and reweighted to the scope's mix."""

    agency_id: int
    agency_code: str
    facts: FactsRead
    as_placed: KpiSet
    mix_adjusted: KpiSet
    # Share of the scope's cases that lie in strata this agency held: how much of the
    # common mix its mix-adjusted figures rest on.
    mix_share: Rate


class Evaluation(BaseModel):
    """Agencies compared stratum by stratum, for one batch as of a day or for a period."""

    kind: Literal["batch", "period"]
    batch_no: str | None = None
    date_from: date | None = None  # None for a batch: from placement on
    date_to: date  # the as-of day of a batch evaluation
    totals: FactsRead
    strata: list[StratumComparison]
    overall: list[AgencyOverall]


class ScorecardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agency_id: int
    batch_id: int | None
    as_of: date
    bucket: str
    balance_band: str
    region: str
    cases: int
    metrics: dict[str, str | None]
    computed_at: datetime
