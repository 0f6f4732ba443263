"""The rows of a handover package: one per case, only the fields the policy releases.

Rows are read in chunks with plain column queries (no ORM objects), and only the
encrypted values the policy releases are decrypted, masked unless the field is "full".
A debtor's several phones, and several contact persons, share one cell each, joined by
"; " in a stable order (primary phone first; contacts in the order they were named), so
the n-th contact name, relation and phone belong together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.config import get_settings
from weiwai.handover.policy import Mode
from weiwai.placements.models import Case
from weiwai.portfolio import personal_data
from weiwai.portfolio.delinquency import bucket_of, days_past_due
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone
from weiwai.security.masking import mask_name

CHUNK = 1000
SEPARATOR = "; "
CONTACT_FIELDS = frozenset({"contact_name", "contact_relation", "contact_phone"})


def package_rows(
    *, session: Session, case_ids: Sequence[int], policy: dict[str, Mode], as_of: date
) -> Iterator[list[object]]:
    """Yield each case's values in policy order (case ids are kept in the order given)."""
    fields = list(policy)
    bands = get_settings().buckets
    # Tens of thousands of rows share a few hundred DPD values.
    bucket = cache(lambda dpd: bucket_of(dpd, bands))
    for start in range(0, len(case_ids), CHUNK):
        chunk = case_ids[start : start + CHUNK]
        # Plain rows from the connection: no ORM bookkeeping for tens of thousands of rows.
        records = {row.case_id: row for row in session.connection().execute(_case_query(chunk))}
        debtor_ids = {row.debtor_id for row in records.values()}
        phones = _phones(session, debtor_ids, policy) if "mobile" in policy else {}
        contacts = _contacts(session, debtor_ids, policy) if CONTACT_FIELDS & set(policy) else {}
        for case_id in chunk:
            record = records[case_id]
            values = _values(record, policy, as_of, bucket)
            values["mobile"] = SEPARATOR.join(phones.get(record.debtor_id, []))
            for field in CONTACT_FIELDS:
                values[field] = SEPARATOR.join(item[field] for item in contacts.get(record.debtor_id, []))
            yield [values[field] for field in fields]


def _case_query(case_ids: Sequence[int]):
    return (
        select(
            Case.id.label("case_id"),
            Case.case_no,
            Case.period_ends_on,
            Account.account_no,
            Account.product,
            Account.currency,
            Account.principal_outstanding,
            Account.interest_outstanding,
            Account.fee_outstanding,
            Account.penalty_outstanding,
            Account.due_date,
            Account.overdue_reason,
            Debtor.id.label("debtor_id"),
            Debtor.name.label("debtor_name"),
            Debtor.national_id_enc,
            Debtor.address_enc,
            Debtor.region,
        )
        .join(Account, Case.account_id == Account.id)
        .join(Debtor, Account.debtor_id == Debtor.id)
        .where(Case.id.in_(case_ids))
    )


def _open(envelope: bytes | None, context: str, mode: Mode) -> str:
    if envelope is None:
        return ""
    return personal_data.open_value(envelope, context, reveal=mode == Mode.full)


def _name(value: str, mode: Mode) -> str:
    return value if mode == Mode.full else mask_name(value)


def _values(record, policy: dict[str, Mode], as_of: date, bucket) -> dict[str, object]:
    total = (
        record.principal_outstanding + record.interest_outstanding
        + record.fee_outstanding + record.penalty_outstanding
    )
    dpd = days_past_due(due_date=record.due_date, as_of=as_of, outstanding=total)
    values: dict[str, object] = {
        "case_no": record.case_no,
        "account_no": record.account_no,
        "product": record.product,
        "currency": record.currency,
        "principal_outstanding": record.principal_outstanding,
        "interest_outstanding": record.interest_outstanding,
        "fee_outstanding": record.fee_outstanding,
        "penalty_outstanding": record.penalty_outstanding,
        "total_outstanding": total,
        "due_date": record.due_date,
        "dpd": dpd,
        "bucket": bucket(dpd),
        "overdue_reason": record.overdue_reason,
        "region": record.region,
        "period_ends_on": record.period_ends_on,
    }
    # Personal data is decrypted only when the policy releases it.
    if "debtor_name" in policy:
        values["debtor_name"] = _name(record.debtor_name, policy["debtor_name"])
    if "national_id" in policy:
        values["national_id"] = _open(record.national_id_enc, personal_data.NATIONAL_ID, policy["national_id"])
    if "address" in policy:
        values["address"] = _open(record.address_enc, personal_data.ADDRESS, policy["address"])
    return values


def _phones(session: Session, debtor_ids: set[int], policy: dict[str, Mode]) -> dict[int, list[str]]:
    rows = session.execute(
        select(DebtorPhone.debtor_id, DebtorPhone.phone_enc)
        .where(DebtorPhone.debtor_id.in_(debtor_ids))
        .order_by(DebtorPhone.debtor_id, DebtorPhone.is_primary.desc(), DebtorPhone.id)
    )
    phones: dict[int, list[str]] = defaultdict(list)
    for debtor_id, envelope in rows:
        phones[debtor_id].append(_open(envelope, personal_data.DEBTOR_PHONE, policy["mobile"]))
    return phones


def _contacts(session: Session, debtor_ids: set[int], policy: dict[str, Mode]) -> dict[int, list[dict[str, str]]]:
    rows = session.execute(
        select(DebtorContact.debtor_id, DebtorContact.name, DebtorContact.relation, DebtorContact.phone_enc)
        .where(DebtorContact.debtor_id.in_(debtor_ids))
        .order_by(DebtorContact.debtor_id, DebtorContact.id)
    )
    contacts: dict[int, list[dict[str, str]]] = defaultdict(list)
    for debtor_id, name, relation, envelope in rows:
        contacts[debtor_id].append({
            "contact_name": _name(name, policy["contact_name"]) if "contact_name" in policy else "",
            "contact_relation": str(relation),
            "contact_phone": (
                _open(envelope, personal_data.CONTACT_PHONE, policy["contact_phone"])
                if "contact_phone" in policy else ""
            ),
        })
    return contacts
