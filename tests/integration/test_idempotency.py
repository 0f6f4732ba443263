"""Idempotency-Key (weiwai.web.idempotency): a retry replays the first answer, a key is
its caller's own, and a double submit creates one record even when both requests race
(PostgreSQL, separate sessions and threads)."""

from __future__ import annotations

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from factories_collection import make_user, make_world
from fastapi import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from weiwai.collection.models import CollectionAction
from weiwai.db import utcnow
from weiwai.security.models import ApiTokenUse, AuditEvent, IdempotencyRecord, Role
from weiwai.web import idempotency
from weiwai.web.deps import Principal, current_principal, get_session
from weiwai.web.idempotency import IdempotentRequest, purge_idempotency_records

# Logging actions is the setting here, not the compliance rules (tested in test_compliance_*).
pytestmark = pytest.mark.usefixtures("record_compliance")

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

WHEN = (utcnow() - timedelta(hours=1)).isoformat()


def principal_of(user) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)


def client_for(session, principal: Principal) -> TestClient:
    from weiwai.web.app import create_app

    app = create_app()
    app.dependency_overrides[get_session] = lambda: session
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app)


def action(world, **overrides) -> dict:
    body = {"channel": "phone", "occurred_at": WHEN, "outcome": "no_answer", "phone_id": world.debtor.phones[0].id}
    body.update(overrides)
    return body


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def world(session):
    return make_world(session)


@pytest.fixture
def manager(session, world):
    return client_for(session, principal_of(make_user(session, role="agency_manager", agency=world.agency)))


def test_a_retry_replays_the_first_answer_and_does_nothing_again(session, world, manager):
    url = f"/api/v1/cases/{world.case.case_no}/actions"
    key = {"Idempotency-Key": "retry-1"}
    first = manager.post(url, json=action(world), headers=key)
    # The same request, however its JSON is spelled (key order, spacing).
    spelled = manager.post(url, content=(
        f'{{ "phone_id": {world.debtor.phones[0].id}, "outcome": "no_answer", "occurred_at": "{WHEN}", '
        f'"channel": "phone" }}'), headers={**key, "Content-Type": "application/json"})
    assert first.status_code == spelled.status_code == 201
    assert spelled.content == first.content and spelled.headers["Idempotent-Replayed"] == "true"
    assert count(session, CollectionAction, CollectionAction.case_id == world.case.id) == 1
    stored = session.scalars(select(IdempotencyRecord)).one()
    assert (stored.owner, stored.key, stored.method, stored.path, stored.status_code) == (
        manager.app.dependency_overrides[current_principal]().actor, "retry-1", "POST", url, 201)


def test_a_key_used_for_another_request_is_refused(session, world, manager):
    url = f"/api/v1/cases/{world.case.case_no}/actions"
    key = {"Idempotency-Key": "retry-2"}
    assert manager.post(url, json=action(world), headers=key).status_code == 201
    for response in (
        manager.post(url, json=action(world, outcome="busy"), headers=key),  # another body
        manager.post(f"/api/v1/cases/{make_world(session).case.case_no}/actions", json=action(world), headers=key),
    ):
        assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"
    assert count(session, CollectionAction) == 1


def test_keys_belong_to_their_caller(session):
    one, two = make_world(session), make_world(session)
    clients = [client_for(session, principal_of(make_user(session, role="agency_manager", agency=w.agency)))
               for w in (one, two)]
    for client, w in zip(clients, (one, two), strict=True):
        response = client.post(f"/api/v1/cases/{w.case.case_no}/actions", json=action(w),
                               headers={"Idempotency-Key": "same-key-everywhere"})
        assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert count(session, CollectionAction, CollectionAction.case_id.in_([one.case.id, two.case.id])) == 2
    assert count(session, IdempotencyRecord, IdempotencyRecord.key == "same-key-everywhere") == 2


@pytest.mark.parametrize("key", ["", "x" * 101, "with space", "clé", "tab\there"])
def test_a_malformed_key_is_refused(session, world, manager, key):
    response = manager.post(f"/api/v1/cases/{world.case.case_no}/actions", json=action(world),
                            headers={"Idempotency-Key": key.encode()})
    assert response.status_code == 422 and response.json()["code"] == "validation_error"
    assert count(session, CollectionAction) == 0


def test_a_failed_request_leaves_its_key_free(session, world, manager):
    url = f"/api/v1/cases/{world.case.case_no}/actions"
    key = {"Idempotency-Key": "after-a-mistake"}
    wrong = manager.post(url, json=action(world, channel="visit", outcome="visit_done", phone_id=None), headers=key)
    assert wrong.status_code == 422 and wrong.json()["code"] == "rule_violation"
    assert manager.post(url, json=action(world), headers=key).status_code == 201


