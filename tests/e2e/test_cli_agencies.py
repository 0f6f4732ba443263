"""`weiwai agency …` and `weiwai contract …` end to end, on a fresh SQLite and PostgreSQL database."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from weiwai.clock import today_local
from weiwai.agencies.models import AdmissionItem
from weiwai.errors import IllegalTransition, InputRejected, RuleViolation

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
WEIWAI = Path(sys.executable).parent / "weiwai"


@pytest.fixture(scope="module")
def cli():
    from weiwai.cli import main

    if "agency" not in {group.name for group in main.app.registered_groups}:
        main._register()
    return main.app


@pytest.fixture
def run(cli, use_db, monkeypatch):
    """Invoke the CLI in English with a wide terminal; returns the click Result."""
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_DEFAULT_LOCALE", "en")
    reset_settings()
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), env={"COLUMNS": "250"})

    return invoke


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    """The documented examples, with a contract term around today so that it can be activated."""
    today = today_local()
    contract = yaml.safe_load((EXAMPLES / "contract.yaml").read_text(encoding="utf-8"))
    contract.update(starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=365),
                    signed_on=today - timedelta(days=40), confidentiality_signed_on=today - timedelta(days=40))
    contract_file = tmp_path / "contract.yaml"
    contract_file.write_text(yaml.safe_dump(contract, allow_unicode=True), encoding="utf-8")
    return {"agency": EXAMPLES / "agency.yaml", "contract": contract_file}


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_from_application_to_active_agency(run, files):
    assert "Registered agency HZ-ANXIN" in ok(run("agency", "create", "--file", str(files["agency"])))
    assert "Drafted contract HZ-ANXIN-2025-01" in ok(run("contract", "create", "-f", str(files["contract"])))
    for item in AdmissionItem:
        ok(run("agency", "check", "hz-anxin", item.value, "--on", "2024-12-01", "--evidence", f"DD/{item.value}",
               "--actor", "cli:auditor"))
    assert "now approved" in ok(run("agency", "status", "HZ-ANXIN", "approved", "--reason", "due diligence done"))
    ok(run("contract", "status", "HZ-ANXIN-2025-01", "active", "--reason", "signed"))
    # PIPL art. 55: an impact assessment, filed and approved by someone else, before activation.
    from factories_privacy import RISKS
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.db import session_scope

    with session_scope() as session:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == "HZ-ANXIN"))
    assessment = files["agency"].parent / "pia.yaml"
    assessment.write_text(yaml.safe_dump({"agency_id": agency_id, "assessed_on": "2024-12-01", "scope": "委托催收",
                                          "risks": RISKS, "conclusion": "acceptable", "evidence_ref": "PIA-1"},
                                         allow_unicode=True), encoding="utf-8")
    assert "submitted" in ok(run("entrustment", "assess", "--file", str(assessment), "--submit", "--actor", "cli:a"))
    assert "approved" in ok(run("entrustment", "decide", "1", "--approve", "--actor", "cli:dpo"))
    assert "now active" in ok(run("agency", "status", "HZ-ANXIN", "active", "--reason", "first placement"))

    listing = ok(run("agency", "list", "--status", "active"))
    assert "HZ-ANXIN" in listing and "4/4" in listing and "Agencies (1 of 1)" in listing
    assert "Agencies (0 of 0)" in ok(run("agency", "list", "--status", "suspended"))

    shown = ok(run("agency", "show", "HZ-ANXIN"))
    for text in ("91330106MA2H3K7L5P", "DD/collectors_trained", "cli:auditor", "due diligence done",
                 "first placement", "HZ-ANXIN-2025-01"):
        assert text in shown

    usable = ok(run("contract", "list", "--agency", "HZ-ANXIN", "--usable-on", today_local().isoformat()))
    assert "HZ-ANXIN-2025-01" in usable and "Contracts (1 of 1)" in usable
    past = (today_local() - timedelta(days=31)).isoformat()
    assert "Contracts (0 of 0)" in ok(run("contract", "list", "--usable-on", past))

    contract = ok(run("contract", "show", "HZ-ANXIN-2025-01"))
    for text in ("Commission rate M3", "0.18", "Bonus from recovery rate 0.60", "+0.03", "20.00", "手机号码",
                 "draft", "signed"):
        assert text in contract


def test_agency_from_options_with_the_default_actor(run):
    ok(run("agency", "create", "--code", "SH-B", "--legal-name", "上海乙", "--uscc", "91440300708461136T",
           "--region", "上海", "--region", "江苏", "--capacity-cases", "10", "--capacity-balance", "1000"))
    shown = ok(run("agency", "show", "SH-B"))
    assert "上海, 江苏" in shown and "1000.00" in shown and "cli:" in shown


def test_invalid_files_are_rejected_whole_with_precise_errors(run, files, tmp_path):
    bad = yaml.safe_load(files["agency"].read_text(encoding="utf-8"))
    second = {**bad, "code": "SH-B", "uscc": "91330106MA2H3K7L5Q", "capacity_cases": -1}
    path = tmp_path / "agencies.yaml"
    path.write_text(yaml.safe_dump_all([bad, second], allow_unicode=True), encoding="utf-8")
    result = run("agency", "create", "--file", str(path))
    assert isinstance(result.exception, InputRejected)
    errors = {(e.row, e.column): e.reason for e in result.exception.errors}
    assert errors == {(2, "uscc"): "check character is Q but should be P: a character is mistyped",
                      (2, "capacity_cases"): "must be at least 0"}
    assert "Agencies (0 of 0)" in ok(run("agency", "list"))  # the valid first document was not written either


def test_domain_errors_are_raised_for_the_entrypoint(run, files):
    ok(run("agency", "create", "--file", str(files["agency"])))
    assert isinstance(run("agency", "status", "HZ-ANXIN", "active", "--reason", "x").exception, IllegalTransition)
    assert isinstance(run("agency", "status", "HZ-ANXIN", "approved", "--reason", "x").exception, RuleViolation)
    result = run("agency", "status", "HZ-ANXIN", "whitelisted", "--reason", "x")
    assert result.exit_code == 2 and "whitelisted" in result.output  # typer refuses an unknown status


def test_the_installed_command_prints_one_line_and_exits_2(use_db):
    env = {**os.environ, "WEIWAI_DATABASE_URL": use_db, "WEIWAI_DEFAULT_LOCALE": "zh_CN"}
    completed = subprocess.run([str(WEIWAI), "agency", "status", "NOPE", "approved", "--reason", "x"],
                               capture_output=True, text=True, env=env, timeout=60)
    assert completed.returncode == 2
    [line] = completed.stderr.strip().splitlines()
    assert line.startswith("错误:") and "NOPE" in line and "Traceback" not in completed.stderr
