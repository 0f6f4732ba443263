"""Recording one payment over HTTP (POST /api/v1/payments), on SQLite and PostgreSQL:
posted exactly as the payments import posts it, attributed as imported payments are,
idempotent on txn_id and on Idempotency-Key, for finance and admin only."""

from __future__ import annotations

import warnings
from decimal import Decimal

import pytest
from factories_settlement import make_account, make_case, make_contract, utc
from sqlalchemy import func, select

from weiwai.i18n import using_locale
from weiwai.payments.models import PaymentAttribution
from weiwai.payments.service import attribute_payments
from weiwai.portfolio.importing import import_payments
from weiwai.portfolio.models import Account, AccountBalanceChange, Payment
from weiwai.security.models import AuditEvent, Role
from weiwai.web.deps import Principal, current_principal, get_session

with warnings.catch_warnings():  # starlette's TestClient warns about its httpx dependency
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

API = "/api/v1"


@pytest.fixture(autouse=True)
def english():
    with using_locale("en"):
        yield


@pytest.fixture
def client(session):
    from weiwai.web.app import create_app

    app = create_app()
    app.dependency_overrides[get_session] = lambda: session

    def sign_in(role: Role, agency_id: int | None = None, username: str = "fiona") -> None:
        principal = Principal(user_id=1, username=username, role=role, agency_id=agency_id)
        app.dependency_overrides[current_principal] = lambda: principal

    sign_in(Role.finance)
    with TestClient(app) as test_client:
        test_client.sign_in = sign_in
        yield test_client


@pytest.fixture
def twins(session):
    """Two accounts owing the same, each with an open case of the same agency."""
    contract = make_contract(session)
    accounts = [make_account(session, principal="1000.00", interest="50.00", fee="10.00", penalty="5.00")
                for _ in range(2)]
    for account in accounts:
        make_case(session, account=account, contract=contract, placed_at=utc(2024, 1, 1, 2))
    return contract, accounts


def payment(account_no: str, **overrides) -> dict:
    body = {"txn_id": "API-TXN-0001", "account_no": account_no, "amount": "300.00",
            "paid_at": "2024-03-05T10:00:00+08:00", "channel": "bank_transfer"}
    body.update(overrides)
    return body


