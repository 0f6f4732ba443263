"""The collection log over HTTP: who may log and read, 404 outside the scope, Idempotency-Key."""

from datetime import UTC, datetime, timedelta

import pytest

from factories_collection import api_client, make_agency, make_user, make_world

# The collection log's mechanics, not the compliance rules (tested in test_compliance_*).
pytestmark = pytest.mark.usefixtures("record_compliance")

WHEN = (datetime.now(UTC) - timedelta(hours=1)).isoformat()


@pytest.fixture
def world(session):
    return make_world(session)


def agency_user(session, world, role="collector"):
    """A user of the case's agency; a collector is assigned the case (they see only theirs)."""
    user = make_user(session, role=role, agency=world.agency)
    if role == "collector":
        world.case.collector_user_id = user.id
        session.flush()
    return user


def body(world, **overrides):
    fields = {"channel": "phone", "occurred_at": WHEN, "outcome": "no_answer",
              "phone_id": world.debtor.phones[0].id}
    fields.update(overrides)
    return fields


@pytest.mark.parametrize("role", ["collector", "agency_manager"])
def test_agency_users_log_on_their_own_cases(session, world, role):
    user = agency_user(session, world, role)
    client = api_client(session, user)
    response = client.post(f"/api/v1/cases/{world.case.case_no}/actions", json=body(world))
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["collector_user_id"] == user.id and data["recorded_by"] == f"user:{user.username}"
    assert data["phone_masked"].count("*") == 4 and "phone_bidx" not in data
    assert world.case.status == "working"


def test_another_agencys_case_answers_404(session, world):
    stranger = make_user(session, role="agency_manager", agency=make_agency(session))
    client = api_client(session, stranger)
    assert client.post(f"/api/v1/cases/{world.case.case_no}/actions", json=body(world)).status_code == 404
    assert client.get(f"/api/v1/cases/{world.case.case_no}/actions").status_code == 404
    assert client.get(f"/api/v1/cases/{world.case.case_no}/promises").status_code == 404
    assert client.get("/api/v1/cases/NOPE/actions").status_code == 404


def test_lender_operations_may_log_and_compliance_only_read(session, world):
    ops = api_client(session, make_user(session, role="operations"))
    response = ops.post(f"/api/v1/cases/{world.case.case_no}/actions", json=body(world))
    assert response.status_code == 201 and response.json()["collector_user_id"] is None
    compliance = api_client(session, make_user(session, role="compliance"))
    assert compliance.post(f"/api/v1/cases/{world.case.case_no}/actions", json=body(world)).status_code == 403
    listed = compliance.get(f"/api/v1/cases/{world.case.case_no}/actions")
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert listed.json()["items"][0]["case_no"] == world.case.case_no


def test_idempotency_key_header_replays_the_first_answer(session, world):
    client = api_client(session, agency_user(session, world))
    url = f"/api/v1/cases/{world.case.case_no}/actions"
    first = client.post(url, json=body(world), headers={"Idempotency-Key": "req-001"})
    again = client.post(url, json=body(world), headers={"Idempotency-Key": "req-001"})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    # The header is the caller's own: it is not written into the actions' file-import key.
    assert first.json()["idempotency_key"] is None
    assert client.get(url).json()["total"] == 1
    other = client.post(url, json=body(world, outcome="busy"), headers={"Idempotency-Key": "req-001"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # The body takes no key of its own any more.
    assert client.post(url, json=body(world, idempotency_key="other")).status_code == 422


def test_rule_violations_are_422_problems(session, world):
    client = api_client(session, agency_user(session, world))
    response = client.post(f"/api/v1/cases/{world.case.case_no}/actions",
                           json=body(world, channel="visit", outcome="visit_done", phone_id=None))
    assert response.status_code == 422
    assert response.json()["code"] == "rule_violation"
    naive = client.post(f"/api/v1/cases/{world.case.case_no}/actions", json=body(world, occurred_at="2024-03-05T10:00"))
    assert naive.status_code == 422


def test_promises_are_listed_with_the_action(session, world):
    client = api_client(session, agency_user(session, world))
    due = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    response = client.post(f"/api/v1/cases/{world.case.case_no}/actions",
                           json=body(world, outcome="promise_to_pay", promise_amount="300.5", promise_due_on=due))
    assert response.status_code == 201
    assert response.json()["promise"]["amount"] == "300.50"
    promises = client.get(f"/api/v1/cases/{world.case.case_no}/promises").json()
    assert promises["total"] == 1
    assert [(p["amount"], p["due_on"], p["status"]) for p in promises["items"]] == [("300.50", due, "pending")]
    assert client.get(f"/api/v1/cases/{world.case.case_no}/promises", params={"status": "kept"}).json()["total"] == 0


def test_a_collector_reaches_only_the_cases_assigned_to_them(session, world):
    collector = make_user(session, role="collector", agency=world.agency)
    colleague = make_user(session, role="collector", agency=world.agency)
    world.case.collector_user_id = colleague.id
    session.flush()
    client = api_client(session, collector)
    url = f"/api/v1/cases/{world.case.case_no}/actions"
    assert client.post(url, json=body(world)).status_code == 404
    assert client.get(url).status_code == 404
    assert api_client(session, colleague).post(url, json=body(world)).status_code == 201
    # Their manager sees every open case of the agency.
    manager = api_client(session, make_user(session, role="agency_manager", agency=world.agency))
    assert manager.get(url).json()["total"] == 1


def test_an_ended_case_is_out_of_the_agencys_reach(session, world):
    manager = api_client(session, make_user(session, role="agency_manager", agency=world.agency))
    url = f"/api/v1/cases/{world.case.case_no}/actions"
    assert manager.post(url, json=body(world)).status_code == 201
    world.case.status = "recalled"
    session.flush()
    assert manager.get(url).status_code == 404
    assert manager.post(url, json=body(world)).status_code == 404
    # The lender still reads it.
    auditor = api_client(session, make_user(session, role="auditor"))
    assert auditor.get(url).json()["total"] == 1


def test_actions_are_listed_a_page_at_a_time_and_filtered(session, world):
    client = api_client(session, make_user(session, role="agency_manager", agency=world.agency))
    url = f"/api/v1/cases/{world.case.case_no}/actions"
    for outcome in ("no_answer", "busy", "no_answer"):
        assert client.post(url, json=body(world, outcome=outcome)).status_code == 201
    page = client.get(url, params={"limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (3, 0, 2, 2)
    rest = client.get(url, params={"limit": 2, "offset": 2}).json()
    assert (rest["total"], len(rest["items"])) == (3, 1)
    busy = client.get(url, params={"outcome": "busy"}).json()
    assert busy["total"] == 1 and busy["items"][0]["outcome"] == "busy"
    assert client.get(url, params={"limit": 501}).status_code == 422
