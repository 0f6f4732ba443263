"""The placements API: who may do what, and a placement from preview to recall over HTTP."""

import warnings
from datetime import date

import pytest

from factories_cycle import make_placeable_account, make_usable_agency
from weiwai.security.models import Role
from weiwai.web.deps import Principal, current_principal, get_session

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

API = "/api/v1"
AS_OF = "2024-03-01"


@pytest.fixture
def client(session):
    from weiwai.placements.routes import router
    from weiwai.web.app import create_app

    app = create_app()
    if not any(getattr(route, "path", "") == f"{API}/placements" for route in app.routes):
        app.include_router(router)
    app.dependency_overrides[get_session] = lambda: session

    def sign_in(role: Role) -> None:
        principal = Principal(user_id=1, username="alice", role=role, agency_id=None)
        app.dependency_overrides[current_principal] = lambda: principal

    sign_in(Role.operations)
    with TestClient(app) as test_client:
        test_client.sign_in = sign_in
        yield test_client


@pytest.fixture
def book(session):
    for code in ("HTTPA", "HTTPB"):
        make_usable_agency(session, code=code, ends_on=date(2030, 12, 31))
    return [make_placeable_account(session) for _ in range(4)]


def test_place_over_http(client, book):
    rules = {"dpd": {"min": 1}}
    preview = client.post(f"{API}/screening/preview", json={"rules": rules, "as_of": AS_OF})
    assert preview.status_code == 200 and preview.json()["eligible"] == 4
    saved = client.post(f"{API}/screening/rule-sets", json={"name": "http", "rules": rules})
    assert saved.status_code == 201 and saved.json()["version"] == 1
    assert client.post(f"{API}/screening/rule-sets", json={"name": "http", "rules": rules}).status_code == 200
    body = {"rule_set": "http", "strategy": {"name": "equal_count", "seed": 4}, "as_of": AS_OF}
    allocation = client.post(f"{API}/placements/preview", json=body)
    assert allocation.status_code == 200 and allocation.json()["allocated"] == 4
    created = client.post(f"{API}/placements", json=body)
    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert "allocation" not in created.json()["summary"]
    batch_no = created.json()["batch_no"]
    confirmed = client.post(f"{API}/placements/{batch_no}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["cases"] == 4
    assert client.post(f"{API}/placements/{batch_no}/confirm").json()["code"] == "batch_not_draft"
    case_no = f"C{batch_no[1:]}-000001"
    case = client.get(f"{API}/cases/{case_no}")
    assert case.status_code == 200 and case.json()["status"] == "placed"
    assert case.headers["ETag"] == f'"{case.json()["version"]}"'
    extended = client.post(f"{API}/cases/{case_no}/extend", json={"days": 7, "reason": "promise"},
                           headers={"If-Match": case.headers["ETag"]})
    assert extended.status_code == 200 and extended.json()["extended_count"] == 1
    assert extended.headers["ETag"] != case.headers["ETag"]
    stale = client.post(f"{API}/cases/{case_no}/extend", json={"days": 7, "reason": "again"},
                        headers={"If-Match": case.headers["ETag"]})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert client.get(f"{API}/cases/{case_no}").json()["extended_count"] == 1
    recalled = client.post(f"{API}/cases/recall", json={"batch": batch_no, "reason": "review"})
    assert recalled.status_code == 200 and len(recalled.json()["cases"]) == 4
    assert recalled.json()["closed_batches"] == [batch_no]
    closed = client.get(f"{API}/placements", params={"status": "closed"}).json()
    assert closed["total"] == 1 and closed["items"][0]["batch_no"] == batch_no
    assert client.post(f"{API}/cases/recall", json={"reason": "x"}).status_code == 422
    assert client.get(f"{API}/cases/NOPE").status_code == 404
    jobs = client.get(f"{API}/jobs")
    assert any(job["name"] == "expire_cases" for job in jobs.json())
    assert client.get(f"{API}/jobs/runs").json() == {"items": [], "total": 0, "offset": 0, "limit": 50}
    rule_sets = client.get(f"{API}/screening/rule-sets").json()
    assert rule_sets["total"] == 1 and rule_sets["items"][0]["name"] == "http"


def test_roles(client, book):
    rules = {"rules": {}, "as_of": AS_OF}
    client.sign_in(Role.auditor)
    assert client.post(f"{API}/screening/preview", json=rules).status_code == 200
    assert client.post(f"{API}/screening/rule-sets", json={"name": "x", "rules": {}}).status_code == 403
    assert client.post(f"{API}/placements", json={"rules": {}, "strategy": {"name": "equal_count"}}).status_code == 403
    assert client.post(f"{API}/jobs/run", json={}).status_code == 403
    assert client.post(f"{API}/cases/recall", json={"batch": "B1", "reason": "x"}).status_code == 403
    client.sign_in(Role.finance)
    assert client.post(f"{API}/cases/NOPE/extend", json={"days": 1, "reason": "x"}).status_code == 403
    client.sign_in(Role.collector)
    assert client.post(f"{API}/screening/preview", json=rules).status_code == 403
    assert client.get(f"{API}/placements").status_code == 403
    assert client.get(f"{API}/jobs").status_code == 403
    # Forbidden by the route alone: the same answer whether the batch exists or not.
    assert client.post(f"{API}/placements/NOPE/confirm").status_code == 403


def test_a_batch_and_its_confirmation_are_idempotent(client, book):
    body = {"rules": {"dpd": {"min": 1}}, "strategy": {"name": "equal_count", "seed": 1}, "as_of": AS_OF}
    key = {"Idempotency-Key": "batch-2024-03-01"}
    created = client.post(f"{API}/placements", json=body, headers=key)
    again = client.post(f"{API}/placements", json=body, headers=key)
    assert (created.status_code, again.status_code) == (201, 201)
    assert again.json() == created.json() and again.headers["Idempotent-Replayed"] == "true"
    assert client.get(f"{API}/placements").json()["total"] == 1
    batch_no = created.json()["batch_no"]
    confirm_key = {"Idempotency-Key": "confirm-1"}
    confirmed = client.post(f"{API}/placements/{batch_no}/confirm", headers=confirm_key)
    replayed = client.post(f"{API}/placements/{batch_no}/confirm", headers=confirm_key)
    assert confirmed.status_code == replayed.status_code == 200 and replayed.json() == confirmed.json()
    # Without the key a second confirmation is refused as before.
    assert client.post(f"{API}/placements/{batch_no}/confirm").json()["code"] == "batch_not_draft"
