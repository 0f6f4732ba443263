"""Canary records: plausible fake debtors planted in every handover package, and their sightings.

Each package carries `canary_count_for(rows)` canaries (settings canary_min / canary_rows_per_canary
/ canary_max), unique to that agency and that package. A canary looks like the package's own
rows: a case number and an account number of the same form that sort among the real ones
(never a real case's or account's, never another canary's), a name, a valid national ID of
its region, a valid mobile, an address in that region, amounts and days past due near a real
row's; every column of the contract's policy filled, masked where the policy masks. Canaries
are written in both files at the place their case number sorts to; the manifest counts rows
without saying which are canaries. They are never cases, accounts or debtors, so no report
counts them; `HandoverPackage.row_count` is the real cases only.

Any later use of a canary names the agency and package it came from: an action logged or a
contact checked against its case number (the caller gets the answer for an unknown case,
nothing more), or a leaked file traced (weiwai.privacy.leaks).
"""

from __future__ import annotations

import base64
import math
import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session

from weiwai.config import get_settings
from weiwai.db import utcnow
from weiwai.handover.policy import Mode
from weiwai.i18n import _
from weiwai.money import to_fen
from weiwai.placements.models import Case
from weiwai.portfolio import personal_data
from weiwai.portfolio.delinquency import bucket_of, days_past_due
from weiwai.portfolio.models import Account, Debtor, DebtorContact, DebtorPhone
from weiwai.privacy.canary_models import CanaryRecord, CanarySighting
from weiwai.security.masking import mask_name

SOURCES = ("action_api", "action_cli", "action_import", "contact_check", "payment_import", "trace")
# Sources that are a file from outside: a sighting from one is always a suspected leak.
OUTSIDE_SOURCES = frozenset({"trace", "payment_import"})
SAMPLE = 50
_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$")
_PENDING_KEY = "weiwai.canary_sightings_pending"


def canary_count_for(rows: int) -> int:
    """How many canaries a package of `rows` real rows carries."""
    settings = get_settings()
    wanted = max(settings.canary_min, math.ceil(rows / settings.canary_rows_per_canary))
    return min(wanted, settings.canary_max)


def new_number_ref(rng: secrets.SystemRandom | None = None) -> str:
    """A value of the form of a number reference: "NR" and 16 base32 characters."""
    raw = (rng or secrets.SystemRandom()).getrandbits(80).to_bytes(10, "big")
    return "NR" + base64.b32encode(raw).decode("ascii")


# --- planning and planting ----------------------------------------------------------------------


@dataclass
class CanaryPlan:
    """One canary before its package exists: the row values and the record to save."""

    values: dict[str, Any]
    record: dict[str, Any]


@dataclass
class PlantedCanaries:
    plans: list[CanaryPlan]
    policy: dict[str, Mode]
    rows: list[list[object]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.plans)

    def plant(self, rows: Iterable[Sequence[object]]) -> Iterator[Sequence[object]]:
        """The real rows (sorted by case number) with each canary where its case number sorts."""
        fields = list(self.policy)
        pending = sorted((_row(plan.values, self.policy) for plan in self.plans),
                         key=lambda row: str(row[fields.index("case_no")]))
        if "case_no" not in fields:  # a policy always releases case_no; be safe anyway
            yield from rows
            yield from pending
            return
        index = fields.index("case_no")
        position = 0
        for row in rows:
            while position < len(pending) and str(pending[position][index]) < str(row[index]):
                yield pending[position]
                position += 1
            yield row
        yield from pending[position:]

    def save(self, *, session: Session, package) -> list[CanaryRecord]:
        """Record the canaries of `package` (its id is known now) and set its canary_count."""
        records = [CanaryRecord(package_id=package.id, agency_id=package.agency_id, **plan.record)
                   for plan in self.plans]
        session.add_all(records)
        package.canary_count = len(records)
        session.flush()
        return records


