"""`weiwai evaluate …` end to end on a fresh database (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from factories_reports import make_agency, make_batch, make_case, make_contract, make_recovery
from weiwai.db import session_scope
from weiwai.errors import IllegalTransition, NotFound
from weiwai.i18n import using_locale
from weiwai.placements.models import Case, CaseStatus, CloseReason
from weiwai.reports.models import Scorecard
from weiwai.security.models import AuditEvent

runner = CliRunner()


@pytest.fixture
def seeded(use_db, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    with session_scope() as session:
        batch = make_batch(session, batch_no="B-E2E-1")
        a, b = make_agency(session, code="E2E-A"), make_agency(session, code="E2E-B")
        cases = {}
        for agency, plan in ((a, [("M1", "500.00")] * 3 + [("M3", "100.00")]),
                             (b, [("M1", "600.00")] + [("M3", "200.00")] * 3)):
            contract = make_contract(session, agency=agency)
            for bucket, amount in plan:
                case = make_case(session, batch=batch, agency=agency, contract=contract, bucket=bucket)
                make_recovery(session, case=case, amount=amount)
                cases.setdefault(agency.code, []).append(case.case_no)
    return cases


def _invoke(*args: str):
    from weiwai.cli.evaluate_cmd import app

    with using_locale("en"):
        return runner.invoke(app, list(args))


def test_evaluate_batch_prints_strata_and_the_mix_adjusted_overall_and_exports(seeded, tmp_path):
    target = tmp_path / "eval.xlsx"
    result = _invoke("batch", "B-E2E-1", "--as-of", "2024-03-31", "--xlsx", str(target), "--store",
                     "--actor", "cli:tester")
    assert result.exit_code == 0, result.output
    assert "M1 · 0-2k · 广东: 4 cases" in result.output
    assert "Overall, reweighted to the common stratum mix" in result.output
    assert "30.00%" in result.output and "40.00%" in result.output
    assert "Stored 6 scorecards as of 2024-03-31" in result.output
    assert openpyxl.load_workbook(target).sheetnames == ["By stratum", "Overall", "Scorecard"]
    with session_scope() as session:
        assert session.scalar(select(func.count(Scorecard.id))) == 6
        exports = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "export")).all()
        assert exports == ["cli:tester"]


def test_evaluate_agencies_over_a_period(seeded):
    result = _invoke("agencies", "--from", "2024-03-01", "--to", "2024-03-31")
    assert result.exit_code == 0, result.output
    assert "E2E-A" in result.output and "E2E-B" in result.output


def test_evaluate_scorecards_stores_the_active_batches(seeded):
    result = _invoke("scorecards", "--as-of", "2024-03-31")
    assert result.exit_code == 0, result.output
    assert "Stored 6 scorecards of 1 batches as of 2024-03-31" in result.output


def test_close_case_and_close_ended(seeded):
    first, second = seeded["E2E-A"][:2]
    result = _invoke("close-case", first, "--reason", "recalled", "--note", "lender recall")
    assert result.exit_code == 0, result.output
    assert f"Closed case {first} (recalled)" in result.output
    again = _invoke("close-case", first, "--reason", "expired")
    assert isinstance(again.exception, IllegalTransition)
    missing = _invoke("close-case", "NO-SUCH-CASE", "--reason", "expired")
    assert isinstance(missing.exception, NotFound)

    with session_scope() as session:
        case = session.scalar(select(Case).where(Case.case_no == second))
        case.status, case.ended_at = CaseStatus.expired, datetime(2024, 4, 1, tzinfo=UTC)
    result = _invoke("close-ended", "--batch", "B-E2E-1")
    assert result.exit_code == 0, result.output
    assert "Closed 1 ended cases" in result.output
    with session_scope() as session:
        closed = dict(session.execute(select(Case.case_no, Case.close_reason).where(Case.status == "closed")).all())
    assert closed == {first: CloseReason.recalled, second: CloseReason.expired}


def test_an_unknown_batch_is_refused(seeded):
    result = _invoke("batch", "NO-SUCH-BATCH")
    assert isinstance(result.exception, NotFound)


def test_the_installed_command_is_registered_and_refuses_in_one_line(use_db):
    weiwai = Path(sys.executable).parent / "weiwai"
    env = {**os.environ, "WEIWAI_DATABASE_URL": use_db, "WEIWAI_DEFAULT_LOCALE": "en"}
    completed = subprocess.run([str(weiwai), "evaluate", "batch", "NO-SUCH-BATCH"],
                               capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode == 2
    [line] = completed.stderr.strip().splitlines()
    assert line.startswith("Error:") and "NO-SUCH-BATCH" in line
