"""The rows of a handover package: one per case, only the fields the policy releases.

Rows are read in chunks with plain column queries (no ORM objects), and only the
encrypted values the policy releases are decrypted, masked unless the field is "full".
A "masked" field follows the contract's masking policy where it states a rule for the
field (its shape, or an empty cell where it hides the field; weiwai.security.masking_policy),
and the default mask otherwise.
A debtor's several phones, and several contact persons, share one cell each, joined by
"; " in a stable order (primary phone first; contacts in the order they were named), so
the n-th contact name, relation and phone belong together. The number references
(mobile_ref, contact_phone_ref) are joined in the same order as the numbers; missing ones
are created for the chunk's cases in bulk first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Contract
from weiwai.config import get_settings
from weiwai.handover.policy import REF_FIELDS, Mode
from weiwai.placements.models import Case
from weiwai.portfolio import personal_data
from weiwai.portfolio.delinquency import bucket_of, days_past_due
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone
from weiwai.portfolio.number_refs import ensure_refs, refs_of_cases
from weiwai.security.masking import mask_name
from weiwai.security.masking_policy import FieldMode, FieldRule, apply_rule, validate_policy

CHUNK = 1000
SEPARATOR = "; "
CONTACT_FIELDS = frozenset({"contact_name", "contact_relation", "contact_phone", "contact_phone_ref"})
# Sealed field -> its context (weiwai.portfolio.personal_data).
SEALED = {"national_id": personal_data.NATIONAL_ID, "address": personal_data.ADDRESS,
          "mobile": personal_data.DEBTOR_PHONE, "contact_phone": personal_data.CONTACT_PHONE}


def package_rows(
    *, session: Session, case_ids: Sequence[int], policy: dict[str, Mode], as_of: date
) -> Iterator[list[object]]:
    """Yield each case's values in policy order (case ids are kept in the order given)."""
    fields = list(policy)
    bands = get_settings().buckets
    # Tens of thousands of rows share a few hundred DPD values.
    bucket = cache(lambda dpd: bucket_of(dpd, bands))
    masking: dict[int, dict[str, FieldRule]] = {}  # contract id -> its masking policy's rules
    wants_refs = bool(REF_FIELDS & set(policy))
    for start in range(0, len(case_ids), CHUNK):
        chunk = case_ids[start : start + CHUNK]
        # Plain rows from the connection: no ORM bookkeeping for tens of thousands of rows.
        records = {row.case_id: row for row in session.connection().execute(_case_query(chunk))}
        debtor_ids = {row.debtor_id for row in records.values()}
        for record in records.values():
            if record.contract_id not in masking:
                masking[record.contract_id] = validate_policy(record.masking_policy or {})
        phones = _phones(session, debtor_ids, policy) if {"mobile", "mobile_ref"} & set(policy) else {}
        contacts = _contacts(session, debtor_ids, policy) if CONTACT_FIELDS & set(policy) else {}
        refs = {}
        if wants_refs:
            ensure_refs(session=session, case_ids=chunk)
            refs = refs_of_cases(session=session, case_ids=chunk)
        for case_id in chunk:
            record = records[case_id]
            rules = masking[record.contract_id]
            values = _values(record, policy, rules, as_of, bucket)
            by_phone = by_contact = {}
            if wants_refs:
                targets = refs[case_id].values()
                by_phone = {t.debtor_phone_id: t.ref for t in targets if t.debtor_phone_id is not None}
                by_contact = {t.debtor_contact_id: t.ref for t in targets if t.debtor_contact_id is not None}
            own = phones.get(record.debtor_id, [])
            if "mobile" in policy:
                values["mobile"] = SEPARATOR.join(
                    _shown("mobile", plain, policy["mobile"], rules) for _, plain in own)
            values["mobile_ref"] = SEPARATOR.join(by_phone.get(phone_id, "") for phone_id, _ in own)
            people = contacts.get(record.debtor_id, [])
            values["contact_name"] = SEPARATOR.join(
                _name(item["name"], policy["contact_name"], rules, "contact_name") for item in people
            ) if "contact_name" in policy else ""
            values["contact_relation"] = SEPARATOR.join(item["relation"] for item in people)
            values["contact_phone"] = SEPARATOR.join(
                _shown("contact_phone", item["phone"], policy["contact_phone"], rules) for item in people
            ) if "contact_phone" in policy else ""
            values["contact_phone_ref"] = SEPARATOR.join(by_contact.get(item["id"], "") for item in people)
            yield [values[field] for field in fields]


