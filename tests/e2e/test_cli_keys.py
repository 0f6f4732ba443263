"""`weiwai keys status` and `weiwai keys rotate`, end to end on a fresh database."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from factories import make_debtor
from weiwai.db import session_scope
from weiwai.portfolio.models import DebtorPhone
from weiwai.security.crypto import get_keyring, key_id_of
from weiwai.security.models import AuditEvent

KEYS = {kid: base64.b64encode(kid.encode() * 16).decode() for kid in ("k1", "k2")}


@pytest.fixture(scope="module")
def cli():
    from weiwai.cli import main

    if "keys" not in {group.name for group in main.app.registered_groups}:
        main._register()
    return main.app


def use_keys(monkeypatch, active: str, *kids: str) -> None:
    from weiwai.config import reset_settings
    from weiwai.security.crypto import reset_keyring

    monkeypatch.setenv("WEIWAI_DATA_KEYS", ",".join(f"{kid}:{KEYS[kid]}" for kid in kids))
    monkeypatch.setenv("WEIWAI_ACTIVE_KEY_ID", active)
    monkeypatch.setenv("WEIWAI_DEFAULT_LOCALE", "en")
    reset_settings()
    reset_keyring()


@pytest.fixture
def run(cli, use_db, monkeypatch):
    use_keys(monkeypatch, "k1", "k1")
    with session_scope() as session:
        for _ in range(3):
            make_debtor(session)
    use_keys(monkeypatch, "k2", "k1", "k2")
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), env={"COLUMNS": "250"})

    return invoke


def ok(result):
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def phone_kids() -> set[str]:
    with session_scope() as session:
        return {key_id_of(env) for env in session.scalars(select(DebtorPhone.phone_enc))}


def test_status_then_rotate_then_status(run):
    before = ok(run("keys", "status")).stdout
    assert "debtors.national_id_enc" in before and "k2 *" in before
    assert "9 values not under the active key" in before  # 3 debtors × (national id, address, phone)
    rotated = ok(run("keys", "rotate", "--batch-size", "2")).stdout
    assert "Rotated to key k2" in rotated and "debtor_phones.phone_enc" in rotated
    assert phone_kids() == {"k2"}
    after = ok(run("keys", "status")).stdout
    assert "0 values not under the active key" in after
    with session_scope() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "keys.rotate")).all()
        assert event.details["active_key_id"] == "k2" and event.details["reencrypted"] == 9
        assert event.details["columns"]["debtor_phones.phone_enc"] == {
            "examined": 3, "reencrypted": 3, "skipped_concurrent": 0}
        envelope = session.scalars(select(DebtorPhone.phone_enc)).first()
        assert get_keyring().decrypt(envelope, context="debtor_phones.phone").startswith("1")


def test_rotate_refuses_a_bad_batch_size(run):
    result = run("keys", "rotate", "--batch-size", "0")
    assert result.exit_code != 0
    assert phone_kids() == {"k1"}
