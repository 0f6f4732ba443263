"""The portfolio API end to end, signed in through the login form: money as strings,
filters and pages, masking and audited reveal, and agency users kept out by permission (403)."""

import warnings
from datetime import timedelta

import pytest
from sqlalchemy import select

from factories import (
    make_account,
    make_agency,
    make_balance_change,
    make_debtor,
    make_user,
    national_id,
    sign_in,
    use_cheap_password_hashing,
)
from weiwai.db import session_scope, utcnow
from weiwai.portfolio import service
from weiwai.security.models import AuditEvent

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

API = "/api/v1"
ROLES = ["admin", "operations", "compliance", "infosec", "finance", "auditor", "agency_manager", "collector"]


@pytest.fixture
def fast_password_hashing(monkeypatch):
    use_cheap_password_hashing(monkeypatch)


@pytest.fixture
def world(use_db, fast_password_hashing):
    """One user per role, two debtors and three accounts."""
    today = service.today()
    nid = national_id()
    with session_scope() as session:
        agency = make_agency(session, code="AG-API")
        for role in ROLES:
            agency_id = agency.id if role in ("agency_manager", "collector") else None
            make_user(session, username=role.replace("_", "-"), role=role, agency_id=agency_id)
        debtor = make_debtor(session, national_id_value=nid, phones=["13812345678"], credit_grade="B", region="广东")
        first = make_account(session, debtor=debtor, account_no="API-1", principal="1000.00", interest="0.50",
                             due_date=today - timedelta(days=10))
        make_balance_change(session, account=first, changed_at=utcnow() - timedelta(days=3), delta_total="1000.50")
        make_account(session, debtor=debtor, account_no="API-2", principal="200.00",
                     due_date=today - timedelta(days=100))
        make_account(session, debtor=make_debtor(session, credit_grade="A", region="北京"), account_no="API-3",
                     principal="30.00", due_date=None)
        debtor_id = debtor.id
    return {"debtor_id": debtor_id, "national_id": nid}


@pytest.fixture
def client(use_db, fast_password_hashing):
    from weiwai.web.app import create_app

    with TestClient(create_app(), base_url="https://testserver") as test_client:
        yield test_client


def signed_in(client, role: str):
    assert sign_in(client, role.replace("_", "-")).status_code == 303
    return client


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    return response.json()


def test_summary_serialises_money_as_strings(client, world):
    body = signed_in(client, "finance").get(f"{API}/portfolio/summary").json()
    assert body["totals"] == {
        "key": "total", "accounts": 3, "total_outstanding": "1230.50", "principal_outstanding": "1230.00"
    }
    assert [line["key"] for line in body["by_bucket"]][:2] == ["M0", "M1"]
    assert {line["key"]: line["accounts"] for line in body["by_bucket"]}["M4"] == 1
    assert body["as_of"] == service.today().isoformat()


def test_summary_as_of_a_date(client, world):
    earlier = (service.today() - timedelta(days=50)).isoformat()
    body = signed_in(client, "auditor").get(f"{API}/portfolio/summary", params={"as_of": earlier}).json()
    assert body["as_of"] == earlier
    assert body["delinquent"]["accounts"] == 1  # only API-2 was past due then
    problem(client.get(f"{API}/portfolio/summary", params={"as_of": "yesterday"}), 422, "validation_error")


def test_accounts_list_filters_and_pages(client, world):
    signed_in(client, "operations")
    page = client.get(f"{API}/accounts", params={"limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"]) == (3, 0, 2)
    assert [item["account_no"] for item in page["items"]] == ["API-2", "API-1"]
    assert page["items"][1]["total_outstanding"] == "1000.50" and page["items"][1]["bucket"] == "M1"
    rest = client.get(f"{API}/accounts", params={"limit": 2, "offset": 2}).json()
    assert [item["account_no"] for item in rest["items"]] == ["API-3"]

    filtered = client.get(f"{API}/accounts", params={"credit_grade": "B", "min_dpd": 50}).json()
    assert [item["account_no"] for item in filtered["items"]] == ["API-2"]
    by_balance = client.get(f"{API}/accounts", params={"min_balance": "200.00", "max_balance": "1000.50"}).json()
    assert {item["account_no"] for item in by_balance["items"]} == {"API-1", "API-2"}

    problem(client.get(f"{API}/accounts", params={"limit": 201}), 422, "validation_error")
    problem(client.get(f"{API}/accounts", params={"bucket": "M42"}), 422, "unknown_bucket")


