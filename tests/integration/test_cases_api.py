"""Cases over HTTP (SQLite and PostgreSQL): the case list and a case as each party may see
them (weiwai.security.scope), filters and pages, ETag / If-Match on extend and return."""

from __future__ import annotations

import warnings
from datetime import date

import pytest
from factories_collection import make_agency, make_case, make_contract, make_user, make_world

from weiwai.placements.models import CaseStatus
from weiwai.security.models import Role
from weiwai.web.deps import Principal, current_principal, get_session

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

API = "/api/v1"


@pytest.fixture
def app(session):
    from weiwai.web.app import create_app

    application = create_app()
    application.dependency_overrides[get_session] = lambda: session
    return application


def as_user(app, user) -> TestClient:
    principal = Principal(user_id=user.id, username=user.username, role=Role(user.role), agency_id=user.agency_id)
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app)


@pytest.fixture
def book(session):
    """Agency A with three cases (one ended, one assigned to a collector), agency B with one."""
    mine = make_world(session)
    contract = mine.contract
    assigned = make_case(session, contract=contract)
    ended = make_case(session, contract=contract, status=CaseStatus.recalled)
    theirs = make_world(session)
    collector = make_user(session, role="collector", agency=mine.agency)
    assigned.collector_user_id = collector.id
    assigned.bucket, assigned.region = "M3", "浙江"
    session.flush()
    return {
        "agency": mine.agency, "open": mine.case, "assigned": assigned, "ended": ended, "theirs": theirs.case,
        "collector": collector, "manager": make_user(session, role="agency_manager", agency=mine.agency),
        "ops": make_user(session, role="operations"), "auditor": make_user(session, role="auditor"),
    }


def numbers(page: dict) -> list[str]:
    return [item["case_no"] for item in page["items"]]


def test_the_lender_lists_every_case_by_number_and_filters(app, book):
    client = as_user(app, book["auditor"])
    everything = client.get(f"{API}/cases", params={"limit": 500}).json()
    mine = [book[k].case_no for k in ("open", "assigned", "ended", "theirs")]
    assert set(mine) <= set(numbers(everything)) and numbers(everything) == sorted(numbers(everything))
    agency = {"agency_id": book["agency"].id}
    assert numbers(client.get(f"{API}/cases", params=agency).json()) == sorted(
        book[k].case_no for k in ("open", "assigned", "ended"))
    assert numbers(client.get(f"{API}/cases", params={**agency, "open": "false"}).json()) == [book["ended"].case_no]
    assert numbers(client.get(f"{API}/cases", params={**agency, "status": ["recalled", "working"]}).json()) == [
        book["ended"].case_no]
    assert numbers(client.get(f"{API}/cases", params={**agency, "bucket": "M3"}).json()) == [book["assigned"].case_no]
    assert numbers(client.get(f"{API}/cases", params={**agency, "region": "浙江"}).json()) == [
        book["assigned"].case_no]
    assert numbers(client.get(f"{API}/cases", params={"collector_user_id": book["collector"].id}).json()) == [
        book["assigned"].case_no]
    assert numbers(client.get(f"{API}/cases", params={"batch_no": book["theirs"].batch.batch_no}).json()) == [
        book["theirs"].case_no]
    assert client.get(f"{API}/cases", params={**agency, "period_ends_before": "2024-05-30"}).json()["total"] == 0
    assert client.get(f"{API}/cases", params={**agency, "period_ends_before": "2024-05-31"}).json()["total"] == 3
    page = client.get(f"{API}/cases", params={**agency, "limit": 2, "offset": 1}).json()
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (3, 1, 2, 2)
    assert page["items"][0]["batch_no"] is not None
    assert client.get(f"{API}/cases", params={"status": "nonsense"}).status_code == 422


def test_an_agency_lists_its_open_cases_and_a_collector_those_assigned(app, book):
    manager = as_user(app, book["manager"])
    listed = manager.get(f"{API}/cases").json()
    assert numbers(listed) == sorted([book["open"].case_no, book["assigned"].case_no])
    assert all(item["batch_no"] is None for item in listed["items"])
    # Filters only narrow the scope: another agency's id finds nothing.
    assert manager.get(f"{API}/cases", params={"agency_id": book["theirs"].agency_id}).json()["total"] == 0
    assert manager.get(f"{API}/cases", params={"open": "false"}).json()["total"] == 0
    collector = as_user(app, book["collector"])
    assert numbers(collector.get(f"{API}/cases").json()) == [book["assigned"].case_no]


