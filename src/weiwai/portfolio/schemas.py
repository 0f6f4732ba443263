"""What the portfolio read side returns: debtors (masked unless revealed), accounts as of a
date, balance history and payments, and pages of accounts.

Money is Decimal in Python and a string with exactly two decimals in JSON ("1234.50"),
so no client ever parses a balance into a float by accident.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from weiwai.money import to_fen
from weiwai.portfolio.models import AccountStatus

Money = Annotated[Decimal, PlainSerializer(lambda value: str(to_fen(value)), return_type=str, when_used="json")]


class PhoneRead(BaseModel):
    number: str
    is_primary: bool


class ContactRead(BaseModel):
    name: str
    relation: str
    phone: str


class DebtorRead(BaseModel):
    """A debtor with national ID, address and phone numbers masked unless `revealed`."""

    id: int
    name: str
    national_id: str
    address: str | None
    region: str
    time_zone: str
    credit_grade: str
    # Names of the flags that are set: deceased, bankrupt, in_litigation, disputed…
    flags: list[str]
    phones: list[PhoneRead]
    contacts: list[ContactRead]
    account_nos: list[str]
    revealed: bool


class AccountRead(BaseModel):
    """An account with its days past due and bucket computed as of `as_of`."""

    account_no: str
    debtor_id: int
    debtor_name: str
    region: str
    credit_grade: str
    product: str
    currency: str
    status: AccountStatus
    original_amount: Money
    principal_outstanding: Money
    interest_outstanding: Money
    fee_outstanding: Money
    penalty_outstanding: Money
    total_outstanding: Money
    credit_balance: Money
    due_date: date | None
    last_payment_date: date | None
    overdue_reason: str | None
    as_of: date
    days_past_due: int
    bucket: str


class AccountFilters(BaseModel):
    """Filters of the account list; every one is applied in SQL."""

    # Printable, at most 100 characters (weiwai.web.params.REF_PATTERN: no NUL for PostgreSQL).
    bucket: str | None = Field(default=None, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    credit_grade: str | None = Field(default=None, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    region: str | None = Field(default=None, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    product: str | None = Field(default=None, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    status: AccountStatus | None = None
    # Bounded to what the database can compare (a money column is NUMERIC(18,2)).
    min_balance: Decimal | None = Field(default=None, ge=0, max_digits=20)
    max_balance: Decimal | None = Field(default=None, ge=0, max_digits=20)
    min_dpd: int | None = Field(default=None, ge=0, le=1_000_000)
    max_dpd: int | None = Field(default=None, ge=0, le=1_000_000)

    @field_validator("bucket", "credit_grade", "region", "product", mode="before")
    @classmethod
    def _blank_means_any(cls, value: object) -> object:
        # An empty <select> or text box in the web form means "no filter".
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("status", "min_balance", "max_balance", "min_dpd", "max_dpd", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


class AccountPage(BaseModel):
    items: list[AccountRead]
    total: int
    offset: int
    limit: int


class BalanceChangeRead(BaseModel):
    source: str
    reference: str | None
    principal_outstanding: Money
    interest_outstanding: Money
    fee_outstanding: Money
    penalty_outstanding: Money
    total_outstanding: Money
    delta_total: Money
    due_date: date | None
    changed_at: datetime
    changed_by: str | None


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    txn_id: str
    amount: Money
    paid_at: datetime
    channel: str | None
    status: str
    applied_fee: Money
    applied_penalty: Money
    applied_interest: Money
    applied_principal: Money
    applied_credit: Money


class AccountHistory(BaseModel):
    """Balance changes and payments of one account, newest first."""

    account_no: str
    changes: list[BalanceChangeRead]
    payments: list[PaymentRead]


class RevealRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


# --- the debtor of a case under a masking policy, and number references ------------------------


class CaseNumberRead(BaseModel):
    """One number of the debtor or of a contact person: its reference, and as much of it as the policy shows."""

    number_ref: str = Field(description="Opaque reference (NR…): log actions and ask checks by it; "
                                        "a dialer has the lender's gateway resolve it.")
    party: str = Field(description="debtor or contact.")
    relation: str | None = Field(description="A contact person's relation to the debtor.")
    name: str | None = Field(description="A contact person's name, per the contact_name rule (null: hidden).")
    display: str | None = Field(description="The number as the policy shows it (null: hidden).")
    number: str | None = Field(description="The whole number: only where the policy's rule for the field is full.")
    is_primary: bool


class CaseDebtorRead(BaseModel):
    """A case's debtor as the caller may see it: each field per the effective masking policy (null: hidden)."""

    case_no: str
    name: str | None
    national_id: str | None
    address: str | None
    region: str
    phones: list[CaseNumberRead]
    contacts: list[CaseNumberRead]
    policy: dict[str, str | dict[str, object]] = Field(
        description='The effective rule of each field: "hidden", "full" or {"mode": "masked", "keep_start": n, '
                    '"keep_end": m}.')


class ResolveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00]+$",
                         description="Why the number is needed (e.g. the call being placed); recorded.")


class ResolvedNumber(BaseModel):
    number_ref: str
    case_no: str
    party: str
    number: str
