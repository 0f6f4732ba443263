"""The work queue over HTTP: who sees which queue, assignment with ETags, distribution, and
queue policies; on SQLite and PostgreSQL."""

import warnings
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from factories_collection import english_messages, make_case, make_user, make_world  # noqa: F401
from weiwai.collection.models import CaseAssignment
from weiwai.collection.queue_policy import DEFAULT_POLICY
from weiwai.security.models import Role
from weiwai.security.permissions import Permission
from weiwai.web.deps import Principal, current_principal, get_session

# Logging actions is the setting here, not the compliance rules (tested in test_compliance_*).
pytestmark = pytest.mark.usefixtures("record_compliance")

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

AS_OF = "2024-03-20"


def client_for(session, who) -> TestClient:
    """The queue router on its own app, with the real error mapping, as `who` (a user or a Principal)."""
    from weiwai.collection.queue_routes import router
    from weiwai.web.app import _add_error_handlers

    app = FastAPI()
    _add_error_handlers(app)
    app.include_router(router)
    principal = who if isinstance(who, Principal) else Principal(
        user_id=who.id, username=who.username, role=Role(who.role), agency_id=who.agency_id)

    def test_session():
        yield session

    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture
def shop(session):
    world = make_world(session)
    cases = [world.case] + [make_case(session, contract=world.contract) for _ in range(3)]
    return {
        "agency": world.agency, "cases": cases,
        "manager": make_user(session, role="agency_manager", agency=world.agency),
        "c1": make_user(session, role="collector", agency=world.agency),
        "c2": make_user(session, role="collector", agency=world.agency),
    }


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["case_no"] for item in response.json()["items"]]


def test_a_manager_sees_the_agency_queue_paged_with_reasons(session, shop):
    client = client_for(session, shop["manager"])
    response = client.get("/api/v1/work-queue", params={"as_of": AS_OF, "limit": 2, "offset": 1})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 4 and page["offset"] == 1 and page["limit"] == 2
    assert page["agency_id"] == shop["agency"].id and page["as_of"] == AS_OF
    assert page["policy"] == {"name": "built-in", "version": None, "sha256": DEFAULT_POLICY.sha256()}
    first = page["items"][0]
    assert first["rank"] == 2 and first["assignee"] is None and first["needs_reassignment"] is False
    assert first["reasons"][0] == {"code": "never_attempted", "points": 80.0,
                                   "text": "never attempted since placement on 2024-03-01"}
    assert first["score"] == pytest.approx(sum(reason["points"] for reason in first["reasons"]))
    assert {"case_no", "account_no", "status", "dpd", "bucket", "balance", "period_ends_on", "version"} <= set(first)
    everyone = numbers(client.get("/api/v1/work-queue", params={"as_of": AS_OF}))
    assert everyone == sorted(everyone)  # equal scores: case number order


def test_a_collector_gets_their_own_queue_and_404_for_other_cases(session, shop):
    manager = client_for(session, shop["manager"])
    mine = [shop["cases"][0].case_no, shop["cases"][1].case_no]
    response = manager.post("/api/v1/work-queue/assignments",
                            json={"case_nos": mine, "collector_user_id": shop["c1"].id})
    assert response.status_code == 200, response.text
    assert response.json() == {"collector_user_id": shop["c1"].id, "assigned": 2, "unchanged": 0,
                               "changed_case_nos": mine}
    collector = client_for(session, shop["c1"])
    assert numbers(collector.get("/api/v1/work-queue", params={"as_of": AS_OF})) == mine
    assert numbers(collector.get("/api/v1/work-queue", params={"unassigned": True})) == []
    assert collector.get("/api/v1/work-queue", params={"collector_user_id": shop["c2"].id}).status_code == 404
    assert collector.get(f"/api/v1/cases/{mine[0]}/assignee").status_code == 200
    assert collector.get(f"/api/v1/cases/{shop['cases'][2].case_no}/assignee").status_code == 404
    # Collectors do not assign.
    refused = collector.put(f"/api/v1/cases/{mine[0]}/assignee", json={"collector_user_id": None})
    assert refused.status_code == 403
    assert collector.post("/api/v1/work-queue/distribute", json={}).status_code == 403