def prepare(
    *, session: Session, agency_id: int, case_ids: Sequence[int], policy: dict[str, Mode], as_of: date
) -> PlantedCanaries:
    """Plan the canaries of a package of `case_ids` (to be planted with .plant and saved with .save)."""
    rng = secrets.SystemRandom()
    count = canary_count_for(len(case_ids))
    samples = _samples(session, rng.sample(list(case_ids), min(SAMPLE, len(case_ids))))
    relations = _relations(session, {row.debtor_id for row in samples})
    taken_cases: set[str] = set()
    taken_accounts: set[str] = set()
    taken_ids: set[str] = set()
    taken_phones: set[str] = set()
    plans = []
    from weiwai.demo.portfolio_gen import OVERDUE_REASONS, PortfolioGenerator

    generator = PortfolioGenerator(seed=rng.getrandbits(64), as_of=as_of)
    for _number in range(count):
        template = rng.choice(samples)
        case_no = _fresh_number(session, rng, template.case_no, Case.case_no, CanaryRecord.case_no, taken_cases, 40)
        account_no = _fresh_number(session, rng, template.account_no, Account.account_no, CanaryRecord.account_no,
                                   taken_accounts, 500)
        person = _person(session, generator, template.region, relations, taken_ids, taken_phones)
        plans.append(_plan(rng, template, as_of, case_no, account_no, person, policy,
                           overdue_reasons=OVERDUE_REASONS))
    return PlantedCanaries(plans=plans, policy=policy)


def _samples(session: Session, case_ids: list[int]) -> list:
    return list(session.execute(
        select(Case.case_no, Case.period_ends_on, Account.account_no, Account.product, Account.currency,
               Account.principal_outstanding, Account.interest_outstanding, Account.fee_outstanding,
               Account.penalty_outstanding, Account.due_date, Account.overdue_reason, Debtor.id.label("debtor_id"),
               Debtor.region)
        .join(Account, Case.account_id == Account.id).join(Debtor, Account.debtor_id == Debtor.id)
        .where(Case.id.in_(case_ids))
    ).all())


def _relations(session: Session, debtor_ids: set[int]) -> list[str]:
    if not debtor_ids:
        return []
    return [str(r) for r in session.scalars(
        select(DebtorContact.relation).where(DebtorContact.debtor_id.in_(debtor_ids)))]


