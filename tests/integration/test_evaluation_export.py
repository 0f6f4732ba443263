"""The XLSX export: its three sheets and the numbers in them."""

from __future__ import annotations

import io

import openpyxl
import pytest

from factories_reports import AS_OF, make_action, make_agency, make_batch, make_case, make_contract, make_recovery
from weiwai.collection.models import Outcome
from weiwai.i18n import using_locale
from weiwai.reports.evaluation import evaluate_batch
from weiwai.reports.export import evaluation_workbook, sheet_names


@pytest.fixture
def workbook(session):
    batch = make_batch(session)
    a, b = make_agency(session, code="XA"), make_agency(session, code="XB")
    for agency, plan in ((a, [("M1", "500.00")] * 3 + [("M3", "100.00")]),
                         (b, [("M1", "600.00")] + [("M3", "200.00")] * 3)):
        contract = make_contract(session, agency=agency)
        for bucket, amount in plan:
            case = make_case(session, batch=batch, agency=agency, contract=contract, bucket=bucket)
            make_recovery(session, case=case, amount=amount)
    make_action(session, case=case, outcome=Outcome.right_party_contact)  # one attempt for XB, hard stratum
    with using_locale("en"):
        evaluation = evaluate_batch(session=session, batch_no=batch.batch_no, as_of=AS_OF)
        data = evaluation_workbook(evaluation)
    return openpyxl.load_workbook(io.BytesIO(data))


def _rows(sheet):
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def _column(sheet, name):
    return [cell.value for cell in sheet[1]].index(name) + 1


def test_the_workbook_has_one_sheet_per_view(workbook):
    with using_locale("en"):
        assert workbook.sheetnames == list(sheet_names()) == ["By stratum", "Overall", "Scorecard"]


def test_by_stratum_lists_each_agency_within_its_stratum(workbook):
    rows = _rows(workbook["By stratum"])
    assert [(r["Bucket"], r["Agency"]) for r in rows] == [("M1", "XA"), ("M1", "XB"), ("M3", "XA"), ("M3", "XB")]
    first = rows[0]
    assert (first["Balance band"], first["Region"], first["Stratum cases"]) == ("0-2k", "广东", 4)
    assert first["Cases"] == 3
    assert first["Recovered"] == pytest.approx(1500.00)
    assert first["Recovery rate (amount)"] == pytest.approx(0.5)
    assert first["Contact rate"] == "n/a"  # no attempts: n/a, never 0
    assert rows[3]["Contact rate"] == pytest.approx(1.0)
    sheet = workbook["By stratum"]
    assert sheet.cell(row=2, column=_column(sheet, "Recovery rate (amount)")).number_format == "0.00%"


def test_overall_shows_mix_adjusted_and_as_placed_side_by_side(workbook):
    rows = {r["Agency"]: r for r in _rows(workbook["Overall"])}
    assert rows["XA"]["Recovery rate (amount), mix-adjusted"] == pytest.approx(0.3)
    assert rows["XA"]["Recovery rate (amount), as placed"] == pytest.approx(0.4)
    assert rows["XB"]["Recovery rate (amount), mix-adjusted"] == pytest.approx(0.4)
    assert rows["XB"]["Recovery rate (amount), as placed"] == pytest.approx(0.3)
    assert rows["XA"]["Share of the mix held"] == pytest.approx(1.0)


def test_scorecard_sheet_has_each_agencys_strata_then_its_rollup(workbook):
    rows = _rows(workbook["Scorecard"])
    assert [(r["Agency"], r["Bucket"]) for r in rows] == [
        ("XA", "M1"), ("XA", "M3"), ("XA", "*"), ("XB", "M1"), ("XB", "M3"), ("XB", "*"),
    ]
    rollup = rows[2]
    assert rollup["Cases"] == 4
    assert rollup["Recovered"] == pytest.approx(1600.00)
    assert rollup["Recovery rate (amount)"] == pytest.approx(0.3)