def test_a_payment_is_posted_and_attributed_exactly_as_an_imported_one(session, client, twins, tmp_path):
    contract, (imported, entered) = twins
    path = tmp_path / "payments.csv"
    path.write_text(f"txn_id,account_no,amount,paid_at,channel\nFILE-0001,{imported.account_no},300.00,"
                    "2024-03-05 10:00,bank_transfer\n", encoding="utf-8")
    import_payments(session=session, path=path, actor="user:fiona")
    response = client.post(f"{API}/payments", json=payment(entered.account_no, txn_id="API-0001"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount"] == "300.00" and body["status"] == "posted"
    assert body["applied"] == {"fee": "10.00", "penalty": "5.00", "interest": "50.00", "principal": "235.00",
                               "credit": "0.00"}
    # Attribution is the daily job's, as for imports (after expiry).
    assert body["attribution"] is None
    attribute_payments(session=session)

    def facts(account_no: str, txn_id: str):
        account = session.scalars(select(Account).where(Account.account_no == account_no)).one()
        paid = session.scalars(select(Payment).where(Payment.txn_id == txn_id)).one()
        attribution = session.scalars(select(PaymentAttribution).where(PaymentAttribution.payment_id == paid.id)).one()
        history = session.scalars(select(AccountBalanceChange).where(
            AccountBalanceChange.account_id == account.id, AccountBalanceChange.reference == txn_id)).one()
        return (
            (account.principal_outstanding, account.interest_outstanding, account.fee_outstanding,
             account.penalty_outstanding, account.credit_balance, account.last_payment_date, account.status,
             account.version),
            (paid.amount, paid.paid_at, paid.channel, paid.applied_fee, paid.applied_penalty, paid.applied_interest,
             paid.applied_principal, paid.applied_credit, paid.status),
            (attribution.kind, attribution.agency_id, attribution.amount),
            (history.delta_total, history.principal_outstanding, history.source, history.changed_by),
        )

    assert facts(imported.account_no, "FILE-0001") == facts(entered.account_no, "API-0001")
    detail = client.get(f"{API}/payments/API-0001").json()
    assert detail["attribution"]["kind"] == "case" and detail["attribution"]["agency_id"] == contract.agency_id
    recorded = session.scalars(select(AuditEvent).where(AuditEvent.action == "payment.recorded")).one()
    assert recorded.actor == "user:fiona" and recorded.details["txn_id"] == "API-0001"


def test_the_same_txn_id_is_the_same_payment_and_other_details_conflict(session, client, twins):
    _contract, (account, other) = twins
    first = client.post(f"{API}/payments", json=payment(account.account_no))
    again = client.post(f"{API}/payments", json=payment(account.account_no, amount="300"))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    for changed in ({"amount": "300.01"}, {"account_no": other.account_no}, {"channel": "alipay"},
                    {"paid_at": "2024-03-05T10:00:01+08:00"}):
        conflict = client.post(f"{API}/payments", json={**payment(account.account_no), **changed})
        assert conflict.status_code == 409 and conflict.json()["code"] == "txn_id_conflict", changed
    assert session.scalar(select(func.count()).select_from(Payment).where(Payment.txn_id == "API-TXN-0001")) == 1
    session.refresh(account)
    assert account.total_outstanding == Decimal("765.00")


def test_the_idempotency_key_replays_the_first_answer(session, client, twins):
    _contract, (account, _other) = twins
    key = {"Idempotency-Key": "fin-2024-03-05-1"}
    first = client.post(f"{API}/payments", json=payment(account.account_no), headers=key)
    again = client.post(f"{API}/payments", json=payment(account.account_no), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    reused = client.post(f"{API}/payments", json=payment(account.account_no, txn_id="API-TXN-0002"), headers=key)
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize("changes", [
    {"amount": "0"}, {"amount": "-5.00"}, {"amount": "10.001"}, {"amount": "abc"},
    {"paid_at": "2024-03-05T10:00:00"},  # no offset
    {"paid_at": "2999-01-01T00:00:00+08:00"}, {"paid_at": "1999-12-31T00:00:00+08:00"},
    {"txn_id": ""}, {"txn_id": "has space"}, {"txn_id": "T" * 65}, {"channel": "c" * 33},
    {"unknown": "field"},
])
def test_invalid_payments_are_refused_with_nothing_written(session, client, twins, changes):
    _contract, (account, _other) = twins
    response = client.post(f"{API}/payments", json=payment(account.account_no, **changes))
    assert response.status_code == 422 and response.json()["code"] == "validation_error", response.text
    assert session.scalar(select(func.count()).select_from(Payment)) == 0


def test_an_unknown_account_is_refused(session, client):
    response = client.post(f"{API}/payments", json=payment("NO-SUCH-ACCOUNT"))
    assert response.status_code == 422 and response.json()["code"] == "unknown_account"


@pytest.mark.parametrize("role", [Role.operations, Role.auditor, Role.compliance, Role.agency_manager,
                                  Role.collector])
def test_only_finance_and_admin_record_payments(session, client, twins, role):
    _contract, (account, _other) = twins
    client.sign_in(role, agency_id=1 if role in (Role.agency_manager, Role.collector) else None)
    assert client.post(f"{API}/payments", json=payment(account.account_no)).status_code == 403
    client.sign_in(Role.admin, username="ada")
    assert client.post(f"{API}/payments", json=payment(account.account_no)).status_code == 201


def test_the_payment_list_is_a_page(session, client, twins):
    _contract, (account, other) = twins
    for number, target in enumerate((account, account, other), start=1):
        assert client.post(f"{API}/payments", json=payment(target.account_no, txn_id=f"P-{number}",
                                                               amount="10.00")).status_code == 201
    page = client.get(f"{API}/payments", params={"limit": 2}).json()
    assert (page["total"], page["offset"], page["limit"], len(page["items"])) == (3, 0, 2, 2)
    mine = client.get(f"{API}/payments", params={"account_no": account.account_no}).json()
    assert mine["total"] == 2
