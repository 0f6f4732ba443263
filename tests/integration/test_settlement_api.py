"""The payments and statements API over HTTP (SQLite and PostgreSQL), signed in through
the login form: roles, filters, reversal, statement visibility for agency managers and
the verified XLSX download."""

from __future__ import annotations

import hashlib
import warnings
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from factories import (
    fast_password_hashing,  # noqa: F401 (fixture)
    make_user,
    sign_in,
)
from factories_settlement import make_account, make_case, make_contract, pay
from sqlalchemy import select

from weiwai.db import session_scope
from weiwai.payments.service import attribute_payments
from weiwai.security.models import AuditEvent
from weiwai.settlement.service import run_period
from weiwai.settlement.statements import issue_statement

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def world(use_db, fast_password_hashing, tmp_path):
    """Two agencies with a statement each for 2024-01 (one issued), a direct payment, users."""
    with session_scope() as session:
        mine, theirs = make_contract(session), make_contract(session)
        txns = []
        for contract, amount in ((mine, "100.00"), (theirs, "200.00")):
            account = make_account(session)
            make_case(session, account=account, contract=contract, placed_at=local(2023, 12, 1))
            txns.append(pay(session, account=account, amount=amount, paid_at=local(2024, 1, 10)).txn_id)
        direct = pay(session, account=make_account(session), amount="5.00", paid_at=local(2024, 1, 11)).txn_id
        attribute_payments(session=session)
        drafted = {s.agency_id: s for s in run_period(session=session, period="2024-01").statements}
        issued = issue_statement(session=session, statement_id=drafted[mine.agency_id].id, actor="finance",
                                 out_dir=tmp_path)
        for role in ("finance", "admin", "auditor", "operations", "compliance"):
            make_user(session, username=role, role=role)
        make_user(session, username="manager", role="agency_manager", agency_id=mine.agency_id)
        make_user(session, username="collector", role="collector", agency_id=mine.agency_id)
        return {
            "txns": txns, "direct": direct,
            "issued_id": issued.statement.id, "issued_sha": issued.statement.document_sha256,
            "draft_id": drafted[theirs.agency_id].id, "mine": mine.agency_id, "theirs": theirs.agency_id,
        }


@pytest.fixture
def client(use_db, fast_password_hashing):
    from weiwai.web.app import create_app

    with TestClient(create_app(), base_url="https://testserver") as test_client:
        yield test_client


def as_user(client, username: str):
    assert sign_in(client, username).status_code == 303
    return client


def test_payments_list_filters_and_roles(client, world):
    for username in ("finance", "operations", "auditor", "admin"):
        page = as_user(client, username).get(f"{API}/payments").json()
        assert page["total"] == 3
    finance = as_user(client, "finance")
    direct = finance.get(f"{API}/payments", params={"kind": "direct"}).json()
    assert [item["txn_id"] for item in direct["items"]] == [world["direct"]]
    by_agency = finance.get(f"{API}/payments", params={"agency_id": world["mine"]}).json()
    assert [item["txn_id"] for item in by_agency["items"]] == [world["txns"][0]]
    assert by_agency["items"][0]["attribution"]["kind"] == "case"
    assert by_agency["items"][0]["amount"] == "100.00"  # money as a string
    paged = finance.get(f"{API}/payments", params={"limit": 2, "offset": 2}).json()
    assert (paged["total"], len(paged["items"])) == (3, 1)
    assert as_user(client, "compliance").get(f"{API}/payments").json()["total"] == 3  # every lender role reads
    for username in ("manager", "collector"):
        assert as_user(client, username).get(f"{API}/payments").status_code == 403


def test_payment_detail_and_reversal(client, world):
    txn = world["txns"][0]
    detail = as_user(client, "auditor").get(f"{API}/payments/{txn}").json()
    assert detail["applied"]["principal"] == "100.00"
    assert [line["kind"] for line in detail["commission"]] == ["commission"]
    assert detail["commission"][0]["statement_no"].startswith("CS-202401-")
    body = {"reason": "退票 bounced", "reversed_at": "2024-02-03T10:00:00+08:00", "reference": "BANK-9"}
    assert client.post(f"{API}/payments/{txn}/reversal", json=body).status_code == 403
    reversed_ = as_user(client, "finance").post(f"{API}/payments/{txn}/reversal", json=body)
    assert reversed_.status_code == 201, reversed_.text
    result = reversed_.json()
    assert result["status"] == "reversed" and result["reversal"]["recorded_by"] == "user:finance"
    assert [(line["kind"], line["amount"], line["period"]) for line in result["commission"]] == [
        ("commission", "15.00", "2024-01"), ("clawback", "-15.00", "2024-02")]
    again = client.post(f"{API}/payments/{txn}/reversal", json=body)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert client.get(f"{API}/payments/NOPE").status_code == 404
    assert client.post(f"{API}/payments/{txn}/reversal", json={"reason": ""}).status_code == 422


def test_statements_for_lender_roles(client, world):
    for username in ("finance", "admin", "auditor"):
        page = as_user(client, username).get(f"{API}/statements").json()
        assert page["total"] == 2
    finance = as_user(client, "finance")
    issued = finance.get(f"{API}/statements/{world['issued_id']}").json()
    assert (issued["status"], issued["total"], issued["document_sha256"]) == ("issued", "15.00", world["issued_sha"])
    drafts = finance.get(f"{API}/statements", params={"status": "draft"}).json()
    assert [item["id"] for item in drafts["items"]] == [world["draft_id"]]
    for username in ("operations", "compliance"):  # every lender role reads statements
        assert as_user(client, username).get(f"{API}/statements").json()["total"] == 2
    assert as_user(client, "collector").get(f"{API}/statements").status_code == 403


def test_agency_manager_sees_only_their_issued_statements(client, world):
    manager = as_user(client, "manager")
    page = manager.get(f"{API}/statements").json()
    assert [item["id"] for item in page["items"]] == [world["issued_id"]]
    assert manager.get(f"{API}/statements", params={"agency_id": world["theirs"]}).json()["total"] == 0
    assert manager.get(f"{API}/statements", params={"status": "draft"}).json()["total"] == 0
    assert manager.get(f"{API}/statements/{world['issued_id']}").status_code == 200
    for other in (world["draft_id"], 999_999):
        assert manager.get(f"{API}/statements/{other}").status_code == 404
        assert manager.get(f"{API}/statements/{other}/xlsx").status_code == 404


def test_xlsx_download_matches_the_issued_hash_and_is_audited(client, world):
    response = as_user(client, "manager").get(f"{API}/statements/{world['issued_id']}/xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert hashlib.sha256(response.content).hexdigest() == world["issued_sha"]
    with session_scope() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "commission_statement", AuditEvent.actor == "user:manager")
        ).all()
        assert [event.action for event in events] == ["export"]
    draft = as_user(client, "finance").get(f"{API}/statements/{world['draft_id']}/xlsx")
    assert draft.status_code == 200 and draft.content[:2] == b"PK"