def _fresh_number(session, rng, template: str, real_column, canary_column, taken: set[str], spread: int) -> str:
    """A number of the template's form near it (so it sorts among its neighbours), used by nothing."""
    match = _TRAILING_DIGITS.match(template or "")
    prefix, digits = (match.group(1), match.group(2)) if match else ((template or "CN"), "")
    width = max(len(digits), 6)
    base = int(digits) if digits else rng.randrange(10 ** width)
    for attempt in range(60):
        reach = spread * (1 + attempt // 10)
        number = base + rng.randint(-reach, reach)
        if number <= 0 or number >= 10 ** width:
            continue
        candidate = f"{prefix}{number:0{width}d}"
        if candidate in taken or candidate == template:
            continue
        used = session.scalar(select(func.count()).select_from(real_column.class_).where(real_column == candidate))
        used = used or session.scalar(
            select(func.count()).select_from(canary_column.class_).where(canary_column == candidate))
        if not used:
            taken.add(candidate)
            return candidate
    # Numbering with no gap near the template (a batch's cases are numbered densely, and the
    # other agencies' cases hold the rest): take a free number just past the highest in use.
    # Zero-padded numbers of one width compare as text: the greatest string is the highest number.
    highest = base
    for column in (real_column, canary_column):
        used_number = session.scalar(select(func.max(column)).where(
            column.like(f"{prefix}%"), func.length(column) == len(prefix) + width))
        tail = _TRAILING_DIGITS.match(used_number or "")
        if tail and tail.group(1) == prefix and tail.group(2).isdigit():
            highest = max(highest, int(tail.group(2)))
    highest = max([highest, *(int(t[len(prefix):]) for t in taken if t.startswith(prefix) and t[len(prefix):].isdigit())])
    candidate = f"{prefix}{highest + rng.randint(1, max(spread // 4, 2)):0{width}d}"
    taken.add(candidate)
    return candidate


@dataclass(frozen=True)
class _Person:
    name: str
    national_id: str
    mobile: str
    address: str
    region: str
    contact_name: str
    contact_relation: str
    contact_phone: str


def _person(session, generator, region_name: str | None, relations: list[str], taken_ids, taken_phones) -> _Person:
    """A plausible debtor of the template's region, whose ID and numbers are nobody's."""
    from weiwai.demo.regions import REGIONS

    region = next((r for r in REGIONS if region_name and (r.name == region_name or region_name.startswith(r.name))),
                  None)
    while True:
        debtor = generator._debtor()
        if region is not None and debtor["region"] != region.name:
            generated = next(r for r in REGIONS if r.name == debtor["region"])
            debtor["national_id"] = generator._national_id(region)
            debtor["address"] = region.name + region.city + debtor["address"][len(generated.name + generated.city):]
            debtor["region"] = region.name
        contact_phone = debtor["contact_phone"] if relations else ""
        if not _free_person(session, debtor["national_id"], [debtor["mobile"], contact_phone], taken_ids,
                            taken_phones):
            continue
        taken_ids.add(debtor["national_id"])
        taken_phones.update(p for p in (debtor["mobile"], contact_phone) if p)
        return _Person(
            name=debtor["debtor_name"], national_id=debtor["national_id"], mobile=debtor["mobile"],
            address=debtor["address"], region=region_name or debtor["region"],
            contact_name=generator.faker.name() if relations else "",
            contact_relation=generator.rng.choice(relations) if relations else "", contact_phone=contact_phone,
        )


def _free_person(session, national_id: str, phones: list[str], taken_ids, taken_phones) -> bool:
    phones = [p for p in phones if p]
    if national_id in taken_ids or taken_phones & set(phones):
        return False
    id_index = personal_data.national_id_index(national_id)
    indexes = [personal_data.phone_index(p) for p in phones]
    checks = [
        select(Debtor.id).where(Debtor.national_id_bidx == id_index),
        select(CanaryRecord.id).where(CanaryRecord.national_id_bidx == id_index),
        select(DebtorPhone.id).where(DebtorPhone.phone_bidx.in_(indexes)),
        select(DebtorContact.id).where(DebtorContact.phone_bidx.in_(indexes)),
        select(CanaryRecord.id).where(or_(CanaryRecord.phone_bidx.in_(indexes),
                                          CanaryRecord.contact_phone_bidx.in_(indexes))),
    ]
    return not any(session.execute(check.limit(1)).first() for check in checks)


def _scaled(rng, amount: Decimal | None) -> Decimal:
    if not amount:
        return Decimal("0.00")
    return to_fen(Decimal(amount) * Decimal(str(round(rng.uniform(0.6, 1.4), 4))))


def _plan(rng, template, as_of: date, case_no: str, account_no: str, person: _Person, policy: dict[str, Mode],
          *, overdue_reasons) -> CanaryPlan:
    bands = get_settings().buckets
    principal = _scaled(rng, template.principal_outstanding)
    interest = _scaled(rng, template.interest_outstanding)
    fee = Decimal(template.fee_outstanding or 0)
    penalty = _scaled(rng, template.penalty_outstanding)
    total = principal + interest + fee + penalty
    template_total = sum(Decimal(getattr(template, f) or 0) for f in (
        "principal_outstanding", "interest_outstanding", "fee_outstanding", "penalty_outstanding"))
    if template.due_date is not None:
        real_dpd = days_past_due(due_date=template.due_date, as_of=as_of, outstanding=template_total)
        dpd = max(1, real_dpd + rng.randint(-3, 3))
        if bucket_of(dpd, bands) != bucket_of(real_dpd, bands):
            dpd = max(1, real_dpd)
    else:
        dpd = rng.randint(1, 90)
    due_date = as_of - timedelta(days=dpd)
    mobile_ref = new_number_ref(rng) if "mobile_ref" in policy else None
    contact_ref = new_number_ref(rng) if "contact_phone_ref" in policy and person.contact_phone else None
    overdue_reason = template.overdue_reason if template.overdue_reason and rng.random() < 0.5 \
        else rng.choice(overdue_reasons)
    values: dict[str, Any] = {
        "case_no": case_no, "account_no": account_no, "debtor_name": person.name,
        "national_id": person.national_id, "mobile": person.mobile, "contact_name": person.contact_name,
        "contact_relation": person.contact_relation, "contact_phone": person.contact_phone,
        "address": person.address, "product": template.product, "currency": template.currency,
        "principal_outstanding": principal, "interest_outstanding": interest, "fee_outstanding": fee,
        "penalty_outstanding": penalty, "total_outstanding": total, "due_date": due_date, "dpd": dpd,
        "bucket": bucket_of(dpd, bands), "overdue_reason": overdue_reason, "region": person.region,
        "period_ends_on": template.period_ends_on, "mobile_ref": mobile_ref or "",
        "contact_phone_ref": contact_ref or "",
    }
    record = {
        "case_no": case_no, "account_no": account_no, "name": person.name,
        "national_id_enc": personal_data.seal(person.national_id, personal_data.NATIONAL_ID),
        "national_id_bidx": personal_data.national_id_index(person.national_id),
        "phone_enc": personal_data.seal(person.mobile, personal_data.DEBTOR_PHONE),
        "phone_bidx": personal_data.phone_index(person.mobile),
        "contact_phone_enc": (personal_data.seal(person.contact_phone, personal_data.CONTACT_PHONE)
                              if person.contact_phone else None),
        "contact_phone_bidx": personal_data.phone_index(person.contact_phone) if person.contact_phone else None,
        "address_enc": personal_data.seal(person.address, personal_data.ADDRESS),
        "region": person.region[:40], "product": template.product, "currency": template.currency,
        "principal_outstanding": principal, "interest_outstanding": interest, "fee_outstanding": fee,
        "penalty_outstanding": penalty, "due_date": due_date, "dpd": dpd,
        "mobile_ref": mobile_ref, "contact_phone_ref": contact_ref,
        "extra": {"contact_name": person.contact_name, "contact_relation": person.contact_relation,
                  "overdue_reason": overdue_reason, "bucket": values["bucket"],
                  "period_ends_on": template.period_ends_on.isoformat() if template.period_ends_on else None},
    }
    return CanaryPlan(values=values, record=record)


_MASKS = {
    "national_id": personal_data.MASKS[personal_data.NATIONAL_ID],
    "mobile": personal_data.MASKS[personal_data.DEBTOR_PHONE],
    "contact_phone": personal_data.MASKS[personal_data.CONTACT_PHONE],
    "address": personal_data.MASKS[personal_data.ADDRESS],
    "debtor_name": mask_name,
    "contact_name": mask_name,
}


def _row(values: dict[str, Any], policy: dict[str, Mode]) -> list[object]:
    """The canary's row in policy order, masked as the policy masks the real rows."""
    row = []
    for name, mode in policy.items():
        value = values.get(name, "")
        if mode == Mode.masked and name in _MASKS and value:
            value = _MASKS[name](value)
        row.append(value)
    return row


# --- sightings ----------------------------------------------------------------------------------


def canary_by_case_no(*, session: Session, case_no: str) -> CanaryRecord | None:
    return session.scalars(select(CanaryRecord).where(CanaryRecord.case_no == case_no)).first()


def record_sighting(
    *, session: Session, canary: CanaryRecord, source: str, actor: str, actor_agency_id: int | None,
    details: dict | None = None, durable: bool = False,
) -> CanarySighting:
    """Record one use of a canary and tell the lender (a notice no agency sees).

    `durable`: the caller is about to fail (an unknown case answered): the sighting is
    written again on its own after the caller's transaction rolls back.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown sighting source {source!r}")
    payload = _payload(session, canary, source, actor, actor_agency_id, details or {})
    sighting = _write(session, payload)
    if durable:
        bind = session.get_bind()
        session.info.setdefault(_PENDING_KEY, []).append((bind, payload))
    return sighting


def note_unknown_case(
    *, session: Session, case_no: str, source: str, actor: str, agency_id: int | None
) -> CanarySighting | None:
    """On the not-found path of a case number: a sighting if it is a canary's (the caller still answers
    exactly as for an unknown case)."""
    canary = canary_by_case_no(session=session, case_no=case_no)
    if canary is None:
        return None
    return record_sighting(session=session, canary=canary, source=source, actor=actor, actor_agency_id=agency_id,
                           details={"case_no": canary.case_no}, durable=True)


def note_unknown_cases(
    *, session: Session, case_nos: Iterable[str], source: str, actor: str, agency_id: int | None
) -> list[CanarySighting]:
    """As note_unknown_case for many numbers at once (a file's unknown case numbers)."""
    numbers = sorted(set(case_nos))
    found: list[CanaryRecord] = []
    for start in range(0, len(numbers), 1000):
        found.extend(session.scalars(select(CanaryRecord).where(CanaryRecord.case_no.in_(numbers[start:start + 1000]))))
    return [record_sighting(session=session, canary=canary, source=source, actor=actor, actor_agency_id=agency_id,
                            details={"case_no": canary.case_no}, durable=True) for canary in found]


def _payload(session, canary: CanaryRecord, source: str, actor: str, actor_agency_id: int | None,
             details: dict) -> dict:
    from weiwai.agencies.models import Agency
    from weiwai.handover.models import HandoverPackage

    package_no = session.scalar(select(HandoverPackage.package_no).where(HandoverPackage.id == canary.package_id))
    codes = dict(session.execute(select(Agency.id, Agency.code).where(
        Agency.id.in_([i for i in (canary.agency_id, actor_agency_id) if i is not None]))).all())
    suspected = source in OUTSIDE_SOURCES or actor_agency_id != canary.agency_id
    return {
        "canary_id": canary.id, "source": source, "actor": actor[:100], "actor_agency_id": actor_agency_id,
        "leak_suspected": suspected, "seen_at": utcnow(),
        "details": {**details, "package_no": package_no, "agency": codes.get(canary.agency_id),
                    "actor_agency": codes.get(actor_agency_id) if actor_agency_id else None},
        "canary_agency_id": canary.agency_id,
    }


def _write(session: Session, payload: dict) -> CanarySighting:
    from weiwai.compliance.models import LenderNotice

    fields = {k: v for k, v in payload.items() if k != "canary_agency_id"}
    sighting = CanarySighting(**fields)
    session.add(sighting)
    details = payload["details"]
    message = _("canary record of package {package} (agency {agency}) seen: {source} by {actor}{where}").format(
        package=details.get("package_no"), agency=details.get("agency"), source=payload["source"],
        actor=payload["actor"],
        where=_(" of agency {code}").format(code=details["actor_agency"]) if details.get("actor_agency") else "",
    )
    if payload["leak_suspected"]:
        message += _(" — leak suspected")
    # agency_id None: a lender-only notice, so neither agency learns of the canary from it.
    session.add(LenderNotice(kind="canary_sighting", agency_id=None, message=message,
                             details={"canary_id": payload["canary_id"], "source": payload["source"],
                                      "leak_suspected": payload["leak_suspected"],
                                      "canary_agency_id": payload["canary_agency_id"], **details}))
    session.flush()
    return sighting


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction) -> None:
    """The caller failed (an unknown case was answered): keep its canary sightings anyway."""
    if previous_transaction.parent is not None or previous_transaction.nested:
        return
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    for bind, payload in pending:
        with Session(bind=bind, join_transaction_mode="create_savepoint") as own:
            _write(own, payload)
            own.commit()


def list_sightings(
    *, session: Session, agency_id: int | None = None, leak_suspected: bool | None = None, offset: int = 0,
    limit: int = 50,
) -> tuple[list[tuple[CanarySighting, CanaryRecord]], int]:
    """Sightings, newest first, optionally of the canaries of one agency."""
    query = select(CanarySighting, CanaryRecord).join(CanaryRecord, CanarySighting.canary_id == CanaryRecord.id)
    if agency_id is not None:
        query = query.where(CanaryRecord.agency_id == agency_id)
    if leak_suspected is not None:
        query = query.where(CanarySighting.leak_suspected.is_(leak_suspected))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(CanarySighting.seen_at.desc(), CanarySighting.id.desc())
                           .offset(offset).limit(limit)).all()
    return [(row[0], row[1]) for row in rows], total
