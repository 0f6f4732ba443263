"""Number references on SQLite and PostgreSQL: resolving (allowed, refused, out of reach, recorded),
naming a number by its reference in actions and pre-contact checks, and references in handover packages."""

from __future__ import annotations

import csv
import json
import warnings
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from factories_collection import english_messages  # noqa: F401  (autouse)
from factories_compliance import judge  # noqa: F401  (autouse)
from factories_masking import lender, make_masked_world
from weiwai.collection import service
from weiwai.collection.schemas import ActionCreate
from weiwai.collection.service import acting_as
from weiwai.compliance import checks
from weiwai.errors import RuleViolation
from weiwai.portfolio.number_refs import case_debtor
from weiwai.security.models import AuditEvent, Role
from weiwai.web.deps import current_principal, get_session

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.usefixtures("record_compliance")

API = "/api/v1"
AT = datetime(2024, 3, 5, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
MORNING = datetime(2024, 3, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def app(session):
    from weiwai.web.app import create_app

    application = create_app()
    application.dependency_overrides[get_session] = lambda: session
    return application


def client_as(app, principal) -> TestClient:
    app.dependency_overrides[current_principal] = lambda: principal
    return TestClient(app, base_url="https://testserver")


def refs(session, world):
    """(the debtor phone's reference, the contact's) of the world's case."""
    view = case_debtor(session=session, principal=acting_as(None), case_no=world.case.case_no)
    return view.phones[0].number_ref, view.contacts[0].number_ref


def resolve(client, ref, purpose="outbound call"):
    return client.post(f"{API}/number-refs/{ref}/resolve", json={"purpose": purpose})


def test_an_agency_resolves_only_where_its_contract_releases_full_numbers(app, session):
    allowed = make_masked_world(session, masking_policy={"mobile": "full"})
    refused = make_masked_world(session)
    phone_ref, contact_ref = refs(session, allowed)
    answer = resolve(client_as(app, allowed.collector), phone_ref)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"number_ref": phone_ref, "case_no": allowed.case.case_no, "party": "debtor",
                             "number": allowed.phone}
    # The contact's number is ruled by contact_phone, which the contract leaves masked.
    answer = resolve(client_as(app, allowed.token), contact_ref)
    assert answer.status_code == 403 and answer.json()["code"] == "full_number_not_allowed"
    answer = resolve(client_as(app, refused.manager), refs(session, refused)[0])
    assert answer.status_code == 403 and answer.json()["code"] == "full_number_not_allowed"
    assert answer.json()["detail"] and refused.phone not in answer.text


def test_another_agencys_reference_and_an_ended_cases_are_404(app, session):
    mine = make_masked_world(session, masking_policy={"mobile": "full"})
    theirs = make_masked_world(session, masking_policy={"mobile": "full"})
    their_ref = refs(session, theirs)[0]
    missing = resolve(client_as(app, mine.manager), "NRAAAAAAAAAAAAAAAA")
    other = resolve(client_as(app, mine.manager), their_ref)
    assert other.status_code == missing.status_code == 404
    assert other.json()["code"] == missing.json()["code"] == "not_found"
    my_ref = refs(session, mine)[0]
    assert resolve(client_as(app, mine.manager), my_ref).status_code == 200
    mine.case.status = "recalled"
    session.flush()
    assert resolve(client_as(app, mine.manager), my_ref).status_code == 404
    assert resolve(client_as(app, lender(Role.operations)), my_ref).status_code == 404  # not open any more


def test_the_lender_gateway_resolves_open_cases_and_each_resolution_is_recorded(app, session):
    world = make_masked_world(session)
    phone_ref, contact_ref = refs(session, world)
    ops = lender(Role.operations)
    answer = resolve(client_as(app, ops), contact_ref, purpose="dialer call 42")
    assert answer.status_code == 200 and answer.json()["number"] == world.contact_phone
    assert resolve(client_as(app, lender(Role.auditor)), phone_ref).status_code == 403  # no numbers.resolve
    assert client_as(app, ops).post(f"{API}/number-refs/{phone_ref}/resolve", json={}).status_code == 422
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "number.resolve")).all()
    mine = [event for event in events if event.entity_id == contact_ref]
    assert len(mine) == 1 and mine[0].actor == ops.actor
    assert mine[0].details == {"case_no": world.case.case_no, "party": "contact", "purpose": "dialer call 42"}
    assert world.contact_phone not in json.dumps(mine[0].details)


def action(**fields) -> ActionCreate:
    base = {"channel": "phone", "occurred_at": AT - timedelta(hours=1), "party": "debtor", "outcome": "no_answer"}
    return ActionCreate.model_validate({**base, **fields})


