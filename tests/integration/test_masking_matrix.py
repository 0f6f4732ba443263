"""The masking matrix: role × contract masking policy × field, as GET /cases/{case_no}/debtor shows it.

For each of the eight roles and an agency's API token, and a contract without a masking
policy, one that releases full mobile numbers and one that hides the national ID, every
field is full, masked or hidden exactly as docs/masking.md says; the plaintext of a field
appears in the answer only where the field is full. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import warnings

import pytest
from sqlalchemy import select

from factories_collection import english_messages  # noqa: F401  (autouse)
from factories_masking import ADDRESS, make_masked_world, principal_of
from weiwai.security.models import AuditEvent
from weiwai.web.deps import current_principal, get_session

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

API = "/api/v1"
LENDER = ("admin", "operations", "compliance", "infosec", "finance", "auditor")
PRINCIPALS = (*LENDER, "agency_manager", "collector", "token")
POLICIES = {
    "none": {},
    "full_mobile": {"mobile": "full"},
    "hide_national_id": {"national_id": "hidden"},
}
FIELDS = ("debtor_name", "national_id", "mobile", "contact_name", "contact_phone", "address")
F, M, H = "full", "masked", "hidden"

# The expected matrix, written out (not computed from the code under test).
LENDER_ROW = {"debtor_name": F, "national_id": M, "mobile": M, "contact_name": F, "contact_phone": M, "address": M}
MANAGER_ROW = {"debtor_name": M, "national_id": M, "mobile": M, "contact_name": M, "contact_phone": M, "address": M}
COLLECTOR_ROW = {**MANAGER_ROW, "national_id": H}
EXPECTED: dict[tuple[str, str], dict[str, str]] = {}
for _principal in PRINCIPALS:
    for _policy in POLICIES:
        if _principal in LENDER:
            row = dict(LENDER_ROW)  # a contract's policy is for the agency's principals only
        else:
            row = dict(COLLECTOR_ROW if _principal == "collector" else MANAGER_ROW)
            if _policy == "full_mobile":
                row["mobile"] = F
            if _policy == "hide_national_id":
                row["national_id"] = H
        EXPECTED[(_principal, _policy)] = row


@pytest.fixture
def app(session):
    from weiwai.web.app import create_app

    application = create_app()
    application.dependency_overrides[get_session] = lambda: session
    return application


def client_as(app, principal) -> TestClient:
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app, base_url="https://testserver")


def shown(body: dict, field: str) -> tuple[str | None, str | None]:
    """(what is shown, the whole-number field where there is one) of `field` in the answer."""
    if field == "debtor_name":
        return body["name"], None
    if field in ("national_id", "address"):
        return body[field], None
    if field == "mobile":
        return body["phones"][0]["display"], body["phones"][0]["number"]
    if field == "contact_name":
        return body["contacts"][0]["name"], None
    return body["contacts"][0]["display"], body["contacts"][0]["number"]


@pytest.mark.parametrize("policy", list(POLICIES))
@pytest.mark.parametrize("who", PRINCIPALS)
def test_the_masking_matrix(app, session, who, policy):
    world = make_masked_world(session, masking_policy=POLICIES[policy])
    plaintext = {"debtor_name": world.name, "national_id": world.nid, "mobile": world.phone,
                 "contact_name": world.contact_name, "contact_phone": world.contact_phone, "address": ADDRESS}
    answer = client_as(app, principal_of(world, who)).get(f"{API}/cases/{world.case.case_no}/debtor")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    text = json.dumps(body, ensure_ascii=False)
    expected = EXPECTED[(who, policy)]
    for field in FIELDS:
        value, number = shown(body, field)
        state = expected[field]
        if state == F:
            assert value == plaintext[field], (field, value)
            if number is not None or field in ("mobile", "contact_phone"):
                assert number == plaintext[field]
        elif state == M:
            assert value is not None and "*" in value and value != plaintext[field], (field, value)
            assert number is None
        else:
            assert value is None and number is None, (field, value)
        if state != F:
            assert plaintext[field] not in text, (field, "plaintext leaked")
        assert body["policy"][field] == state or (isinstance(body["policy"][field], dict)
                                                  and body["policy"][field]["mode"] == state == M)
    if expected["national_id"] == M:
        assert world.nid[6:14] not in text  # the birth date is never part of a mask
    # Every number carries a reference, whatever the policy.
    assert all(item["number_ref"].startswith("NR") and len(item["number_ref"]) == 18
               for item in [*body["phones"], *body["contacts"]])


def test_each_view_is_recorded_without_personal_data(app, session):
    world = make_masked_world(session, masking_policy={"mobile": "full"})
    client = client_as(app, world.collector)
    assert client.get(f"{API}/cases/{world.case.case_no}/debtor").status_code == 200
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "debtor.view",
                                                      AuditEvent.entity_id == world.case.case_no)).all()
    assert len(events) == 1
    event = events[0]
    assert event.actor == world.collector.actor
    recorded = json.dumps(event.details, ensure_ascii=False)
    assert event.details["case_no"] == world.case.case_no and event.details["full"] == ["mobile"]
    for secret in (world.phone, world.nid, world.contact_phone, ADDRESS, world.name):
        assert secret not in recorded


def test_references_are_stable_for_the_case_and_new_for_a_new_case(app, session):
    from factories_collection import make_case

    world = make_masked_world(session)
    client = client_as(app, world.manager)
    first = client.get(f"{API}/cases/{world.case.case_no}/debtor").json()
    again = client.get(f"{API}/cases/{world.case.case_no}/debtor").json()
    assert first["phones"] == again["phones"] and first["contacts"] == again["contacts"]
    from weiwai.portfolio.models import Account

    world.case.status = "recalled"  # re-placement: the old case ended, a new one begins
    session.flush()
    replaced = make_case(session, contract=world.contract, account=session.get(Account, world.case.account_id))
    other = client.get(f"{API}/cases/{replaced.case_no}/debtor").json()
    assert other["phones"][0]["number_ref"] != first["phones"][0]["number_ref"]


def test_out_of_reach_cases_are_404(app, session):
    mine, theirs = make_masked_world(session), make_masked_world(session)
    client = client_as(app, mine.manager)
    assert client.get(f"{API}/cases/{theirs.case.case_no}/debtor").status_code == 404
    mine.case.status = "recalled"
    session.flush()
    assert client.get(f"{API}/cases/{mine.case.case_no}/debtor").status_code == 404
