"""Test data made directly through the ORM: debtors with sealed personal data, phones,
contacts, accounts, balance history, payments, agencies and users.

Every factory takes the session first and flushes, so ids are set; none commits.
Numbers that must be unique (national IDs, phones, account numbers) come from a counter.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency, AgencyStatus
from weiwai.portfolio import personal_data
from weiwai.portfolio.identity import national_id_check_char
from weiwai.portfolio.models import (
    Account,
    AccountBalanceChange,
    AccountStatus,
    BalanceChangeSource,
    Debtor,
    DebtorContact,
    DebtorPhone,
    Payment,
)

_serial = itertools.count(1)

TEST_PASSWORD = "correct-horse-battery-staple"


def national_id(region_code: str = "110101") -> str:
    """A valid 18-character national ID, unique within the test run."""
    serial = next(_serial)
    # A thousand sequence numbers per birth date, then the next day.
    birth = date(1970, 1, 1) + timedelta(days=serial // 1000)
    first17 = f"{region_code}{birth:%Y%m%d}{serial % 1000:03d}"
    return first17 + national_id_check_char(first17)


def mobile() -> str:
    """A valid mainland mobile number, unique within the test run."""
    return f"138{next(_serial):08d}"


def make_debtor(
    session: Session,
    *,
    name: str = "张三",
    national_id_value: str | None = None,
    address: str | None = "广东省深圳市南山区科技园路1号",
    region: str = "广东",
    credit_grade: str = "B",
    phones: list[str] | None = None,
    contacts: list[tuple[str, str, str]] | None = None,
    **flags: bool,
) -> Debtor:
    """A debtor; `contacts` are (name, relation, phone). Flags: disputed=True, …"""
    nid = national_id_value or national_id()
    debtor = Debtor(
        name=name,
        national_id_enc=personal_data.seal(nid, personal_data.NATIONAL_ID),
        national_id_bidx=personal_data.national_id_index(nid),
        address_enc=personal_data.seal(address, personal_data.ADDRESS) if address else None,
        region=region,
        credit_grade=credit_grade,
        **flags,
    )
    for position, number in enumerate(phones if phones is not None else [mobile()]):
        debtor.phones.append(
            DebtorPhone(
                phone_enc=personal_data.seal(number, personal_data.DEBTOR_PHONE),
                phone_bidx=personal_data.phone_index(number),
                is_primary=position == 0,
            )
        )
    for contact_name, relation, number in contacts or []:
        debtor.contacts.append(
            DebtorContact(
                name=contact_name,
                relation=relation,
                phone_enc=personal_data.seal(number, personal_data.CONTACT_PHONE),
                phone_bidx=personal_data.phone_index(number),
            )
        )
    session.add(debtor)
    session.flush()
    return debtor


def make_account(
    session: Session,
    *,
    debtor: Debtor | None = None,
    account_no: str | None = None,
    product: str = "cash_loan",
    principal: Decimal | str = "1000.00",
    interest: Decimal | str = "0.00",
    fee: Decimal | str = "0.00",
    penalty: Decimal | str = "0.00",
    due_date: date | None = date(2024, 1, 1),
    status: AccountStatus = AccountStatus.open,
    original_amount: Decimal | str | None = None,
) -> Account:
    """An account (and a debtor for it unless given)."""
    debtor = debtor or make_debtor(session)
    account = Account(
        account_no=account_no or f"AC{next(_serial):08d}",
        debtor_id=debtor.id,
        product=product,
        original_amount=Decimal(original_amount if original_amount is not None else principal),
        principal_outstanding=Decimal(principal),
        interest_outstanding=Decimal(interest),
        fee_outstanding=Decimal(fee),
        penalty_outstanding=Decimal(penalty),
        due_date=due_date,
        status=status,
    )
    session.add(account)
    session.flush()
    return account


def make_balance_change(
    session: Session,
    *,
    account: Account,
    changed_at: datetime,
    delta_total: Decimal | str,
    source: BalanceChangeSource = BalanceChangeSource.import_,
    reference: str | None = "accounts.csv",
) -> AccountBalanceChange:
    """A balance-history row carrying the account's current components."""
    change = AccountBalanceChange(
        account_id=account.id,
        source=source,
        reference=reference,
        principal_outstanding=account.principal_outstanding,
        interest_outstanding=account.interest_outstanding,
        fee_outstanding=account.fee_outstanding,
        penalty_outstanding=account.penalty_outstanding,
        due_date=account.due_date,
        delta_total=Decimal(delta_total),
        changed_at=changed_at,
        changed_by="test",
    )
    session.add(change)
    session.flush()
    return change


def make_payment(
    session: Session, *, account: Account, amount: Decimal | str, paid_at: datetime | None = None
) -> Payment:
    """A posted payment applied wholly to principal."""
    payment = Payment(
        txn_id=f"TX{next(_serial):010d}",
        account_id=account.id,
        amount=Decimal(amount),
        paid_at=paid_at or datetime(2024, 2, 1, 8, 0, tzinfo=UTC),
        channel="bank_transfer",
        applied_principal=Decimal(amount),
    )
    session.add(payment)
    session.flush()
    return payment


def make_agency(session: Session, *, code: str | None = None, status: AgencyStatus = AgencyStatus.active) -> Agency:
    """An agency with just enough filled in to exist."""
    serial = next(_serial)
    agency = Agency(
        code=code or f"AG{serial:04d}",
        legal_name=f"测试催收服务有限公司{serial}",
        uscc=f"91440300{serial:010d}",
        regions_served=["广东"],
        capacity_cases=1000,
        capacity_balance=Decimal("10000000.00"),
        status=status,
    )
    session.add(agency)
    session.flush()
    return agency


def make_user(
    session: Session,
    *,
    username: str | None = None,
    role: str = "operations",
    password: str = TEST_PASSWORD,
    agency_id: int | None = None,
):
    """A user created through the security service (argon2 hash and all)."""
    from weiwai.security.service import create_user

    if role in ("agency_manager", "collector") and agency_id is None:
        agency_id = make_agency(session).id
    return create_user(
        session=session,
        username=username or f"user{next(_serial)}",
        display_name="测试用户",
        role=role,
        password=password,
        agency_id=agency_id,
    )


def csrf_from(html: str) -> str:
    """The CSRF token of a rendered form."""
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field in the page"
    return found.group(1)


def sign_in(client, username: str, password: str = TEST_PASSWORD, next_path: str = "/"):
    """Sign a test client in through the login form; returns the form's response.

    Like a browser: loads the form for its CSRF token first; once signed in, the client
    sends the session's token (X-CSRF-Token) with every request, as htmx does.
    """
    client.headers.pop("X-CSRF-Token", None)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": password, "next": next_path, "csrf_token": token},
        follow_redirects=False,
    )
    if "x-csrf-token" in response.headers:
        client.headers["X-CSRF-Token"] = response.headers["x-csrf-token"]
    return response


def use_cheap_password_hashing(monkeypatch) -> None:
    """Cheap Argon2id parameters, for end-to-end tests that create many users.

    The real parameters are covered by the security integration tests; here they would
    only make every test wait.
    """
    from weiwai.security import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def fast_password_hashing(monkeypatch):
    """The same as a fixture, for test modules that import it."""
    use_cheap_password_hashing(monkeypatch)