def test_filters_of_the_agency_queue(session, shop):
    manager = client_for(session, shop["manager"])
    case_no = shop["cases"][3].case_no
    manager.post("/api/v1/work-queue/assignments", json={"case_nos": [case_no], "collector_user_id": shop["c2"].id})
    assert numbers(manager.get("/api/v1/work-queue", params={"collector_user_id": shop["c2"].id})) == [case_no]
    assert case_no not in numbers(manager.get("/api/v1/work-queue", params={"unassigned": True}))
    shop["c2"].is_active = False
    session.flush()
    orphans = manager.get("/api/v1/work-queue", params={"needs_reassignment": True})
    assert numbers(orphans) == [case_no]
    assert orphans.json()["items"][0]["assignee"]["active"] is False


def test_lender_users_must_name_the_agency_and_other_agencies_are_404(session, shop):
    ops = client_for(session, make_user(session, role="operations"))
    missing = ops.get("/api/v1/work-queue")
    assert missing.status_code == 422 and missing.json()["code"] == "agency_required"
    assert ops.get("/api/v1/work-queue", params={"agency_id": shop["agency"].id}).json()["total"] == 4
    stranger = client_for(session, make_user(session, role="agency_manager", agency=make_world(session).agency))
    assert stranger.get("/api/v1/work-queue", params={"agency_id": shop["agency"].id}).status_code == 404
    case_no = shop["cases"][0].case_no
    assert stranger.put(f"/api/v1/cases/{case_no}/assignee",
                        json={"collector_user_id": shop["c1"].id}).status_code == 404
    batch = stranger.post("/api/v1/work-queue/assignments", json={"case_nos": [case_no], "collector_user_id": None})
    assert batch.status_code == 404
    # Operations may read queues but not assign (that is the agency's or an administrator's job).
    assert ops.put(f"/api/v1/cases/{case_no}/assignee", json={"collector_user_id": None}).status_code == 403


