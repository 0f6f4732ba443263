"""How KPIs, facts and values are named and shown to people (CLI tables, XLSX sheets)."""

from __future__ import annotations

from decimal import Decimal

from weiwai.i18n import _
from weiwai.reports.kpis import PERCENT_KPIS


def kpi_label(name: str) -> str:
    labels = {
        "recovery_rate_amount": _("Recovery rate (amount)"),
        "recovery_rate_count": _("Recovery rate (count)"),
        "net_back": _("Net back"),
        "cost_to_collect": _("Cost to collect"),
        "contact_rate": _("Contact rate"),
        "rpc_rate": _("RPC rate"),
        "time_to_first_contact_hours": _("Time to first contact (h, median)"),
        "coverage": _("Coverage"),
        "penetration": _("Penetration"),
        "ptp_rate": _("PTP rate"),
        "ptp_kept_rate": _("PTP kept rate"),
        "ptp_partly_kept_rate": _("PTP partly kept rate"),
        "complaints_per_1000": _("Complaints per 1,000 placed"),
    }
    return labels[name]


def fact_label(name: str) -> str:
    labels = {
        "cases": _("Cases"),
        "balance_placed": _("Balance placed"),
        "recovered": _("Recovered"),
        "cases_recovered": _("Cases with recovery"),
        "commission_and_fees": _("Commission and fees"),
        "attempts": _("Attempts"),
        "connected": _("Connected"),
        "rpc": _("Right-party contacts"),
        "cases_attempted": _("Cases attempted"),
        "promises": _("Promises"),
        "promises_due": _("Promises due"),
        "promises_kept": _("Promises kept"),
        "promises_partly_kept": _("Promises partly kept"),
        "complaints": _("Complaints"),
    }
    return labels[name]


def show_percent(value: Decimal | None) -> str:
    return _("n/a") if value is None else f"{value * 100:.2f}%"


def show_kpi(name: str, value: Decimal | None) -> str:
    """A KPI value as text: percentages with two decimals, hours and multiples as numbers, n/a."""
    if value is None or name in PERCENT_KPIS:
        return show_percent(value)
    return f"{value:.2f}"
