"""The KPI formulas on hand-computed figures, including every zero denominator."""

from __future__ import annotations

from decimal import Decimal

import pytest

from weiwai.reports import kpis
from weiwai.reports.kpis import KPI_NAMES, Facts, kpi_values
from weiwai.reports.schemas import KpiSet

D = Decimal


def test_recovery_rates():
    assert kpis.recovery_rate_amount(recovered=D("250.00"), balance_placed=D("1000.00")) == D("0.25")
    assert kpis.recovery_rate_count(cases_recovered=1, cases_placed=3) == D("0.333333")
    assert kpis.recovery_rate_amount(recovered=D("0"), balance_placed=D("0")) is None
    assert kpis.recovery_rate_count(cases_recovered=0, cases_placed=0) is None


def test_net_back_and_cost_to_collect():
    assert kpis.net_back(recovered=D("800"), commission_and_fees=D("95"), balance_placed=D("2000")) == D("0.3525")
    assert kpis.cost_to_collect(commission_and_fees=D("95"), recovered=D("800")) == D("0.11875")
    assert kpis.cost_to_collect(commission_and_fees=D("95"), recovered=D("800"), internal_cost=D("25")) == D("0.15")
    # A clawback larger than this period's commission makes cost negative: shown, not hidden.
    assert kpis.cost_to_collect(commission_and_fees=D("-20"), recovered=D("400")) == D("-0.05")
    assert kpis.net_back(recovered=D("0"), commission_and_fees=D("0"), balance_placed=D("0")) is None
    assert kpis.cost_to_collect(commission_and_fees=D("10"), recovered=D("0")) is None


def test_contact_measures():
    assert kpis.contact_rate(connected=3, attempts=5) == D("0.6")
    assert kpis.rpc_rate(rpc=1, attempts=5) == D("0.2")
    assert kpis.coverage(cases_attempted=2, cases_held=3) == D("0.666667")
    assert kpis.penetration(attempts=5, cases_held=3) == D("1.666667")
    assert kpis.contact_rate(connected=0, attempts=0) is None
    assert kpis.rpc_rate(rpc=0, attempts=0) is None
    assert kpis.coverage(cases_attempted=0, cases_held=0) is None
    assert kpis.penetration(attempts=0, cases_held=0) is None


def test_promise_measures():
    assert kpis.ptp_rate(promises=6, rpc=7) == D("0.857143")
    assert kpis.ptp_kept_rate(kept=1, falling_due=4) == D("0.25")
    assert kpis.ptp_partly_kept_rate(partly_kept=1, falling_due=4) == D("0.25")
    assert kpis.ptp_rate(promises=0, rpc=0) is None
    assert kpis.ptp_kept_rate(kept=0, falling_due=0) is None
    assert kpis.ptp_partly_kept_rate(partly_kept=0, falling_due=0) is None


def test_complaints_per_thousand():
    assert kpis.complaints_per_1000(complaints=1, cases_placed=4) == D("250")
    assert kpis.complaints_per_1000(complaints=3, cases_placed=2000) == D("1.5")
    assert kpis.complaints_per_1000(complaints=0, cases_placed=0) is None


def test_rounding_is_half_up_to_six_places():
    assert kpis.ratio(1, 8_000_000) == D("0.000000")  # 0.000000125
    assert kpis.ratio(5, 10_000_000) == D("0.000001")  # 0.0000005, half up
    assert kpis.ratio(2, 3) == D("0.666667")


def test_facts_add_up_except_the_median():
    one = Facts(cases=2, balance_placed=D("2000.00"), recovered=D("100.00"), attempts=3,
                first_contact_hours_median=D("4.00"))
    two = Facts(cases=1, balance_placed=D("500.50"), recovered=D("0.25"), attempts=1,
                first_contact_hours_median=D("2.00"))
    total = one + two
    assert (total.cases, total.balance_placed, total.recovered, total.attempts) == (3, D("2500.50"), D("100.25"), 4)
    assert total.first_contact_hours_median is None


def test_no_activity_gives_na_never_a_division_error():
    values = kpi_values(Facts())
    assert set(values) == set(KPI_NAMES)
    assert all(value is None for value in values.values())


def test_kpi_values_of_hand_computed_facts():
    facts = Facts(
        cases=4, balance_placed=D("4000.00"), recovered=D("1000.00"), cases_recovered=2,
        commission_and_fees=D("150.00"), attempts=10, connected=4, rpc=2, cases_attempted=3, promises=1,
        promises_due=2, promises_kept=1, promises_partly_kept=1, complaints=1,
        first_contact_hours_median=D("12.50"),
    )
    assert kpi_values(facts) == {
        "recovery_rate_amount": D("0.25"),
        "recovery_rate_count": D("0.5"),
        "net_back": D("0.2125"),
        "cost_to_collect": D("0.15"),
        "contact_rate": D("0.4"),
        "rpc_rate": D("0.2"),
        "time_to_first_contact_hours": D("12.50"),
        "coverage": D("0.75"),
        "penetration": D("2.5"),
        "ptp_rate": D("0.5"),
        "ptp_kept_rate": D("0.5"),
        "ptp_partly_kept_rate": D("0.5"),
        "complaints_per_1000": D("250"),
    }


def test_the_kpi_set_has_exactly_the_kpis():
    assert list(KpiSet.model_fields) == list(KPI_NAMES)


@pytest.mark.parametrize("name", KPI_NAMES)
def test_every_kpi_is_a_ratio_of_facts_or_the_median(name):
    # Each KPI is None on empty facts (checked above) and defined on non-empty ones.
    facts = Facts(cases=1, balance_placed=D("1"), recovered=D("1"), attempts=1, rpc=1, promises_due=1,
                  first_contact_hours_median=D("1"))
    assert kpi_values(facts)[name] is not None
