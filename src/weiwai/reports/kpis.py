"""The KPI formulas of docs/kpis.md, over counts and amounts. Pure: no database here.

Every formula returns a Decimal, or None ("n/a") when its denominator is zero: a KPI
of nothing is not 0 %, and no formula ever divides by zero. Rates are rounded half up
to six decimal places (0.123456 = 12.3456 %); money stays exact to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal

from weiwai.money import ZERO

RATE_PLACES = Decimal("0.000001")
HOURS_PLACES = Decimal("0.01")

# KPI names, in the order reports show them. Scorecards store them under these names;
# allocation reads "recovery_rate_amount", so the names are a contract: never rename one.
KPI_NAMES: tuple[str, ...] = (
    "recovery_rate_amount",
    "recovery_rate_count",
    "net_back",
    "cost_to_collect",
    "contact_rate",
    "rpc_rate",
    "time_to_first_contact_hours",
    "coverage",
    "penetration",
    "ptp_rate",
    "ptp_kept_rate",
    "ptp_partly_kept_rate",
    "complaints_per_1000",
)
# KPIs whose base is the balance placed: mix adjustment weighs them by balance, not cases.
AMOUNT_BASED_KPIS = frozenset({"recovery_rate_amount", "net_back"})
# KPIs shown as a percentage (the others are hours, a multiple, or a count per 1,000).
PERCENT_KPIS = frozenset(KPI_NAMES) - {"time_to_first_contact_hours", "penetration", "complaints_per_1000"}


def ratio(numerator: Decimal | int, denominator: Decimal | int, *, scale: int = 1) -> Decimal | None:
    """numerator ÷ denominator × scale, rounded to RATE_PLACES; None when the denominator is 0."""
    if not denominator:
        return None
    value = Decimal(numerator) * scale / Decimal(denominator)
    return value.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def recovery_rate_amount(*, recovered: Decimal, balance_placed: Decimal) -> Decimal | None:
    return ratio(recovered, balance_placed)


def recovery_rate_count(*, cases_recovered: int, cases_placed: int) -> Decimal | None:
    return ratio(cases_recovered, cases_placed)


def net_back(*, recovered: Decimal, commission_and_fees: Decimal, balance_placed: Decimal) -> Decimal | None:
    """What the lender keeps of each yuan placed: (recovered − commission and fees) ÷ placed."""
    return ratio(recovered - commission_and_fees, balance_placed)


def cost_to_collect(
    *, commission_and_fees: Decimal, recovered: Decimal, internal_cost: Decimal = ZERO
) -> Decimal | None:
    """(commission + fees + internal cost) ÷ recovered; internal cost is 0 for an agency."""
    return ratio(commission_and_fees + internal_cost, recovered)


def contact_rate(*, connected: int, attempts: int) -> Decimal | None:
    return ratio(connected, attempts)


def rpc_rate(*, rpc: int, attempts: int) -> Decimal | None:
    return ratio(rpc, attempts)


def coverage(*, cases_attempted: int, cases_held: int) -> Decimal | None:
    return ratio(cases_attempted, cases_held)


def penetration(*, attempts: int, cases_held: int) -> Decimal | None:
    return ratio(attempts, cases_held)


def ptp_rate(*, promises: int, rpc: int) -> Decimal | None:
    return ratio(promises, rpc)


def ptp_kept_rate(*, kept: int, falling_due: int) -> Decimal | None:
    """Promises paid in full by their date ÷ promises falling due (partly paid is not kept)."""
    return ratio(kept, falling_due)


def ptp_partly_kept_rate(*, partly_kept: int, falling_due: int) -> Decimal | None:
    """Reported apart: partly paid promises count as broken in the kept rate."""
    return ratio(partly_kept, falling_due)


def complaints_per_1000(*, complaints: int, cases_placed: int) -> Decimal | None:
    return ratio(complaints, cases_placed, scale=1000)


@dataclass
class Facts:
    """What happened on one group of cases (an agency's cases in one stratum, say).

    Counts and amounts add up across groups, except the median hours to first attempt,
    which is computed by the database per group and cannot be summed.
    """

    cases: int = 0  # cases held: placed and open at some time in the window
    balance_placed: Decimal = ZERO
    recovered: Decimal = ZERO  # case + grace attributions, net of reversals
    cases_recovered: int = 0
    commission_and_fees: Decimal = ZERO  # commission + fixed fees + clawbacks (negative)
    internal_cost: Decimal = ZERO
    attempts: int = 0
    connected: int = 0
    rpc: int = 0
    cases_attempted: int = 0
    promises: int = 0
    promises_due: int = 0  # fell due in the window and were evaluated
    promises_kept: int = 0
    promises_partly_kept: int = 0
    complaints: int = 0
    first_contact_hours_median: Decimal | None = None

    def __add__(self, other: Facts) -> Facts:
        summed = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in fields(self)
            if f.name != "first_contact_hours_median"
        }
        return Facts(**summed)

    def amounts(self) -> dict[str, Decimal | int]:
        """The additive facts by name (what a scorecard stores next to its KPIs)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "first_contact_hours_median"}


def kpi_values(facts: Facts) -> dict[str, Decimal | None]:
    """Every KPI of KPI_NAMES for one group of cases."""
    return {
        "recovery_rate_amount": recovery_rate_amount(recovered=facts.recovered, balance_placed=facts.balance_placed),
        "recovery_rate_count": recovery_rate_count(cases_recovered=facts.cases_recovered, cases_placed=facts.cases),
        "net_back": net_back(
            recovered=facts.recovered, commission_and_fees=facts.commission_and_fees,
            balance_placed=facts.balance_placed,
        ),
        "cost_to_collect": cost_to_collect(
            commission_and_fees=facts.commission_and_fees, recovered=facts.recovered,
            internal_cost=facts.internal_cost,
        ),
        "contact_rate": contact_rate(connected=facts.connected, attempts=facts.attempts),
        "rpc_rate": rpc_rate(rpc=facts.rpc, attempts=facts.attempts),
        "time_to_first_contact_hours": facts.first_contact_hours_median,
        "coverage": coverage(cases_attempted=facts.cases_attempted, cases_held=facts.cases),
        "penetration": penetration(attempts=facts.attempts, cases_held=facts.cases),
        "ptp_rate": ptp_rate(promises=facts.promises, rpc=facts.rpc),
        "ptp_kept_rate": ptp_kept_rate(kept=facts.promises_kept, falling_due=facts.promises_due),
        "ptp_partly_kept_rate": ptp_partly_kept_rate(
            partly_kept=facts.promises_partly_kept, falling_due=facts.promises_due
        ),
        "complaints_per_1000": complaints_per_1000(complaints=facts.complaints, cases_placed=facts.cases),
    }