def test_an_agency_reads_its_open_case_without_the_lenders_fields(app, book, session):
    case = book["open"]
    lender = as_user(app, book["ops"]).get(f"{API}/cases/{case.case_no}").json()
    assert lender["batch_no"] == case.batch.batch_no and lender["credit_grade"] == "B"
    manager = as_user(app, book["manager"])
    read = manager.get(f"{API}/cases/{case.case_no}")
    assert read.status_code == 200 and read.headers["ETag"] == f'"{case.version}"'
    body = read.json()
    assert (body["case_no"], body["status"], body["agency_code"]) == (case.case_no, "placed", book["agency"].code)
    for field in ("batch_no", "credit_grade", "arm", "end_note", "previous_case_no"):
        assert body[field] is None, field
    history = manager.get(f"{API}/cases/{case.case_no}/history")
    assert history.status_code == 200
    assert all(change["changed_by"] is None and change["reason"] is None for change in history.json())


@pytest.mark.parametrize("who", ["manager", "collector"])
def test_cases_out_of_reach_are_not_found_like_missing_ones(app, book, who):
    client = as_user(app, book[who])
    unreachable = [book["theirs"].case_no, book["ended"].case_no, "NO-SUCH-CASE"]
    if who == "collector":
        unreachable.append(book["open"].case_no)  # not assigned to them
    bodies = set()
    for case_no in unreachable:
        for path in ("", "/history", "/actions", "/promises"):
            response = client.get(f"{API}/cases/{case_no}{path}")
            assert response.status_code == 404, (case_no, path)
            bodies.add((response.json()["code"], response.json()["title"]))
    assert bodies == {("not_found", "NotFound")}


def test_extend_and_return_honour_if_match(app, book, session):
    ops = as_user(app, book["ops"])
    case = book["open"]
    etag = ops.get(f"{API}/cases/{case.case_no}").headers["ETag"]
    extended = ops.post(f"{API}/cases/{case.case_no}/extend", json={"days": 10, "reason": "promise"},
                        headers={"If-Match": etag})
    assert extended.status_code == 200 and extended.json()["period_ends_on"] == "2024-06-09"
    new_etag = extended.headers["ETag"]
    assert new_etag != etag and extended.json()["version"] == int(new_etag.strip('"'))
    stale = ops.post(f"{API}/cases/{case.case_no}/return", json={"reason": "x"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert ops.get(f"{API}/cases/{case.case_no}").json()["status"] == "placed"
    returned = ops.post(f"{API}/cases/{case.case_no}/return", json={"reason": "x"}, headers={"If-Match": new_etag})
    assert returned.status_code == 200 and returned.json()["cases"] == [case.case_no]
    # Without If-Match the write is unconditional.
    other = book["assigned"]
    assert ops.post(f"{API}/cases/{other.case_no}/extend", json={"days": 1, "reason": "r"}).status_code == 200


def test_only_the_lender_manages_cases(app, book):
    case = book["open"]
    for who in ("manager", "collector", "auditor"):
        client = as_user(app, book[who])
        assert client.post(f"{API}/cases/{case.case_no}/extend", json={"days": 1, "reason": "r"}).status_code == 403
        assert client.post(f"{API}/cases/{case.case_no}/return", json={"reason": "r"}).status_code == 403
        assert client.post(f"{API}/cases/recall", json={"case_nos": [case.case_no], "reason": "r"}).status_code == 403


def test_a_token_sees_its_agencys_open_cases(app, book, session):
    token = Principal(user_id=None, username="abc123", role=Role.agency_manager, agency_id=book["agency"].id,
                      token_id=1, scopes=frozenset())
    app.dependency_overrides[current_principal] = lambda: token
    # A token without cases.read is refused by the route.
    assert TestClient(app).get(f"{API}/cases").status_code == 403
    from weiwai.security.permissions import Permission

    scoped = Principal(user_id=None, username="abc123", role=Role.agency_manager, agency_id=book["agency"].id,
                       token_id=1, scopes=frozenset({Permission.cases_read}))
    app.dependency_overrides[current_principal] = lambda: scoped
    assert numbers(TestClient(app).get(f"{API}/cases").json()) == sorted(
        [book["open"].case_no, book["assigned"].case_no])


def test_another_agencys_case_in_the_same_batch_stays_hidden(app, session, book):
    stranger = make_agency(session)
    contract = make_contract(session, agency=stranger, ends_on=date(2030, 12, 31))
    hidden = make_case(session, contract=contract, batch=book["open"].batch)
    manager = as_user(app, book["manager"])
    assert manager.get(f"{API}/cases/{hidden.case_no}").status_code == 404
    assert hidden.case_no not in numbers(manager.get(f"{API}/cases").json())