def test_put_assignee_with_etags(session, shop):
    manager = client_for(session, shop["manager"])
    case_no = shop["cases"][0].case_no
    read = manager.get(f"/api/v1/cases/{case_no}/assignee")
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    assert read.json()["assignee"] is None and read.json()["history"] == []
    changed = manager.put(f"/api/v1/cases/{case_no}/assignee", json={"collector_user_id": shop["c1"].id},
                          headers={"If-Match": read.headers["etag"]})
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"' and changed.json()["version"] == 2
    assert changed.json()["assignee"]["username"] == shop["c1"].username
    assert changed.json()["history"][0]["assigned_by"] == f"user:{shop['manager'].username}"
    stale = manager.put(f"/api/v1/cases/{case_no}/assignee", json={"collector_user_id": shop["c2"].id},
                        headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert manager.get(f"/api/v1/cases/{case_no}/assignee").json()["assignee"]["user_id"] == shop["c1"].id
    # The same assignee again changes nothing (and the version stays).
    again = manager.put(f"/api/v1/cases/{case_no}/assignee", json={"collector_user_id": shop["c1"].id})
    assert again.status_code == 200 and again.headers["etag"] == '"2"'
    unassigned = manager.put(f"/api/v1/cases/{case_no}/assignee", json={"collector_user_id": None},
                             headers={"If-Match": '"2"'})
    assert unassigned.status_code == 200 and unassigned.json()["assignee"] is None
    assert len(unassigned.json()["history"]) == 2


def test_assignment_problems_are_problem_json(session, shop):
    manager = client_for(session, shop["manager"])
    case_nos = [shop["cases"][0].case_no, "NOPE"]
    missing = manager.post("/api/v1/work-queue/assignments", json={"case_nos": case_nos,
                                                                   "collector_user_id": shop["c1"].id})
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert "NOPE" in missing.json()["detail"]
    assert session.scalars(select(CaseAssignment)).all() == []
    wrong_role = manager.post("/api/v1/work-queue/assignments",
                              json={"case_nos": case_nos[:1], "collector_user_id": shop["manager"].id})
    assert wrong_role.status_code == 422 and wrong_role.json()["code"] == "not_a_collector"
    empty = manager.post("/api/v1/work-queue/assignments", json={"case_nos": [], "collector_user_id": None})
    assert empty.status_code == 422 and empty.json()["code"] == "validation_error"
    missing_key = manager.put(f"/api/v1/cases/{case_nos[0]}/assignee", json={})
    assert missing_key.status_code == 422


def test_distribute(session, shop):
    manager = client_for(session, shop["manager"])
    response = manager.post("/api/v1/work-queue/distribute", json={})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["assigned"] == 4 and result["agency_id"] == shop["agency"].id
    assert [(c["username"], c["assigned"], c["open_cases"]) for c in result["collectors"]] == [
        (shop["c1"].username, 2, 2), (shop["c2"].username, 2, 2)]
    assert manager.get("/api/v1/work-queue", params={"unassigned": True}).json()["total"] == 0
    admin = client_for(session, make_user(session, role="admin"))
    named = admin.post("/api/v1/work-queue/distribute", json={"agency_id": shop["agency"].id})
    assert named.status_code == 200 and named.json()["assigned"] == 0
    assert admin.post("/api/v1/work-queue/distribute", json={}).status_code == 422


def test_an_agency_token_reads_the_queue_but_does_not_assign(session, shop):
    token = Principal(user_id=None, username="ww_abc", role=Role.agency_manager, agency_id=shop["agency"].id,
                      token_id=1, scopes=frozenset({Permission.cases_read, Permission.queue_read}))
    client = client_for(session, token)
    assert client.get("/api/v1/work-queue").json()["total"] == 4
    assert client.post("/api/v1/work-queue/distribute", json={}).status_code == 403
    without_scope = client_for(session, Principal(
        user_id=None, username="ww_def", role=Role.agency_manager, agency_id=shop["agency"].id, token_id=2,
        scopes=frozenset({Permission.cases_read})))
    assert without_scope.get("/api/v1/work-queue").status_code == 403


def test_queue_policies(session, shop):
    ops = client_for(session, make_user(session, role="operations"))
    manager = client_for(session, shop["manager"])
    current = manager.get("/api/v1/queue-policies/current")
    assert current.status_code == 200 and current.json()["version"] is None
    assert current.json()["policy"] == DEFAULT_POLICY.canonical()
    assert manager.post("/api/v1/queue-policies", json={"policy": {}}).status_code == 403

    body = {"name": "standard", "policy": {"never_attempted": {"weight": 90}}}
    created = ops.post("/api/v1/queue-policies", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 1 and created.json()["policy"]["never_attempted"]["weight"] == "90.00"
    assert created.json()["created_by"].startswith("user:")
    again = ops.post("/api/v1/queue-policies", json=body)
    assert again.status_code == 200 and again.json()["version"] == 1
    assert manager.get("/api/v1/queue-policies/current").json()["version"] == 1
    listed = manager.get("/api/v1/queue-policies")
    assert [(p["name"], p["version"]) for p in listed.json()] == [("standard", 1)]
    queue = manager.get("/api/v1/work-queue", params={"as_of": AS_OF}).json()
    assert queue["policy"]["name"] == "standard" and queue["items"][0]["reasons"][0]["points"] == 90.0

    bad = ops.post("/api/v1/queue-policies", json={"policy": {"balance": {"cap": 95}}})
    assert bad.status_code == 422 and "must never outweigh" in bad.text
    unknown = ops.post("/api/v1/queue-policies", json={"policy": {"bucket_weights": {"X9": 1}}})
    assert unknown.status_code == 422 and "X9" in unknown.json()["detail"]


def test_the_action_log_moves_a_case_down_the_queue(session, shop):
    from weiwai.collection.schemas import ActionCreate
    from weiwai.collection.service import log_action
    from weiwai.portfolio.models import Account, DebtorPhone

    manager = client_for(session, shop["manager"])
    top = numbers(manager.get("/api/v1/work-queue", params={"as_of": AS_OF}))[0]
    case = next(c for c in shop["cases"] if c.case_no == top)
    phone = session.scalar(select(DebtorPhone.id).join(Account, Account.debtor_id == DebtorPhone.debtor_id)
                           .where(Account.id == case.account_id))
    at = datetime(2024, 3, 20, 2, tzinfo=UTC)
    log_action(session=session, case_id=case.id, actor="t", at=at,
               data=ActionCreate(channel="phone", occurred_at=at, phone_id=phone, outcome="no_answer"))
    assert numbers(manager.get("/api/v1/work-queue", params={"as_of": AS_OF}))[-1] == top


# --- the /queue page ----------------------------------------------------------------------------


def page_client(session, user) -> TestClient:
    """The queue page on its own app (with the language middleware and the real error mapping)."""
    from weiwai.web.app import _add_error_handlers
    from weiwai.web.i18n_web import LocaleMiddleware
    from weiwai.web.queue_pages import router

    app = FastAPI()
    _add_error_handlers(app)
    app.add_middleware(LocaleMiddleware)
    app.include_router(router)
    principal = Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)

    def test_session():
        yield session

    app.dependency_overrides[get_session] = test_session
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app, base_url="https://testserver")