def _case_query(case_ids: Sequence[int]):
    return (
        select(
            Case.id.label("case_id"),
            Case.case_no,
            Case.period_ends_on,
            Case.contract_id,
            Contract.masking_policy,
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
        .join(Contract, Case.contract_id == Contract.id)
        .join(Account, Case.account_id == Account.id)
        .join(Debtor, Account.debtor_id == Debtor.id)
        .where(Case.id.in_(case_ids))
    )


def _shown(field: str, plain: str | None, mode: Mode, rules: dict[str, FieldRule]) -> str:
    """A decrypted value as the package releases it: whole ("full"), or masked by the contract's shape or the default."""
    if plain is None:
        return ""
    if mode == Mode.full:
        return plain
    rule = rules.get(field)
    if rule is None or rule.mode == FieldMode.full:
        return personal_data.MASKS[SEALED[field]](plain)
    return apply_rule(field, rule, plain) or ""


def _open(envelope: bytes | None, field: str, mode: Mode, rules: dict[str, FieldRule]) -> str:
    if envelope is None:
        return ""
    rule = rules.get(field)
    if mode == Mode.masked and rule is not None and rule.mode == FieldMode.hidden:
        return ""  # not even decrypted
    return _shown(field, personal_data.open_value(envelope, SEALED[field], reveal=True), mode, rules)


def _name(value: str, mode: Mode, rules: dict[str, FieldRule], field: str) -> str:
    if mode == Mode.full:
        return value
    rule = rules.get(field)
    if rule is None or rule.mode == FieldMode.full:
        return mask_name(value)
    return apply_rule(field, rule, value) or ""


def _values(record, policy: dict[str, Mode], rules: dict[str, FieldRule], as_of: date, bucket) -> dict[str, object]:
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
        values["debtor_name"] = _name(record.debtor_name, policy["debtor_name"], rules, "debtor_name")
    if "national_id" in policy:
        values["national_id"] = _open(record.national_id_enc, "national_id", policy["national_id"], rules)
    if "address" in policy:
        values["address"] = _open(record.address_enc, "address", policy["address"], rules)
    return values


def _phones(session: Session, debtor_ids: set[int], policy: dict[str, Mode]) -> dict[int, list[tuple[int, str | None]]]:
    """Each debtor's phones in package order: (phone id, the number decrypted when "mobile" is released)."""
    decrypt = "mobile" in policy
    rows = session.execute(
        select(DebtorPhone.debtor_id, DebtorPhone.id, DebtorPhone.phone_enc)
        .where(DebtorPhone.debtor_id.in_(debtor_ids))
        .order_by(DebtorPhone.debtor_id, DebtorPhone.is_primary.desc(), DebtorPhone.id)
    )
    phones: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
    for debtor_id, phone_id, envelope in rows:
        plain = personal_data.open_value(envelope, personal_data.DEBTOR_PHONE, reveal=True) if decrypt else None
        phones[debtor_id].append((phone_id, plain))
    return phones


def _contacts(session: Session, debtor_ids: set[int], policy: dict[str, Mode]) -> dict[int, list[dict[str, object]]]:
    decrypt = "contact_phone" in policy
    rows = session.execute(
        select(DebtorContact.debtor_id, DebtorContact.id, DebtorContact.name, DebtorContact.relation,
               DebtorContact.phone_enc)
        .where(DebtorContact.debtor_id.in_(debtor_ids))
        .order_by(DebtorContact.debtor_id, DebtorContact.id)
    )
    contacts: dict[int, list[dict[str, object]]] = defaultdict(list)
    for debtor_id, contact_id, name, relation, envelope in rows:
        contacts[debtor_id].append({
            "id": contact_id,
            "name": name,
            "relation": str(relation),
            "phone": personal_data.open_value(envelope, personal_data.CONTACT_PHONE, reveal=True) if decrypt else None,
        })
    return contacts