def test_records_older_than_48_hours_are_purged(session):
    from weiwai.jobs.registry import get_job

    now = utcnow()
    for key, age in (("old", timedelta(hours=49)), ("recent", timedelta(hours=47))):
        session.add(IdempotencyRecord(owner="user:purge-test", key=key, method="POST", path="/x",
                                      request_sha256="0" * 64, status_code=201, response_body="{}",
                                      created_at=now - age))
    session.flush()
    assert purge_idempotency_records(session=session, before=now - idempotency.RETENTION) == 1
    assert session.scalars(select(IdempotencyRecord.key).where(
        IdempotencyRecord.owner == "user:purge-test")).all() == ["recent"]
    job = get_job("purge_idempotency_records")
    assert job.func(session=session, run_for=now.date()) == {"purged": 0}


# --- racing requests (PostgreSQL: SQLite lets one writer in at a time) ------------------------


def _race_past_the_fast_path(monkeypatch, parties: int) -> None:
    """Hold every request after its first look-up until all have looked: none sees the others' record."""
    barrier = threading.Barrier(parties)
    original = IdempotentRequest._stored

    def stored(self):
        if not getattr(self, "_looked", False):
            found = original(self)
            self._looked = True
            barrier.wait(timeout=30)
            return found
        return original(self)

    monkeypatch.setattr(IdempotentRequest, "_stored", stored)


@pytest.mark.postgres_only
def test_a_double_submit_over_http_creates_one_action(use_db, monkeypatch):
    from weiwai.db import new_session
    from weiwai.web.app import create_app

    with new_session() as session:
        world = make_world(session)
        user = make_user(session, role="agency_manager", agency=world.agency)
        session.commit()
        case_no, case_id, body, principal = world.case.case_no, world.case.id, action(world), principal_of(user)
    app = create_app()
    app.dependency_overrides[current_principal] = lambda: principal
    _race_past_the_fast_path(monkeypatch, 2)

    def submit(_):
        with TestClient(app) as client:
            return client.post(f"/api/v1/cases/{case_no}/actions", json=body,
                               headers={"Idempotency-Key": "double-click"})

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(submit, range(2)))
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    with new_session() as session:
        assert count(session, CollectionAction, CollectionAction.case_id == case_id) == 1
        assert count(session, IdempotencyRecord, IdempotencyRecord.key == "double-click") == 1


@pytest.mark.postgres_only
def test_the_unique_key_decides_when_nothing_else_serialises(fresh_db_url, monkeypatch):
    """Work that takes no lock: the loser's insert waits for the winner, then replays it."""
    from weiwai.db import make_engine

    engine = make_engine(fresh_db_url)
    _race_past_the_fast_path(monkeypatch, 2)
    use = {"token_id": None, "prefix": "racer", "used_at": utcnow(), "method": "POST", "path": "/api/v1/race",
           "client": None, "outcome": "accepted"}

    def request() -> tuple[Response, bytes]:
        with Session(engine) as session:
            scope = {"type": "http", "method": "POST", "path": "/api/v1/race", "headers": [], "query_string": b""}
            http_request = Request(scope)
            http_request.state.token_use = use
            session.add(ApiTokenUse(**use))  # as verifying the token does
            sub_response = Response()
            sub_response.status_code = None
            idem = IdempotentRequest(request=http_request, response=sub_response, session=session,
                                     owner="token:racer", key="race-key")

            def work():
                event = AuditEvent(actor="token:racer", action="race.work")
                session.add(event)
                session.flush()
                return {"event": event.id}

            answer = idem.run(work, body={"n": 1}, status_code=201)
            session.commit()
            return answer

    try:
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: request(), range(2)))
        assert {a.status_code for a in answers} == {201}
        assert answers[0].body == answers[1].body
        assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
        with Session(engine) as session:
            assert count(session, AuditEvent, AuditEvent.action == "race.work") == 1
            assert count(session, IdempotencyRecord) == 1
            # The loser's rollback did not lose the record of its token use.
            assert count(session, ApiTokenUse, ApiTokenUse.prefix == "racer") == 2
    finally:
        engine.dispose()


def test_an_agency_system_retries_with_its_token(use_db):
    """End to end with a real API token: the key is the token's, and every use is logged."""
    from weiwai.db import new_session
    from weiwai.security.tokens import issue_token
    from weiwai.web.app import create_app

    with new_session() as session:
        world = make_world(session)
        issued = issue_token(session=session, agency_id=world.agency.id, name="dialler", actor="test")
        session.commit()
        secret, prefix, case_no, body = issued.secret, issued.token.prefix, world.case.case_no, action(world)
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "dialler-0001"}
    with TestClient(create_app()) as client:
        first = client.post(f"/api/v1/cases/{case_no}/actions", json=body, headers=headers)
        again = client.post(f"/api/v1/cases/{case_no}/actions", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201), first.text
    assert first.json()["recorded_by"] == f"token:{prefix}" and again.headers["Idempotent-Replayed"] == "true"
    with new_session() as session:
        assert session.scalars(select(IdempotencyRecord.owner)).all() == [f"token:{prefix}"]
        assert count(session, CollectionAction) == 1
        assert count(session, ApiTokenUse, ApiTokenUse.prefix == prefix) == 2
