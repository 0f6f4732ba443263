"""`weiwai tokens …` and the user commands added with them, end to end on a fresh database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from factories import make_agency, make_user, use_cheap_password_hashing
from weiwai.db import session_scope
from weiwai.errors import NotFound, RuleViolation
from weiwai.security.models import ApiToken, AuditEvent, User
from weiwai.security.tokens import verify_token

WEIWAI = Path(sys.executable).parent / "weiwai"
TOKEN = re.compile(r"ww_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}")


@pytest.fixture(scope="module")
def cli():
    from weiwai.cli import main

    if "tokens" not in {group.name for group in main.app.registered_groups}:
        main._register()
    return main.app


@pytest.fixture
def run(cli, use_db, monkeypatch):
    """Invoke the CLI in English with a wide terminal; returns the click Result."""
    from weiwai.config import reset_settings

    use_cheap_password_hashing(monkeypatch)
    monkeypatch.setenv("WEIWAI_DEFAULT_LOCALE", "en")
    reset_settings()
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), input=input, env={"COLUMNS": "250"})

    return invoke


@pytest.fixture
def agency(use_db):
    with session_scope() as session:
        make_agency(session, code="TK-ONE")
        make_agency(session, code="TK-TWO")
    return "TK-ONE"


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_issue_prints_the_token_once_and_it_works(run, agency):
    result = ok(run("tokens", "issue", "--agency", agency, "--name", "dialler", "--scope", "cases.read",
                    "--scope", "actions.write", "--days", "30"))
    [secret] = TOKEN.findall(result.stdout)
    assert "will not be shown again" in result.stderr and secret not in result.stderr
    assert "actions.write, cases.read" in result.stdout
    with session_scope() as session:
        verified, use = verify_token(session=session, raw=secret, method="GET", path="/cli-test", client=None)
        assert verified is not None and use["outcome"] == "accepted"
        assert sorted(verified.scopes) == ["actions.write", "cases.read"]
        token = session.get(ApiToken, verified.id)
        assert (token.expires_at - token.created_at).days == 30

    listed = ok(run("tokens", "list")).stdout
    assert "dialler" in listed and f"ww_{secret[3:15]}_…" in listed and secret not in listed
    assert "active" in listed and "TK-ONE" in listed
    assert "dialler" not in ok(run("tokens", "list", "--agency", "TK-TWO")).stdout

    with session_scope() as session:
        token_id = session.scalar(select(ApiToken.id))
    assert "Revoked token" in ok(run("tokens", "revoke", str(token_id))).stdout
    assert "revoked" in ok(run("tokens", "list", "--agency", agency)).stdout
    with session_scope() as session:
        assert verify_token(session=session, raw=secret, method="GET", path="/x", client=None)[0] is None
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "api_token")).all()
        assert actions == ["token.issue", "token.revoke"]


def test_default_scopes_and_refusals(run, agency):
    result = ok(run("tokens", "issue", "--agency", agency, "--name", "crm"))
    assert "actions.read, actions.write, cases.read, compliance.check" in result.stdout
    assert isinstance(run("tokens", "issue", "--agency", "NOPE", "--name", "x").exception, NotFound)
    bad_scope = run("tokens", "issue", "--agency", agency, "--name", "x", "--scope", "users.write")
    assert isinstance(bad_scope.exception, RuleViolation) and bad_scope.exception.code == "invalid_scope"
    unknown_scope = run("tokens", "issue", "--agency", agency, "--name", "x", "--scope", "everything")
    assert isinstance(unknown_scope.exception, RuleViolation)
    assert isinstance(run("tokens", "issue", "--agency", agency, "--name", "x", "--days", "400").exception,
                      RuleViolation)
    assert isinstance(run("tokens", "revoke", "999999").exception, NotFound)


def test_user_deactivate_activate_and_reset_password(run, use_db):
    with session_scope() as session:
        make_user(session, username="dora", role="operations")
    assert "Deactivated user dora" in ok(run("user", "deactivate", "Dora")).stdout
    with session_scope() as session:
        assert session.scalar(select(User.is_active).where(User.username == "dora")) is False
    ok(run("user", "activate", "dora"))
    ok(run("user", "reset-password", "dora", "--password-stdin", input="another-long-passphrase\n"))
    with session_scope() as session:
        from weiwai.security.service import authenticate

        assert authenticate(session=session, username="dora", password="another-long-passphrase").username == "dora"
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.entity == "user")
                                  .order_by(AuditEvent.id)).all()
    assert actions[-4:] == ["user.deactivate", "user.activate", "user.password_reset", "login.success"]
    assert isinstance(run("user", "deactivate", "nobody").exception, NotFound)


def test_the_installed_command_fails_in_one_line(use_db, agency):
    env = {**os.environ, "WEIWAI_DATABASE_URL": use_db, "WEIWAI_DEFAULT_LOCALE": "en"}
    completed = subprocess.run([str(WEIWAI), "tokens", "issue", "--agency", "NOPE", "--name", "x"],
                               capture_output=True, text=True, env=env, timeout=60)
    assert completed.returncode == 2
    [line] = completed.stderr.strip().splitlines()
    assert line.startswith("Error:") and "NOPE" in line and "Traceback" not in completed.stderr
