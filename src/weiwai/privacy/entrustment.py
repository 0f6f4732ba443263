"""Entrustment records (PIPL art. 21): one per contract, the authority on what an agency may process.

An entrustment is recorded from the contract's entrustment terms when the contract is
drafted (and re-recorded while the contract is a draft and its terms change); from then
on the entrustment record is authoritative: changing it (API/CLI) bumps its version and
is audited with the values before and after, while the contract keeps the terms as they
were drafted. It ends when its contract is terminated or its term ends (daily job).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from weiwai.agencies.fields import InputSchema, LongText, ShortText, unique_in_order
from weiwai.agencies.models import Contract, ContractStatus
from weiwai.agencies.lifecycle import check_allowed
from weiwai.db import utcnow
from weiwai.errors import Conflict, NotFound, RuleViolation
from weiwai.i18n import _
from weiwai.privacy.categories import normalise_categories
from weiwai.privacy.models import Entrustment, EntrustmentStatus
from weiwai.security import audit

ENTRUSTMENT_TRANSITIONS: dict[EntrustmentStatus, frozenset[EntrustmentStatus]] = {
    EntrustmentStatus.in_force: frozenset({EntrustmentStatus.ended}),
    EntrustmentStatus.ended: frozenset(),
}
# Fields that a change may touch, and that the audit event shows before and after.
TERM_FIELDS = ("purpose", "duration", "processing_method", "data_categories", "protection_measures",
               "sub_entrustment_allowed", "sub_processors", "retention_days")

SubProcessor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CategoryName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class EntrustmentUpdate(InputSchema):
    """A change of the entrustment's terms; omitted fields stay as they are."""

    purpose: LongText | None = None
    duration: ShortText | None = None
    processing_method: LongText | None = None
    data_categories: list[CategoryName] | None = Field(default=None, min_length=1, max_length=50)
    protection_measures: LongText | None = None
    sub_entrustment_allowed: bool | None = None
    sub_processors: list[SubProcessor] | None = Field(default=None, max_length=50)
    retention_days: int | None = Field(default=None, ge=0, le=3650)

    @field_validator("sub_processors")
    @classmethod
    def _no_repeats(cls, value):
        return unique_in_order(value) if value is not None else value


class EntrustmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    contract_id: int
    contract_no: str | None = None
    agency_id: int
    purpose: str
    duration: str
    processing_method: str
    data_categories: list[str]
    protection_measures: str
    sub_entrustment_allowed: bool
    sub_processors: list[str]
    retention_days: int
    status: EntrustmentStatus
    version: int
    recorded_by: str
    recorded_at: datetime
    ended_at: datetime | None
    end_reason: str | None


def check_sub_processors(allowed: bool, sub_processors: list[str]) -> None:
    """Sub-entrustment (转委托) needs the lender's consent: no sub-processors unless allowed."""
    if sub_processors and not allowed:
        raise RuleViolation(
            _("sub-processors are listed but sub-entrustment is not allowed (sub_entrustment_allowed)"),
            code="sub_entrustment_not_allowed",
        )


def record_for_contract(*, session: Session, contract: Contract, actor: str) -> Entrustment:
    """Record the contract's entrustment from its terms (or re-record it while the contract is a draft)."""
    values = {
        "purpose": contract.entrustment_purpose,
        "duration": contract.entrustment_duration,
        "processing_method": contract.entrustment_processing_method,
        "data_categories": normalise_categories(list(contract.entrustment_data_categories or [])),
        "protection_measures": contract.entrustment_protection_measures,
        "retention_days": contract.retention_days,
    }
    existing = session.scalar(select(Entrustment).where(Entrustment.contract_id == contract.id))
    if existing is None:
        entrustment = Entrustment(contract_id=contract.id, agency_id=contract.agency_id, recorded_by=actor,
                                  sub_entrustment_allowed=False, sub_processors=[], **values)
        session.add(entrustment)
        session.flush()
        audit.record(session=session, actor=actor, action="entrustment.recorded", entity="entrustment",
                     entity_id=entrustment.id, details={"contract_no": contract.contract_no, **values})
        return entrustment
    if contract.status != ContractStatus.draft:
        return existing
    return _apply(session, existing, values, actor)


def get_entrustment(*, session: Session, entrustment_id: int) -> Entrustment:
    found = session.get(Entrustment, entrustment_id)
    if found is None:
        raise NotFound(_("no entrustment {ref}").format(ref=entrustment_id))
    return found


def entrustment_of_contract(*, session: Session, contract_id: int) -> Entrustment | None:
    return session.scalar(select(Entrustment).where(Entrustment.contract_id == contract_id))