def test_account_and_history(client, world):
    signed_in(client, "compliance")
    account = client.get(f"{API}/accounts/API-2").json()
    assert (account["days_past_due"], account["bucket"], account["principal_outstanding"]) == (100, "M4", "200.00")
    history = client.get(f"{API}/accounts/API-1/history").json()
    assert history["account_no"] == "API-1"
    assert [change["delta_total"] for change in history["changes"]] == ["1000.50"]
    assert history["payments"] == []
    problem(client.get(f"{API}/accounts/NOPE"), 404, "not_found")
    problem(client.get(f"{API}/accounts/NOPE/history"), 404, "not_found")


def test_debtor_is_masked(client, world):
    body = signed_in(client, "auditor").get(f"{API}/debtors/{world['debtor_id']}").json()
    nid = world["national_id"]
    assert body["national_id"] == nid[:3] + "*" * 11 + nid[-4:]
    assert body["phones"] == [{"number": "138****5678", "is_primary": True}]
    assert body["revealed"] is False and body["account_nos"] == ["API-1", "API-2"]


def test_reveal_is_for_admin_compliance_infosec_and_operations_and_always_audited(client, world):
    url = f"{API}/debtors/{world['debtor_id']}/reveal"
    allowed = ["admin", "operations", "compliance", "infosec"]
    for role in allowed:
        signed_in(client, role)
        response = client.post(url, json={"reason": f"{role}: debtor disputes the debt"})
        assert response.status_code == 200, response.text
        assert response.json()["national_id"] == world["national_id"]
        assert response.json()["phones"][0]["number"] == "13812345678"
    for role in ("finance", "auditor"):
        signed_in(client, role)
        problem(client.post(url, json={"reason": "curious"}), 403, "forbidden")
    with session_scope() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal").order_by(AuditEvent.id)).all()
    assert [event.actor for event in events] == [f"user:{role}" for role in allowed]
    assert all(event.entity_id == str(world["debtor_id"]) for event in events)
    assert events[0].details["reason"] == "admin: debtor disputes the debt"


def test_reveal_needs_a_reason(client, world):
    signed_in(client, "operations")
    url = f"{API}/debtors/{world['debtor_id']}/reveal"
    problem(client.post(url, json={}), 422, "validation_error")
    problem(client.post(url, json={"reason": ""}), 422, "validation_error")
    problem(client.post(url, json={"reason": "   "}), 422, "reason_required")
    with session_scope() as session:
        assert session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal")).all() == []


def test_agency_roles_get_403_on_every_portfolio_route(client, world):
    for role in ("agency_manager", "collector"):
        signed_in(client, role)
        _assert_portfolio_is_invisible(client, world["debtor_id"])
        assert client.get(f"{API}/me").json()["role"] == role


def _assert_portfolio_is_invisible(client, debtor: int) -> None:
    reading = [
        ("get", f"{API}/portfolio/summary", None),
        ("get", f"{API}/accounts", None),
        ("get", f"{API}/accounts?limit=9999", None),
        ("get", f"{API}/accounts/API-1", None),
        ("get", f"{API}/accounts/NOPE", None),
        ("get", f"{API}/accounts/API-1/history", None),
        ("get", f"{API}/debtors/{debtor}", None),
        ("get", f"{API}/debtors/999999", None),
    ]
    revealing = [
        ("post", f"{API}/debtors/{debtor}/reveal", {"reason": "x"}),
        ("post", f"{API}/debtors/999999/reveal", {"reason": "x"}),
        ("post", f"{API}/debtors/{debtor}/reveal", {}),
    ]
    for requests in (reading, revealing):
        bodies = set()
        for method, url, payload in requests:
            response = client.request(method, url, json=payload)
            bodies.add(repr(problem(response, 403, "forbidden")))
        # Refused by the route, before anything is looked up: existing and missing things look alike.
        assert len(bodies) == 1


def test_me_describes_the_signed_in_user(client, world):
    body = signed_in(client, "infosec").get(f"{API}/me").json()
    assert body["username"] == "infosec" and body["role"] == "infosec" and body["agency_id"] is None
