"""An evaluation as an XLSX workbook: one sheet per view (by stratum, overall, scorecard).

Cells hold numbers, not text, so the workbook can be sorted and summed; rates carry a
percentage format. XLSX stores every number as a binary double, so the exact Decimal
figures are those of the API and CLI; the workbook is for reading and further analysis.
A KPI that is n/a is the text "n/a", never 0.
"""

from __future__ import annotations

import io
from decimal import Decimal

import xlsxwriter

from weiwai.i18n import _
from weiwai.reports.comparison import ROLLUP
from weiwai.reports.kpis import KPI_NAMES, PERCENT_KPIS
from weiwai.reports.labels import fact_label, kpi_label
from weiwai.reports.schemas import Evaluation, FactsRead, KpiSet

FACT_COLUMNS = ("cases", "balance_placed", "recovered", "commission_and_fees")
MONEY_FACTS = frozenset({"balance_placed", "recovered", "commission_and_fees"})


def sheet_names() -> tuple[str, str, str]:
    """The three sheets, in order: by stratum, overall, scorecard."""
    return _("By stratum"), _("Overall"), _("Scorecard")


class _Sheet:
    """Rows written left to right with the format each kind of value needs."""

    def __init__(self, workbook: xlsxwriter.Workbook, name: str, headers: list[str]) -> None:
        self.sheet = workbook.add_worksheet(name)
        self.formats = {
            "header": workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"}),
            "money": workbook.add_format({"num_format": "#,##0.00"}),
            "percent": workbook.add_format({"num_format": "0.00%"}),
            "number": workbook.add_format({"num_format": "0.00"}),
        }
        self.sheet.write_row(0, 0, headers, self.formats["header"])
        self.sheet.freeze_panes(1, 0)
        self.sheet.set_column(0, len(headers) - 1, 14)
        self.headers = headers
        self.row = 0

    def add(self, cells: list[tuple[str | int | Decimal | None, str | None]]) -> None:
        """One row of (value, format name) pairs; None values become "n/a"."""
        self.row += 1
        for column, (value, fmt) in enumerate(cells):
            if value is None:
                self.sheet.write_string(self.row, column, _("n/a"))
            elif isinstance(value, str):
                self.sheet.write_string(self.row, column, value)
            else:
                self.sheet.write_number(self.row, column, float(value), self.formats.get(fmt) if fmt else None)

    def finish(self) -> None:
        self.sheet.autofilter(0, 0, max(self.row, 1), len(self.headers) - 1)


def _kpi_cell(name: str, value: Decimal | None) -> tuple[Decimal | None, str]:
    return value, "percent" if name in PERCENT_KPIS else "number"


def _fact_cells(facts: FactsRead) -> list[tuple[int | Decimal, str | None]]:
    return [(getattr(facts, name), "money" if name in MONEY_FACTS else None) for name in FACT_COLUMNS]


def _kpi_cells(kpis: KpiSet) -> list[tuple[Decimal | None, str]]:
    return [_kpi_cell(name, value) for name, value in kpis.items()]


def evaluation_workbook(evaluation: Evaluation) -> bytes:
    """The evaluation as XLSX bytes."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    by_stratum_name, overall_name, scorecard_name = sheet_names()
    stratum_headers = [_("Bucket"), _("Balance band"), _("Region")]
    facts_headers = [fact_label(name) for name in FACT_COLUMNS]
    kpi_headers = [kpi_label(name) for name in KPI_NAMES]
    _write_by_stratum(workbook, by_stratum_name, evaluation, stratum_headers, facts_headers, kpi_headers)
    _write_overall(workbook, overall_name, evaluation)
    _write_scorecard(workbook, scorecard_name, evaluation, stratum_headers, facts_headers, kpi_headers)
    workbook.close()
    return buffer.getvalue()


def _write_by_stratum(workbook, name, evaluation, stratum_headers, facts_headers, kpi_headers) -> None:
    headers = [*stratum_headers, _("Stratum cases"), _("Stratum share of cases"), _("Agency"),
               *facts_headers, *kpi_headers]
    sheet = _Sheet(workbook, name, headers)
    for stratum in evaluation.strata:
        for result in stratum.agencies:
            sheet.add([
                (stratum.bucket, None), (stratum.balance_band, None), (stratum.region, None),
                (stratum.cases, None), (stratum.case_weight, "percent"), (result.agency_code, None),
                *_fact_cells(result.facts), *_kpi_cells(result.kpis),
            ])
    sheet.finish()


def _write_overall(workbook, name, evaluation) -> None:
    headers = [_("Agency"), fact_label("cases"), _("Share of the mix held")]
    for kpi in KPI_NAMES:
        label = kpi_label(kpi)
        headers += [_("{kpi}, mix-adjusted").format(kpi=label), _("{kpi}, as placed").format(kpi=label)]
    sheet = _Sheet(workbook, name, headers)
    for overall in evaluation.overall:
        cells: list[tuple] = [(overall.agency_code, None), (overall.facts.cases, None), (overall.mix_share, "percent")]
        for kpi in KPI_NAMES:
            cells.append(_kpi_cell(kpi, getattr(overall.mix_adjusted, kpi)))
            cells.append(_kpi_cell(kpi, getattr(overall.as_placed, kpi)))
        sheet.add(cells)
    sheet.finish()


def _write_scorecard(workbook, name, evaluation, stratum_headers, facts_headers, kpi_headers) -> None:
    """Each agency's own view: its strata, then its mix-adjusted roll-up ("*")."""
    sheet = _Sheet(workbook, name, [_("Agency"), *stratum_headers, *facts_headers, *kpi_headers])
    per_agency: dict[int, list] = {}
    for stratum in evaluation.strata:
        for result in stratum.agencies:
            per_agency.setdefault(result.agency_id, []).append((stratum, result))
    for overall in evaluation.overall:
        for stratum, result in per_agency.get(overall.agency_id, []):
            sheet.add([
                (overall.agency_code, None), (stratum.bucket, None), (stratum.balance_band, None),
                (stratum.region, None), *_fact_cells(result.facts), *_kpi_cells(result.kpis),
            ])
        sheet.add([
            (overall.agency_code, None), (ROLLUP, None), (ROLLUP, None), (ROLLUP, None),
            *_fact_cells(overall.facts), *_kpi_cells(overall.mix_adjusted),
        ])
    sheet.finish()

