"""`weiwai portfolio …` and `weiwai user …` end to end, on a fresh SQLite and PostgreSQL database."""

import getpass
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from factories import make_account, make_agency, make_debtor, national_id, use_cheap_password_hashing
from weiwai.db import session_scope
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.portfolio import service
from weiwai.security.models import AuditEvent, User

WEIWAI = Path(sys.executable).parent / "weiwai"


@pytest.fixture
def fast_password_hashing(monkeypatch):
    use_cheap_password_hashing(monkeypatch)


@pytest.fixture(scope="module")
def cli():
    from weiwai.cli import main

    if "portfolio" not in {group.name for group in main.app.registered_groups}:
        main._register()
    return main.app


@pytest.fixture
def english(use_db, monkeypatch):
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_DEFAULT_LOCALE", "en")
    reset_settings()


@pytest.fixture
def run(cli, english):
    """Invoke `weiwai …` in English with a wide terminal; returns the click Result."""
    runner = CliRunner()
    return lambda *args, **kwargs: runner.invoke(cli, list(args), env={"COLUMNS": "250"}, **kwargs)


@pytest.fixture
def run_user(run, fast_password_hashing):
    """Invoke `weiwai user …`."""
    return lambda *args, **kwargs: run("user", *args, **kwargs)


@pytest.fixture
def book(use_db):
    today = service.today()
    nid = national_id()
    with session_scope() as session:
        debtor = make_debtor(session, name="张三", national_id_value=nid, phones=["13812345678"],
                             contacts=[("李四", "spouse", "13700001111")], region="广东", credit_grade="B")
        make_account(session, debtor=debtor, account_no="CLI-1", principal="1000.00", interest="25.50",
                     due_date=today - timedelta(days=75))
        make_account(session, debtor=make_debtor(session, region="北京", credit_grade="A"), account_no="CLI-2",
                     principal="2000.00", due_date=today + timedelta(days=3))
    return {"national_id": nid}


def ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_summary_shows_every_breakdown_with_totals(run, book):
    output = ok(run("portfolio", "summary"))
    assert "2 open accounts" in output and "3,025.50" in output
    for title in ("By delinquency bucket", "By credit grade", "By region"):
        assert title in output
    assert "M3" in output and "广东" in output and "北京" in output


def test_summary_one_breakdown_as_of_a_date(run, book):
    earlier = (service.today() - timedelta(days=60)).isoformat()
    output = ok(run("portfolio", "summary", "--by", "grade", "--as-of", earlier))
    assert "By credit grade" in output and "By delinquency bucket" not in output
    assert earlier in output
    assert run("portfolio", "summary", "--by", "colour").exit_code == 2


def test_account_is_masked_by_default(run, book):
    output = ok(run("portfolio", "account", "CLI-1"))
    nid = book["national_id"]
    assert nid not in output and nid[:3] + "*" * 11 + nid[-4:] in output
    assert "138****5678" in output and "137****1111" in output
    assert "75" in output and "M3" in output and "1,025.50" in output
    with session_scope() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal")).all() == []


def test_reveal_needs_a_reason_and_is_audited_as_the_cli_user(run, book):
    refused = run("portfolio", "account", "CLI-1", "--reveal")
    assert isinstance(refused.exception, RuleViolation)

    output = ok(run("portfolio", "account", "CLI-1", "--reveal", "--reason", "court order 2024-17"))
    assert book["national_id"] in output and "13812345678" in output
    with session_scope() as session:
        (event,) = session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal")).all()
    assert event.actor == f"cli:{getpass.getuser()}"
    assert event.details["reason"] == "court order 2024-17"


def test_unknown_account_is_a_domain_error(run, book):
    assert isinstance(run("portfolio", "account", "NOPE").exception, NotFound)


def test_find_by_national_id_and_by_phone(run, book):
    nid = book["national_id"]
    by_id = ok(run("portfolio", "find", "--national-id", nid.lower()))
    assert "张三" in by_id and "CLI-1" in by_id and nid not in by_id
    by_contact_phone = ok(run("portfolio", "find", "--phone", "+86 137 0000 1111"))
    assert "张三" in by_contact_phone
    assert "No debtor found" in ok(run("portfolio", "find", "--phone", "13999999999"))
    assert run("portfolio", "find").exit_code == 2
    assert run("portfolio", "find", "--phone", "13812345678", "--national-id", nid).exit_code == 2
    assert isinstance(run("portfolio", "find", "--phone", "12345").exception, RuleViolation)


def test_domain_error_is_one_line_and_exit_code_2(book):
    env = {**os.environ, "WEIWAI_DEFAULT_LOCALE": "en", "COLUMNS": "200"}
    result = subprocess.run(
        [str(WEIWAI), "portfolio", "account", "CLI-1", "--reveal"], capture_output=True, text=True, env=env, check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "Error: a reason is required to reveal personal data"


def test_user_create_from_stdin_and_list(run_user, use_db):
    output = ok(run_user("create", "Dana", "--role", "finance", "--display-name", "戴娜",
                         "--password-stdin", input="a-long-enough-secret\n"))
    assert "dana" in output
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == "dana"))
        assert user.role == "finance" and user.password_hash.startswith("$argon2id$")
        actors = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "user.create")).all()
    assert actors == [f"cli:{getpass.getuser()}"]

    listing = ok(run_user("list"))
    assert "dana" in listing and "戴娜" in listing and "finance" in listing


def test_user_create_prompts_for_the_password_twice(run_user, use_db):
    ok(run_user("create", "erik", "--role", "auditor", "--display-name", "Erik",
                input="another-long-secret\nanother-long-secret\n"))
    from weiwai.security.service import authenticate

    with session_scope() as session:
        assert authenticate(session=session, username="erik", password="another-long-secret").username == "erik"


def test_user_create_for_an_agency_and_refusals(run_user, use_db):
    with session_scope() as session:
        make_agency(session, code="AG-CLI")
    ok(run_user("create", "col1", "--role", "collector", "--agency", "AG-CLI", "--display-name", "催收员一",
                "--password-stdin", input="collector-secret-1\n"))
    assert "AG-CLI" in ok(run_user("list"))

    missing = run_user("create", "col2", "--role", "collector", "--agency", "NOPE", "--display-name", "x",
                       "--password-stdin", input="collector-secret-2\n")
    assert isinstance(missing.exception, NotFound)
    weak = run_user("create", "col3", "--role", "collector", "--agency", "AG-CLI", "--display-name", "x",
                    "--password-stdin", input="short\n")
    assert isinstance(weak.exception, RuleViolation)
    taken = run_user("create", "COL1", "--role", "collector", "--agency", "AG-CLI", "--display-name", "x",
                     "--password-stdin", input="collector-secret-3\n")
    assert isinstance(taken.exception, Conflict)
    assert run_user("create", "x1", "--role", "boss", "--display-name", "x").exit_code == 2
