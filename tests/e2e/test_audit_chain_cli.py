"""`weiwai audit seal|verify|head`, GET /api/v1/audit/verify, sealing after commit, concurrent
writers, and the application's database role (PostgreSQL)."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from typer.testing import CliRunner

from factories import make_user
from factories_security import app_client, api_sign_in, use_cheap_password_hashing
from weiwai.db import session_scope
from weiwai.errors import RuleViolation
from weiwai.security import audit
from weiwai.security.audit_chain import verify
from weiwai.security.models import AuditChainLink, AuditEvent


@pytest.fixture(scope="module")
def cli():
    from weiwai.cli import main

    if "audit" not in {group.name for group in main.app.registered_groups}:
        main._register()
    return main.app


@pytest.fixture
def run(cli, use_db, monkeypatch):
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_DEFAULT_LOCALE", "en")
    reset_settings()
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, list(args), env={"COLUMNS": "250"})


def _record(n: int, actor: str = "user:alice") -> list[int]:
    with session_scope() as session:
        events = [audit.record(session=session, actor=actor, action="export", entity="report", entity_id=i,
                               details={"rows": i}) for i in range(n)]
        session.flush()
        return [event.id for event in events]


def _chained() -> set[int]:
    with session_scope() as session:
        return set(session.scalars(select(AuditChainLink.event_id)))


def test_events_are_sealed_right_after_the_commit_that_recorded_them(use_db):
    ids = _record(3)
    assert set(ids) <= _chained()


def test_a_rolled_back_transaction_leaves_nothing_to_seal(use_db):
    with pytest.raises(RuntimeError), session_scope() as session:
        audit.record(session=session, actor="user:a", action="export")
        session.flush()
        raise RuntimeError("boom")
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_cli_verify_seal_and_head(run):
    ids = _record(4)
    result = run("audit", "seal")
    assert result.exit_code == 0, result.output
    assert "0 events sealed" in result.output  # the after-commit hook got there first
    head = run("audit", "head")
    seq, hash_ = head.output.strip().split(":")
    assert int(seq) >= 4 and len(hash_) == 64
    verified = run("audit", "verify", "--anchor", head.output.strip())
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output

    with session_scope() as session:
        session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(details={"rows": 999}))
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert "event_changed" in broken.output and f"event {ids[1]}" in broken.output


def test_cli_verify_rejects_a_malformed_anchor(run):
    assert run("audit", "verify", "--anchor", "nonsense").exit_code == 2


def test_api_verify_needs_audit_read_and_names_the_first_problem(use_db):
    use_cheap_password_hashing(pytest.MonkeyPatch())
    with session_scope() as session:
        make_user(session, username="audrey", role="auditor")
        make_user(session, username="olga", role="operations")
    ids = _record(3)
    with app_client() as client:
        api_sign_in(client, "olga")
        assert client.get("/api/v1/audit/verify").status_code == 403
    with app_client() as client:
        api_sign_in(client, "audrey")
        body = client.get("/api/v1/audit/verify").json()
        assert body["ok"] is True and body["problem"] is None and body["checked"] >= 3
        with session_scope() as session:
            session.execute(update(AuditEvent).where(AuditEvent.id == ids[0]).values(actor="user:mallory"))
        body = client.get("/api/v1/audit/verify").json()
        assert body["ok"] is False
        assert body["problem"]["kind"] == "event_changed" and body["problem"]["event_id"] == ids[0]


@pytest.mark.postgres_only
def test_concurrent_writers_and_sealers_make_one_consistent_chain(use_db, backend):
    from weiwai.security.audit_chain import seal

    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for batch in range(10):
                with session_scope() as session:
                    for i in range(5):
                        audit.record(session=session, actor=f"user:{name}", action="reveal", entity_id=batch * 5 + i)
                with session_scope() as session:
                    seal(session=session)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with session_scope() as session:
        seal(session=session, full=True)
        result = verify(session=session)
        assert result.ok, result.problem
        assert result.checked == 150 and result.pending == 0
        seqs = list(session.scalars(select(AuditChainLink.seq).order_by(AuditChainLink.seq)))
        assert seqs == list(range(1, 151))


# --- the application's database role --------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"])
def test_app_role_is_refused_on_sqlite(session, backend):
    from weiwai.security.db_role import ensure_app_role

    with pytest.raises(RuleViolation, match="PostgreSQL"):
        ensure_app_role(session=session, name="weiwai_app")


@pytest.mark.postgres_only
def test_app_role_may_insert_but_not_rewrite_the_audit_log(db_url, backend):
    from weiwai.security.db_role import ensure_app_role

    name = f"weiwai_app_{uuid.uuid4().hex[:8]}"
    owner = create_engine(db_url)
    try:
        with owner.begin() as connection:
            from sqlalchemy.orm import Session

            statements = ensure_app_role(session=Session(bind=connection), name=name, password="not-printed-pw-123")
            assert any("PASSWORD '***'" in s for s in statements)
            assert not any("not-printed" in s for s in statements)
            ensure_app_role(session=Session(bind=connection), name=name)  # again: updates, no error
        app = create_engine(make_url(db_url).set(username=name, password=None))
        try:
            with app.connect() as connection:
                with connection.begin() as transaction:
                    event_id = connection.execute(text(
                        "INSERT INTO audit_events (occurred_at, actor, action, details) "
                        "VALUES (now(), 'user:x', 'test', '{}') RETURNING id")).scalar_one()
                    assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one() >= 1
                    connection.execute(text("UPDATE users SET display_name = display_name WHERE false"))
                    transaction.rollback()
                for statement in ("UPDATE audit_events SET actor = 'user:mallory'",
                                  "DELETE FROM audit_events",
                                  "TRUNCATE audit_events",
                                  "UPDATE audit_chain SET hash = 'x'",
                                  "DELETE FROM audit_chain",
                                  "TRUNCATE audit_chain"):
                    with connection.begin() as transaction:
                        with pytest.raises(ProgrammingError, match="permission denied"):
                            connection.execute(text(statement))
                        transaction.rollback()
            assert event_id
        finally:
            app.dispose()
    finally:
        with owner.begin() as connection:
            connection.execute(text(f'DROP OWNED BY "{name}"'))
            connection.execute(text(f'DROP ROLE "{name}"'))
        owner.dispose()