HTML = {"accept": "text/html", "accept-language": "en"}


def test_the_page_shows_a_collector_their_queue_in_chinese_by_default(session, shop):
    from weiwai.collection.assignment import assign_cases

    manager = Principal(user_id=shop["manager"].id, username="m", role=Role.agency_manager,
                        agency_id=shop["agency"].id)
    mine = shop["cases"][0].case_no
    assign_cases(session=session, principal=manager, case_nos=[mine], collector_user_id=shop["c1"].id, actor="m")
    client = page_client(session, shop["c1"])
    page = client.get("/queue", headers={"accept": "text/html"})
    assert page.status_code == 200, page.text
    assert "作业队列" in page.text and mine in page.text and "从未尝试联系" in page.text
    assert shop["cases"][1].case_no not in page.text
    assert 'action="/queue/assign"' not in page.text  # collectors do not assign
    assert "<script>" not in page.text  # CSP: no inline scripts
    refused = client.post("/queue/assign", data={"case_no": mine, "collector_user_id": ""}, headers=HTML)
    assert refused.status_code == 404


def test_a_manager_assigns_selected_cases_from_the_page(session, shop):
    client = page_client(session, shop["manager"])
    page = client.get("/queue", headers=HTML)
    assert page.status_code == 200 and 'action="/queue/assign"' in page.text
    assert shop["c1"].username in page.text and "Unassigned" in page.text
    picked = [c.case_no for c in shop["cases"][:2]]
    plain = client.post("/queue/assign", data={"case_no": picked, "collector_user_id": str(shop["c1"].id)},
                        headers=HTML, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == "/queue?done=2"
    assert all(c.collector_user_id == shop["c1"].id for c in shop["cases"][:2])
    htmx = client.post("/queue/assign", data={"case_no": picked[:1], "collector_user_id": ""},
                       headers={**HTML, "hx-request": "true"})
    assert htmx.status_code == 200 and "1 case(s) assigned" in htmx.text and "<html" not in htmx.text
    problem = client.post("/queue/assign", data={"case_no": ["NOPE"], "collector_user_id": str(shop["c1"].id)},
                          headers={**HTML, "hx-request": "true"})
    assert problem.status_code == 200 and "no open case NOPE" in problem.text
    spread = client.post("/queue/distribute", data={}, headers={**HTML, "hx-request": "true"})
    assert spread.status_code == 200 and "3 case(s) assigned" in spread.text
    filtered = client.get("/queue", params={"view": "unassigned"}, headers={**HTML, "hx-request": "true"})
    assert "No cases in this queue." in filtered.text


def test_lender_staff_choose_the_agency(session, shop):
    client = page_client(session, make_user(session, role="operations"))
    first = client.get("/queue", headers=HTML)
    assert first.status_code == 200 and "Choose an agency to see its queue." in first.text
    chosen = client.get("/queue", params={"agency_id": shop["agency"].id}, headers=HTML)
    assert chosen.status_code == 200 and shop["cases"][0].case_no in chosen.text
    assert 'action="/queue/assign"' not in chosen.text  # operations read queues; agencies assign