def list_entrustments(*, session: Session, agency_id: int | None = None, status: EntrustmentStatus | None = None,
                      offset: int = 0, limit: int = 50) -> tuple[list[Entrustment], int]:
    """Entrustments, newest first, optionally of one agency or in one status."""
    query = select(Entrustment)
    if agency_id is not None:
        query = query.where(Entrustment.agency_id == agency_id)
    if status is not None:
        query = query.where(Entrustment.status == EntrustmentStatus(status).value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Entrustment.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def update_entrustment(*, session: Session, entrustment: Entrustment, data: EntrustmentUpdate,
                       actor: str) -> Entrustment:
    """Change the terms of an entrustment in force; version bumped, audited before and after."""
    if entrustment.status != EntrustmentStatus.in_force:
        raise Conflict(_("entrustment {ref} has ended and can no longer be changed").format(ref=entrustment.id))
    changes = data.model_dump(exclude_unset=True)
    for name, value in list(changes.items()):
        if value is None:
            raise RuleViolation(_("{field} cannot be empty").format(field=name))
    if "data_categories" in changes:
        changes["data_categories"] = normalise_categories(changes["data_categories"])
    if not changes:
        raise RuleViolation(_("nothing to change"))
    return _apply(session, entrustment, changes, actor)


def _apply(session: Session, entrustment: Entrustment, changes: dict, actor: str) -> Entrustment:
    allowed = changes.get("sub_entrustment_allowed", entrustment.sub_entrustment_allowed)
    check_sub_processors(allowed, changes.get("sub_processors", entrustment.sub_processors or []))
    before = {name: getattr(entrustment, name) for name in changes}
    changed = {name: value for name, value in changes.items() if before[name] != value}
    if not changed:
        return entrustment
    for name, value in changed.items():
        setattr(entrustment, name, value)
    try:
        session.flush()
    except Exception as exc:  # StaleDataError: changed concurrently
        from sqlalchemy.orm.exc import StaleDataError

        if isinstance(exc, StaleDataError):
            raise Conflict(_("someone else changed this record at the same time; reload and try again")) from exc
        raise
    audit.record(session=session, actor=actor, action="entrustment.changed", entity="entrustment",
                 entity_id=entrustment.id,
                 details={"version": entrustment.version, "before": {k: before[k] for k in changed},
                          "after": changed})
    return entrustment


def end_entrustment(*, session: Session, entrustment: Entrustment, reason: str, actor: str,
                    at: datetime | None = None) -> Entrustment:
    """End the entrustment (its contract terminated or its term over); no new data release under it."""
    check_allowed(ENTRUSTMENT_TRANSITIONS, entrustment.status, EntrustmentStatus.ended)
    entrustment.status = EntrustmentStatus.ended
    entrustment.ended_at = at or utcnow()
    entrustment.end_reason = reason
    session.flush()
    audit.record(session=session, actor=actor, action="entrustment.ended", entity="entrustment",
                 entity_id=entrustment.id, details={"contract_id": entrustment.contract_id, "reason": reason})
    return entrustment


def end_for_contract(*, session: Session, contract: Contract, reason: str, actor: str) -> None:
    """End the contract's entrustment if it is in force (the contract was terminated)."""
    entrustment = entrustment_of_contract(session=session, contract_id=contract.id)
    if entrustment is not None and entrustment.status == EntrustmentStatus.in_force:
        end_entrustment(session=session, entrustment=entrustment, reason=reason, actor=actor)


def end_lapsed(*, session: Session, on: date, actor: str) -> int:
    """End every entrustment in force whose contract is terminated or whose term ended before `on`."""
    lapsed = select(Contract.id).where(
        (Contract.status == ContractStatus.terminated.value) | (Contract.ends_on < on))
    ids = list(session.scalars(select(Entrustment.id).where(
        Entrustment.status == EntrustmentStatus.in_force.value, Entrustment.contract_id.in_(lapsed))))
    if not ids:
        return 0
    session.execute(
        update(Entrustment).where(Entrustment.id.in_(ids))
        .values(status=EntrustmentStatus.ended.value, ended_at=utcnow(),
                end_reason=_("contract terminated or its term ended"), version=Entrustment.version + 1)
        .execution_options(synchronize_session=False)
    )
    audit.record(session=session, actor=actor, action="entrustment.ended", entity="entrustment", entity_id=None,
                 details={"entrustment_ids": ids, "reason": "contract terminated or term ended",
                          "on": on.isoformat()})
    return len(ids)


def in_force_entrustment(*, session: Session, contract: Contract) -> Entrustment:
    """The contract's entrustment in force; RuleViolation if there is none (no data may leave)."""
    entrustment = entrustment_of_contract(session=session, contract_id=contract.id)
    if entrustment is None or entrustment.status != EntrustmentStatus.in_force:
        raise RuleViolation(
            _("contract {contract} has no entrustment in force (PIPL art. 21): no personal data may be "
              "released under it").format(contract=contract.contract_no),
            code="no_entrustment",
        )
    return entrustment
