"""The agencies and contracts API end to end: payloads, errors as problem+json, and who sees what."""

import warnings
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml

from factories_privacy import approve_assessment_committed
from weiwai.clock import today_local
from weiwai.agencies.models import AdmissionItem
from weiwai.security.models import Role
from weiwai.web.deps import Principal, current_principal

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
API = "/api/v1"


def example(name: str, **changes) -> dict:
    data = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    data.update(changes)
    return _jsonable(data)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if isinstance(value, date) else value


def current_term() -> dict:
    today = today_local()
    return {"starts_on": (today - timedelta(days=30)).isoformat(), "ends_on": (today + timedelta(days=365)).isoformat()}


class As:
    """Switches the signed-in principal of the test client."""

    def __init__(self, app):
        self.app = app

    def __call__(self, role: Role, agency_id: int | None = None, username: str = "alice") -> None:
        principal = Principal(user_id=1, username=username, role=role, agency_id=agency_id)
        self.app.dependency_overrides[current_principal] = lambda: principal


@pytest.fixture
def api(use_db):
    from weiwai.web.app import create_app

    app = create_app()
    sign_in = As(app)
    sign_in(Role.admin)
    with TestClient(app) as client:
        yield client, sign_in


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def ok(response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


def register_active_agency(client, code: str, uscc: str, contract_no: str) -> tuple[int, int]:
    agency = created(client.post(f"{API}/agencies", json=example("agency.yaml", code=code, uscc=uscc)))
    for item in AdmissionItem:
        created(client.post(f"{API}/agencies/{agency['id']}/admission-checks",
                            json={"item": item.value, "completed_on": "2024-12-01", "evidence_ref": f"DD/{item}"}))
    ok(client.post(f"{API}/agencies/{agency['id']}/status", json={"to": "approved", "reason": "checked"}))
    contract = created(client.post(f"{API}/contracts", json=example(
        "contract.yaml", contract_no=contract_no, agency_code=None, agency_id=agency["id"], **current_term())))
    ok(client.post(f"{API}/contracts/{contract['id']}/status", json={"to": "active", "reason": "signed"}))
    approve_assessment_committed(agency["id"])
    ok(client.post(f"{API}/agencies/{agency['id']}/status", json={"to": "active", "reason": "go"}))
    return agency["id"], contract["id"]


def test_an_agency_and_its_contract_through_the_api(api):
    client, _ = api
    agency = created(client.post(f"{API}/agencies", json=example("agency.yaml")))
    assert agency["status"] == "applying" and agency["capacity_balance"] == "60000000.00"
    assert agency["admission_missing"] == [item.value for item in AdmissionItem]
    agency_id = agency["id"]

    patched = ok(client.patch(f"{API}/agencies/{agency_id}", json={"capacity_cases": 6000, "contact_person": None}))
    assert (patched["capacity_cases"], patched["contact_person"]) == (6000, None)

    check = created(client.post(f"{API}/agencies/{agency_id}/admission-checks",
                                json={"item": "due_diligence", "completed_on": "2024-12-01", "evidence_ref": "DD-1"}))
    assert check["recorded_by"] == "user:alice"
    for item in list(AdmissionItem)[1:]:
        created(client.post(f"{API}/agencies/{agency_id}/admission-checks",
                            json={"item": item.value, "completed_on": "2024-12-01", "evidence_ref": "DD"}))
    assert len(ok(client.get(f"{API}/agencies/{agency_id}/admission-checks"))) == 4
    assert ok(client.post(f"{API}/agencies/{agency_id}/status",
                          json={"to": "approved", "reason": "checked"}))["status"] == "approved"

    contract = created(client.post(f"{API}/contracts", json=example("contract.yaml", **current_term())))
    assert contract["status"] == "draft" and contract["usable_today"] is False
    assert contract["fee_schedule"]["rates_by_bucket"] == {"M1": "0.08", "M2": "0.12", "M3": "0.18", "M4": "0.22"}
    assert contract["fee_schedule"]["fixed_fee_per_closed_case"] == "20.00"
    contract_id = contract["id"]
    edited = ok(client.patch(f"{API}/contracts/{contract_id}", json={"reporting_cadence": "daily"}))
    assert edited["reporting_cadence"] == "daily"

    active = ok(client.post(f"{API}/contracts/{contract_id}/status", json={"to": "active", "reason": "signed"}))
    assert active["usable_today"] is True
    approve_assessment_committed(agency_id)
    assert ok(client.post(f"{API}/agencies/{agency_id}/status", json={"to": "active", "reason": "go"}))["status"] == \
        "active"

    history = ok(client.get(f"{API}/agencies/{agency_id}/status-history"))
    assert [(h["from_status"], h["to_status"], h["changed_by"]) for h in history] == [
        (None, "applying", "user:alice"), ("applying", "approved", "user:alice"), ("approved", "active", "user:alice")]
    assert [h["to_status"] for h in ok(client.get(f"{API}/contracts/{contract_id}/status-history"))] == \
        ["draft", "active"]

    page = ok(client.get(f"{API}/contracts", params={"usable_on": today_local().isoformat(), "agency_id": agency_id}))
    assert page["total"] == 1 and page["items"][0]["contract_no"] == "HZ-ANXIN-2025-01"
    assert ok(client.get(f"{API}/agencies", params={"region": "江苏", "status": "active"}))["total"] == 1
    assert ok(client.get(f"{API}/agencies", params={"region": "北京"})) == {
        "items": [], "total": 0, "offset": 0, "limit": 50}


def test_errors_are_problem_documents(api):
    client, _ = api
    bad = client.post(f"{API}/agencies", json=example("agency.yaml", uscc="91330106MA2H3K7L5Q"))
    assert bad.status_code == 422
    agency = created(client.post(f"{API}/agencies", json=example("agency.yaml")))
    problem(client.post(f"{API}/agencies", json=example("agency.yaml")), 409, "conflict")
    problem(client.post(f"{API}/agencies/{agency['id']}/status", json={"to": "active", "reason": "x"}),
            409, "illegal_transition")
    body = problem(client.post(f"{API}/agencies/{agency['id']}/status", json={"to": "approved", "reason": "x"}),
                   422, "rule_violation")
    assert "due_diligence" in body["detail"]
    problem(client.get(f"{API}/agencies/{agency['id'] + 99}"), 404, "not_found")
    contract = created(client.post(f"{API}/contracts", json=example("contract.yaml", **current_term())))
    ok(client.post(f"{API}/contracts/{contract['id']}/status", json={"to": "terminated", "reason": "void"}))
    problem(client.patch(f"{API}/contracts/{contract['id']}", json={"placement_days": 30}), 409, "conflict")
    assert client.get(f"{API}/agencies", params={"limit": 201}).status_code == 422
    assert client.post(f"{API}/contracts/{contract['id']}/status", json={"to": "active"}).status_code == 422


def test_roles_decide_who_may_write(api):
    client, sign_in = api
    agency_id, contract_id = register_active_agency(client, "HZ-A", "91330106MA2H3K7L5P", "A-1")

    sign_in(Role.finance)
    assert ok(client.get(f"{API}/agencies/{agency_id}"))["code"] == "HZ-A"
    assert client.patch(f"{API}/agencies/{agency_id}", json={"capacity_cases": 1}).status_code == 403
    assert client.post(f"{API}/contracts/{contract_id}/status",
                       json={"to": "suspended", "reason": "x"}).status_code == 403

    sign_in(Role.compliance)
    suspended = ok(client.post(f"{API}/contracts/{contract_id}/status", json={"to": "suspended", "reason": "audit"}))
    assert suspended["status"] == "suspended"
    assert client.post(f"{API}/agencies/{agency_id}/status",
                       json={"to": "suspended", "reason": "x"}).status_code == 403
    assert client.post(f"{API}/contracts", json=example("contract.yaml")).status_code == 403

    sign_in(Role.operations)
    ok(client.post(f"{API}/agencies/{agency_id}/status", json={"to": "suspended", "reason": "contract suspended"}))


def test_agency_managers_see_only_their_own_agency(api):
    client, sign_in = api
    own_id, own_contract = register_active_agency(client, "HZ-A", "91330106MA2H3K7L5P", "A-1")
    other_id, other_contract = register_active_agency(client, "SZ-B", "91440300708461136T", "B-1")
    assert ok(client.get(f"{API}/agencies"))["total"] == 2

    sign_in(Role.agency_manager, agency_id=own_id, username="agent")
    assert [a["code"] for a in ok(client.get(f"{API}/agencies"))["items"]] == ["HZ-A"]
    assert ok(client.get(f"{API}/agencies/{own_id}"))["code"] == "HZ-A"
    assert [c["contract_no"] for c in ok(client.get(f"{API}/contracts"))["items"]] == ["A-1"]
    assert ok(client.get(f"{API}/contracts/{own_contract}"))["contract_no"] == "A-1"
    assert len(ok(client.get(f"{API}/agencies/{own_id}/status-history"))) == 3

    for path in (f"/agencies/{other_id}", f"/agencies/{other_id}/status-history",
                 f"/agencies/{other_id}/admission-checks", f"/contracts/{other_contract}",
                 f"/contracts/{other_contract}/status-history"):
        problem(client.get(API + path), 404, "not_found")
    problem(client.get(f"{API}/contracts", params={"agency_id": other_id}), 404, "not_found")
    problem(client.get(f"{API}/contracts", params={"agency_id": other_id + 99}), 404, "not_found")

    assert client.patch(f"{API}/agencies/{own_id}", json={"capacity_cases": 1}).status_code == 403
    assert client.post(f"{API}/contracts/{own_contract}/status",
                       json={"to": "suspended", "reason": "x"}).status_code == 403


def test_collectors_do_not_read_agencies_or_contracts(api):
    client, sign_in = api
    own_id, own_contract = register_active_agency(client, "HZ-A", "91330106MA2H3K7L5P", "A-1")
    sign_in(Role.collector, agency_id=own_id, username="agent")
    for path in ("/agencies", f"/agencies/{own_id}", "/contracts", f"/contracts/{own_contract}"):
        problem(client.get(API + path), 403, "forbidden")


def test_an_agency_user_without_an_agency_sees_nothing(api):
    client, sign_in = api
    register_active_agency(client, "HZ-A", "91330106MA2H3K7L5P", "A-1")
    sign_in(Role.agency_manager, agency_id=None)
    assert ok(client.get(f"{API}/agencies"))["items"] == []
    assert ok(client.get(f"{API}/contracts"))["total"] == 0


def test_single_records_carry_an_etag_and_stale_writes_answer_412(api):
    client, _ = api
    agency_id, contract_id = register_active_agency(client, "HZ-A", "91330106MA2H3K7L5P", "A-1")
    read = client.get(f"{API}/agencies/{agency_id}")
    etag = read.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    patched = client.patch(f"{API}/agencies/{agency_id}", json={"capacity_cases": 10}, headers={"If-Match": etag})
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] != etag
    assert patched.headers["etag"] == client.get(f"{API}/agencies/{agency_id}").headers["etag"]
    stale = client.patch(f"{API}/agencies/{agency_id}", json={"capacity_cases": 20}, headers={"If-Match": etag})
    problem(stale, 412, "precondition_failed")
    problem(client.post(f"{API}/agencies/{agency_id}/status", json={"to": "suspended", "reason": "x"},
                        headers={"If-Match": etag}), 412, "precondition_failed")
    assert ok(client.get(f"{API}/agencies/{agency_id}"))["capacity_cases"] == 10
    ok(client.patch(f"{API}/agencies/{agency_id}", json={"capacity_cases": 30}, headers={"If-Match": "*"}))

    contract = client.get(f"{API}/contracts/{contract_id}")
    contract_etag = contract.headers["etag"]
    suspended = client.post(f"{API}/contracts/{contract_id}/status", json={"to": "suspended", "reason": "audit"},
                            headers={"If-Match": contract_etag})
    assert suspended.status_code == 200, suspended.text
    problem(client.post(f"{API}/contracts/{contract_id}/status", json={"to": "active", "reason": "again"},
                        headers={"If-Match": contract_etag}), 412, "precondition_failed")
    problem(client.patch(f"{API}/contracts/{contract_id}", json={"placement_days": 30},
                         headers={"If-Match": contract_etag}), 412, "precondition_failed")
    assert ok(client.get(f"{API}/contracts/{contract_id}"))["status"] == "suspended"


def test_text_with_a_nul_character_is_refused_not_a_server_error(api):
    """PostgreSQL cannot store NUL in text: it is a 422, before anything reaches the database."""
    client, _ = api
    agency = created(client.post(f"{API}/agencies", json=example("agency.yaml")))
    for response in (
        client.patch(f"{API}/agencies/{agency['id']}", json={"contact_person": "a\u0000b"}),
        client.post(f"{API}/agencies/{agency['id']}/status", json={"to": "approved", "reason": "x\u0000"}),
        client.get(f"{API}/agencies", params={"region": "广\u0000东"}),
        client.get(f"{API}/agencies/{2**40}"),
    ):
        problem(response, 422, "validation_error")