def test_an_action_names_its_number_by_reference(session):
    world, other = make_masked_world(session), make_masked_world(session)
    phone_ref, contact_ref = refs(session, world)
    logged = service.log_action(session=session, case_id=world.case.id, data=action(number_ref=phone_ref),
                                actor="user:c", agency_id=world.agency.id, at=AT)
    assert logged.phone_bidx == world.debtor.phones[0].phone_bidx
    with pytest.raises(RuleViolation) as raised:
        service.log_action(session=session, case_id=world.case.id, data=action(number_ref=refs(session, other)[0]),
                           actor="user:c", agency_id=world.agency.id, at=AT)
    assert "number_ref" in raised.value.message and "is not a number reference of this case" in raised.value.message
    with pytest.raises(RuleViolation, match="not one of the debtor's numbers"):  # the contact's, for the debtor
        service.log_action(session=session, case_id=world.case.id, data=action(number_ref=contact_ref),
                           actor="user:c", agency_id=world.agency.id, at=AT)
    with pytest.raises(RuleViolation, match="give the number once"):
        service.log_action(session=session, case_id=world.case.id,
                           data=action(number_ref=phone_ref, phone_id=world.debtor.phones[0].id),
                           actor="user:c", agency_id=world.agency.id, at=AT)


def test_an_action_posted_over_the_api_by_reference(app, session):
    world, other = make_masked_world(session), make_masked_world(session)
    phone_ref = refs(session, world)[0]
    client = client_as(app, world.manager)
    body = {"channel": "phone", "occurred_at": (AT - timedelta(hours=1)).isoformat(), "outcome": "no_answer",
            "number_ref": phone_ref, "line_ref": "L-1"}
    answer = client.post(f"{API}/cases/{world.case.case_no}/actions", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["phone_masked"] == world.phone[:3] + "****" + world.phone[-4:]
    wrong = refs(session, other)[0]
    answer = client.post(f"{API}/cases/{world.case.case_no}/actions", json={**body, "number_ref": wrong})
    assert answer.status_code == 422 and wrong in answer.text


def test_a_contact_check_names_its_number_by_reference(session):
    world, other = make_masked_world(session), make_masked_world(session)
    phone_ref, contact_ref = refs(session, world)
    principal = acting_as(world.agency.id)
    result = checks.check_contact(session=session, principal=principal, case_no=world.case.case_no, channel="phone",
                                  party="debtor", at=MORNING, now=MORNING - timedelta(minutes=30),
                                  number_ref=phone_ref)
    assert result.facts.phone_bidx == world.debtor.phones[0].phone_bidx
    contact = checks.check_contact(session=session, principal=principal, case_no=world.case.case_no,
                                   channel="phone", party="contact", contact_id=world.debtor.contacts[0].id,
                                   at=MORNING, now=MORNING - timedelta(minutes=30), number_ref=contact_ref)
    assert contact.facts.phone_bidx == world.debtor.contacts[0].phone_bidx
    wrong = refs(session, other)[0]
    with pytest.raises(RuleViolation, match=f"number_ref {wrong} is not a number reference of case"):
        checks.check_contact(session=session, principal=principal, case_no=world.case.case_no, channel="phone",
                             party="debtor", at=MORNING, now=MORNING - timedelta(minutes=30), number_ref=wrong)


def test_a_handover_package_carries_references_that_resolve_to_the_cases_numbers(app, session, tmp_path):
    from factories_collection import make_account, make_case, make_debtor, mobile
    from weiwai.handover import service as handover

    world = make_masked_world(session, masking_policy={"national_id": {"mode": "masked", "keep_start": 0,
                                                                       "keep_end": 4}})
    first_phone, second_phone = mobile(), mobile()
    debtor = make_debtor(session, phones=[first_phone, second_phone], contacts=[("甲", "friend", mobile()),
                                                                              ("乙", "other", mobile())])
    two = make_case(session, contract=world.contract, account=make_account(session, debtor=debtor))
    package = handover.create_package(session=session, contract_no=world.contract.contract_no, out_dir=tmp_path,
                                      actor="user:ops", at=AT)
    with open(tmp_path / f"{package.package_no}.csv", encoding="utf-8-sig", newline="") as handle:
        rows = {row["case_no"]: row for row in csv.DictReader(handle)}
    assert {"mobile_ref", "contact_phone_ref"} <= set(next(iter(rows.values())))
    ops = client_as(app, lender(Role.operations))
    row = rows[world.case.case_no]
    assert row["national_id"] == "*" * 14 + world.nid[-4:]  # the contract's masking shape
    assert resolve(ops, row["mobile_ref"]).json()["number"] == world.phone
    assert resolve(ops, row["contact_phone_ref"]).json()["number"] == world.contact_phone
    row = rows[two.case_no]
    phone_refs, contact_refs = row["mobile_ref"].split("; "), row["contact_phone_ref"].split("; ")
    assert len(phone_refs) == 2 and len(contact_refs) == 2
    numbers = [resolve(ops, ref).json()["number"] for ref in phone_refs]
    assert numbers == [first_phone, second_phone]  # primary first
    masked = row["mobile"].split("; ")
    assert [n[:3] + "****" + n[-4:] for n in numbers] == masked  # same order as the numbers
    # The references the package carries are the case's own: the debtor view shows the same.
    view = case_debtor(session=session, principal=acting_as(None), case_no=two.case_no)
    assert [item.number_ref for item in view.phones] == phone_refs
    assert [item.number_ref for item in view.contacts] == contact_refs
