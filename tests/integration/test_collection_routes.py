"""The collection log over HTTP: who may log and read, 404 across agencies, Idempotency-Key."""

from datetime import UTC, datetime, timedelta

import pytest

from factories_collection import api_client, make_agency, make_user, make_world

WHEN = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


@pytest.fixture
def world(session):
    return make_world(session)


def body(world, **overrides):
    fields = {"channel": "phone", "occurred_at": WHEN, "outcome": "no_answer",
              "phone_id": world.debtor.phones[0].id}
    fields.update(overrides)
    return fields


@pytest.mark.parametrize("role", ["collector", "agency_manager"])
def test_agency_users_log_on_their_own_cases(session, world, role):
    user = make_user(session, role=role, agency=world.agency)
    client = api_client(session, user)
    response = client.post(f"/api/v1/cases/{world.case.id}/actions", json=body(world))
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["collector_user_id"] == user.id and data["recorded_by"] == f"user:{user.username}"
    assert data["phone_masked"].count("*") == 4 and "phone_bidx" not in data
    assert world.case.status == "working"


def test_another_agencys_case_answers_404(session, world):
    stranger = make_user(session, role="agency_manager", agency=make_agency(session))
    client = api_client(session, stranger)
    assert client.post(f"/api/v1/cases/{world.case.id}/actions", json=body(world)).status_code == 404
    assert client.get(f"/api/v1/cases/{world.case.id}/actions").status_code == 404
    assert client.get(f"/api/v1/cases/{world.case.id}/promises").status_code == 404
    assert client.get("/api/v1/cases/987654/actions").status_code == 404


def test_lender_operations_may_log_and_compliance_only_read(session, world):
    ops = api_client(session, make_user(session, role="operations"))
    response = ops.post(f"/api/v1/cases/{world.case.id}/actions", json=body(world))
    assert response.status_code == 201 and response.json()["collector_user_id"] is None
    compliance = api_client(session, make_user(session, role="compliance"))
    assert compliance.post(f"/api/v1/cases/{world.case.id}/actions", json=body(world)).status_code == 403
    listed = compliance.get(f"/api/v1/cases/{world.case.id}/actions")
    assert listed.status_code == 200 and len(listed.json()) == 1


def test_idempotency_key_header_replays_the_first_action(session, world):
    client = api_client(session, make_user(session, role="collector", agency=world.agency))
    url = f"/api/v1/cases/{world.case.id}/actions"
    first = client.post(url, json=body(world), headers={"Idempotency-Key": "req-001"})
    again = client.post(url, json=body(world, outcome="busy"), headers={"Idempotency-Key": "req-001"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["outcome"] == "no_answer"
    assert again.json()["idempotency_key"] == "req-001"
    assert len(client.get(url).json()) == 1
    clash = client.post(url, json=body(world, idempotency_key="other"), headers={"Idempotency-Key": "req-002"})
    assert clash.status_code == 422


def test_rule_violations_are_422_problems(session, world):
    client = api_client(session, make_user(session, role="collector", agency=world.agency))
    response = client.post(f"/api/v1/cases/{world.case.id}/actions",
                           json=body(world, channel="visit", outcome="visit_done", phone_id=None))
    assert response.status_code == 422
    assert response.json()["code"] == "rule_violation"
    naive = client.post(f"/api/v1/cases/{world.case.id}/actions", json=body(world, occurred_at="2024-03-05T10:00"))
    assert naive.status_code == 422


def test_promises_are_listed_with_the_action(session, world):
    client = api_client(session, make_user(session, role="collector", agency=world.agency))
    due = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    response = client.post(f"/api/v1/cases/{world.case.id}/actions",
                           json=body(world, outcome="promise_to_pay", promise_amount="300.5", promise_due_on=due))
    assert response.status_code == 201
    assert response.json()["promise"]["amount"] == "300.50"
    promises = client.get(f"/api/v1/cases/{world.case.id}/promises").json()
    assert [(p["amount"], p["due_on"], p["status"]) for p in promises] == [("300.50", due, "pending")]
