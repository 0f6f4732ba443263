"""Key rotation of the sealed columns, on a fresh committed database per backend."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from factories import make_debtor, mobile, national_id
from weiwai.db import new_session, session_scope
from weiwai.portfolio import personal_data, service
from weiwai.security import keys
from weiwai.security.crypto import get_keyring, key_id_of

KEYS = {kid: base64.b64encode(kid.encode() * 16).decode() for kid in ("k1", "k2")}


def use_keys(monkeypatch, active: str, *kids: str) -> None:
    from weiwai.config import reset_settings
    from weiwai.security.crypto import reset_keyring

    monkeypatch.setenv("WEIWAI_DATA_KEYS", ",".join(f"{kid}:{KEYS[kid]}" for kid in kids))
    monkeypatch.setenv("WEIWAI_ACTIVE_KEY_ID", active)
    reset_settings()
    reset_keyring()


def sealed_values() -> dict[tuple[str, int], bytes]:
    """Every sealed envelope, by (column, row id)."""
    values = {}
    with session_scope() as session:
        for spec in keys.SEALED_COLUMNS:
            table = spec.sa_table()
            for row_id, envelope in session.execute(select(table.c[spec.id_column], table.c[spec.column])):
                if envelope is not None:
                    values[(spec.name, row_id)] = bytes(envelope)
    return values


def opened() -> dict[tuple[str, int], str]:
    context = {spec.name: spec.context for spec in keys.SEALED_COLUMNS}
    keyring = get_keyring()
    return {key: keyring.decrypt(env, context=context[key[0]]) for key, env in sealed_values().items()}


@pytest.fixture
def seeded(use_db, monkeypatch):
    """Five debtors (one without address) with phones and contacts, sealed under k1; keys then k1+k2, active k2."""
    use_keys(monkeypatch, "k1", "k1")
    people = []
    with session_scope() as session:
        for i in range(5):
            nid, phone, contact = national_id(), mobile(), mobile()
            make_debtor(session, national_id_value=nid, phones=[phone, mobile()],
                        contacts=[("李四", "spouse", contact)], address=None if i == 2 else f"地址{i}号")
            people.append((nid, phone, contact))
    plain = opened()
    assert {key_id_of(env) for env in sealed_values().values()} == {"k1"}
    use_keys(monkeypatch, "k2", "k1", "k2")
    return plain, people


def test_rotation_moves_every_value_to_the_active_key(seeded):
    plain, _people = seeded
    assert keys.status(session=new_session())["debtors.national_id_enc"] == {"k1": 5}

    seen = []
    report = keys.rotate(session_factory=new_session, batch_size=3, progress=lambda *a: seen.append(a))

    assert report.active_key_id == "k2"
    assert report.columns["debtors.national_id_enc"].examined == 5
    assert report.columns["debtors.address_enc"].reencrypted == 4  # one debtor has no address
    assert report.columns["debtor_phones.phone_enc"].reencrypted == 10
    assert report.columns["debtor_contacts.phone_enc"].reencrypted == 5
    assert report.reencrypted == len(plain) == 24
    assert ("debtor_phones.phone_enc", 10, 10) in seen
    assert {key_id_of(env) for env in sealed_values().values()} == {"k2"}
    assert opened() == plain
    with session_scope() as session:
        assert keys.status(session=session) == {
            "debtors.national_id_enc": {"k2": 5},
            "debtors.address_enc": {"k2": 4},
            "debtor_phones.phone_enc": {"k2": 10},
            "debtor_contacts.phone_enc": {"k2": 5},
        }

    again = keys.rotate(session_factory=new_session, batch_size=3)
    assert again.examined == 24 and again.reencrypted == 0


def test_values_still_open_with_only_the_new_key_after_rotation(seeded, monkeypatch):
    plain, _people = seeded
    keys.rotate(session_factory=new_session)
    use_keys(monkeypatch, "k2", "k2")  # k1 retired
    assert opened() == plain


def test_interrupted_rotation_leaves_everything_readable_and_a_rerun_completes(seeded, monkeypatch):
    plain, _people = seeded
    real_batch = keys._rotate_batch
    calls = []

    def failing_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return real_batch(*args, **kwargs)

    monkeypatch.setattr(keys, "_rotate_batch", failing_second_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        keys.rotate(session_factory=new_session, batch_size=2)

    kids = [key_id_of(env) for env in sealed_values().values()]
    assert kids.count("k2") == 2 and kids.count("k1") == 22  # the first batch committed, the second rolled back
    assert opened() == plain

    monkeypatch.setattr(keys, "_rotate_batch", real_batch)
    report = keys.rotate(session_factory=new_session, batch_size=2)
    assert report.reencrypted == 22
    assert {key_id_of(env) for env in sealed_values().values()} == {"k2"}
    assert opened() == plain


def test_blind_index_lookups_work_after_rotation(seeded):
    _plain, people = seeded
    debtors = keys.SEALED_COLUMNS[0].sa_table()
    by_id = select(debtors.c.id, debtors.c.national_id_bidx).order_by(debtors.c.id)
    with session_scope() as session:
        indexes_before = session.execute(by_id).all()
    keys.rotate(session_factory=new_session)
    nid, phone, contact = people[3]
    with session_scope() as session:
        found = service.find_debtor_by_national_id(session=session, national_id=nid)
        assert found is not None
        assert len(service.find_debtors_by_phone(session=session, phone=phone)) == 1
        assert len(service.find_debtors_by_phone(session=session, phone=contact)) == 1
        assert session.execute(by_id).all() == indexes_before
        assert personal_data.national_id_index(nid) in {bidx for _id, bidx in indexes_before}


def test_unknown_key_id_stops_rotation_with_a_clear_error(seeded, monkeypatch):
    from weiwai.errors import RuleViolation

    use_keys(monkeypatch, "k2", "k2")  # k1 is gone: its values cannot be re-encrypted
    with pytest.raises(RuleViolation, match="cannot be decrypted"):
        keys.rotate(session_factory=new_session)


def test_file_key_provider(tmp_path, seeded):
    plain, _people = seeded
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"active": "k2", "keys": KEYS}))
    provider = keys.FileKeyProvider(path)
    assert isinstance(provider, keys.KeyProvider)
    assert isinstance(keys.SettingsKeyProvider(), keys.KeyProvider)
    keyring = keys.keyring_from(provider)
    assert keyring.active_key_id == "k2" and set(keyring.keys) == {"k1", "k2"}
    keys.rotate(session_factory=new_session, keyring=keyring)
    assert {key_id_of(env) for env in sealed_values().values()} == {"k2"}
    assert opened() == plain

    path.write_text(json.dumps({"active": "k2", "keys": {"k2": base64.b64encode(b"short").decode()}}))
    with pytest.raises(ValueError, match="32 bytes"):
        keys.FileKeyProvider(path)
