"""End of entrustment: handover copies due for deletion, deletion certificates, overdue blocks.

When a case released in a handover package ends (recalled, expired, returned, paid,
settled, closed: any status outside OPEN_CASE_STATUSES), the agency's access ends at once
(weiwai.security.scope) and its copy of the case's data is due for deletion `retention_days`
after the day the case ended (the entrustment's retention days, PIPL art. 21 and 47).
`create_due_rows` records those dues set-based and idempotently; the agency certifies the
deletion (`submit_certificate`); dues still uncertified after their day are overdue, and
an agency with overdue dues gets a placement block `deletion_overdue` (and a lender
notice) that is lifted by "system" as soon as nothing is overdue any more.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import Date, String, and_, cast, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session

from weiwai.agencies.fields import InputSchema, LongText, ShortText, unique_in_order
from weiwai.agencies.models import Agency, Contract
from weiwai.clock import default_zone, today_local
from weiwai.compliance.models import PlacementBlock
from weiwai.compliance.thresholds import ensure_block, lift_block
from weiwai.db import UtcDateTime, utcnow
from weiwai.errors import NotFound, RuleViolation
from weiwai.handover.models import HandoverPackage, HandoverPackageCase
from weiwai.i18n import _
from weiwai.placements.models import OPEN_CASE_STATUSES, Case
from weiwai.privacy.models import DeletionCertificate, DeletionDue, DeletionMethod, Entrustment
from weiwai.security import audit

BLOCK_REASON = "deletion_overdue"
SYSTEM = "system"
Id = Annotated[int, Field(ge=1, le=2_147_483_647)]


class CertificateCreate(InputSchema):
    """An agency's deletion certificate for some of its packages."""

    agency_id: Id | None = None  # lender staff say which agency; an agency user's own is implied
    package_ids: list[Id] = Field(min_length=1, max_length=1000)
    deleted_on: date
    method: DeletionMethod
    signed_by_name: ShortText
    signed_by_title: ShortText
    statement: LongText
    evidence_ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] | None = None


class CertificateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    certificate_no: str
    agency_id: int
    package_ids: list[int]
    deleted_on: date
    method: DeletionMethod
    signed_by_name: str
    signed_by_title: str
    statement: str
    evidence_ref: str | None
    rows_certified: int
    submitted_by: str
    submitted_at: datetime


class DueRead(BaseModel):
    id: int
    package_id: int
    package_no: str
    case_id: int
    case_no: str
    agency_id: int
    case_ended_at: datetime
    due_on: date
    certificate_id: int | None
    overdue: bool


def _due_on_expression(session: Session, on: date):
    """SQL: the lender's local day the case ended plus the retention days (entrustment's, else contract's)."""
    retention = func.coalesce(Entrustment.retention_days, Contract.retention_days)
    zone = default_zone()
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(zone.key, Case.ended_at), Date) + retention
    # SQLite has no time zones: the zone's offset on `on` (exact for zones without daylight saving).
    offset = int(datetime.combine(on, time(12), tzinfo=zone).utcoffset().total_seconds())
    return func.date(Case.ended_at, f"{offset:+d} seconds",
                     literal("+").concat(cast(retention, String)).concat(" days"))


def create_due_rows(*, session: Session, on: date | None = None) -> int:
    """Record a deletion due for every released case that has ended and has none yet (set-based)."""
    on = on or today_local()
    stamp = utcnow()
    ended = and_(Case.ended_at.is_not(None), Case.status.not_in([str(s) for s in OPEN_CASE_STATUSES]))
    already = exists().where(DeletionDue.package_id == HandoverPackageCase.package_id,
                             DeletionDue.case_id == HandoverPackageCase.case_id)
    source = (
        select(HandoverPackageCase.package_id, HandoverPackageCase.case_id, HandoverPackage.agency_id,
               Case.ended_at, _due_on_expression(session, on), literal(stamp, UtcDateTime()))
        .select_from(HandoverPackageCase)
        .join(HandoverPackage, HandoverPackage.id == HandoverPackageCase.package_id)
        .join(Case, Case.id == HandoverPackageCase.case_id)
        .join(Contract, Contract.id == HandoverPackage.contract_id)
        .outerjoin(Entrustment, Entrustment.id == HandoverPackage.entrustment_id)
        .where(ended, ~already)
    )
    session.execute(insert(DeletionDue).from_select(
        ["package_id", "case_id", "agency_id", "case_ended_at", "due_on", "created_at"], source))
    # Counted by this run's stamp: psycopg reports no row count for INSERT … SELECT here.
    return session.scalar(select(func.count()).select_from(DeletionDue).where(DeletionDue.created_at == stamp)) or 0


def list_dues(*, session: Session, today: date, agency_id: int | None = None, overdue: bool | None = None,
              package_id: int | None = None, certified: bool | None = None, offset: int = 0,
              limit: int = 50) -> tuple[list[DueRead], int]:
    """Deletion dues, the earliest due first."""
    query = (select(DeletionDue, HandoverPackage.package_no, Case.case_no)
             .join(HandoverPackage, HandoverPackage.id == DeletionDue.package_id)
             .join(Case, Case.id == DeletionDue.case_id))
    if agency_id is not None:
        query = query.where(DeletionDue.agency_id == agency_id)
    if package_id is not None:
        query = query.where(DeletionDue.package_id == package_id)
    if certified is not None:
        query = query.where(DeletionDue.certificate_id.is_not(None) if certified
                            else DeletionDue.certificate_id.is_(None))
    if overdue is True:
        query = query.where(_overdue(today))
    elif overdue is False:
        query = query.where(~_overdue(today))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(DeletionDue.due_on, DeletionDue.id).offset(offset).limit(limit)).all()
    items = [DueRead(id=due.id, package_id=due.package_id, package_no=package_no, case_id=due.case_id,
                     case_no=case_no, agency_id=due.agency_id, case_ended_at=due.case_ended_at, due_on=due.due_on,
                     certificate_id=due.certificate_id, overdue=due.certificate_id is None and due.due_on < today)
             for due, package_no, case_no in rows]
    return items, total


def _overdue(today: date):
    return and_(DeletionDue.certificate_id.is_(None), DeletionDue.due_on < today)


def overdue_by_agency(*, session: Session, today: date) -> dict[int, tuple[int, date]]:
    """agency_id -> (number of overdue dues, the oldest due day)."""
    rows = session.execute(
        select(DeletionDue.agency_id, func.count(), func.min(DeletionDue.due_on))
        .where(_overdue(today)).group_by(DeletionDue.agency_id)).all()
    return {agency_id: (count, oldest) for agency_id, count, oldest in rows}


def refresh_overdue_blocks(*, session: Session, today: date, actor: str = SYSTEM,
                           agency_ids: list[int] | None = None) -> dict[str, int]:
    """Block agencies with overdue dues (block + notice, once); lift their block once nothing is overdue."""
    overdue = overdue_by_agency(session=session, today=today)
    created = lifted = 0
    for agency_id, (count, oldest) in overdue.items():
        if agency_ids is not None and agency_id not in agency_ids:
            continue
        code = session.scalar(select(Agency.code).where(Agency.id == agency_id))
        _block, was_created = ensure_block(
            session=session, agency_id=agency_id, reason=BLOCK_REASON, actor=actor,
            details={"overdue": count, "oldest_due_on": oldest.isoformat() if oldest else None},
            message=_("agency {code} has {count} handover copies overdue for deletion (oldest due {day}): "
                      "no new placements until it certifies their deletion").format(
                code=code, count=count, day=oldest.isoformat() if oldest else "-"),
        )
        created += was_created
    live = session.scalars(select(PlacementBlock).where(
        PlacementBlock.reason == BLOCK_REASON, PlacementBlock.lifted_at.is_(None)))
    for block in list(live):
        if block.agency_id in overdue or (agency_ids is not None and block.agency_id not in agency_ids):
            continue
        lift_block(session=session, block_id=block.id, actor=SYSTEM,
                   reason=_("deletion of every overdue handover copy certified"))
        lifted += 1
    return {"blocks_created": created, "blocks_lifted": lifted, "agencies_overdue": len(overdue)}


def submit_certificate(*, session: Session, data: CertificateCreate, agency_id: int, actor: str,
                       on_behalf: bool) -> DeletionCertificate:
    """Record the agency's deletion certificate; its dues of those packages for cases ended by then are certified."""
    if session.get(Agency, agency_id) is None:
        raise NotFound(_("no agency {ref}").format(ref=agency_id))
    today = today_local()
    if data.deleted_on > today:
        raise RuleViolation(_("deleted_on {day} is in the future").format(day=data.deleted_on.isoformat()))
    if on_behalf and not data.evidence_ref:
        raise RuleViolation(_("lender staff recording a certificate for an agency must give the evidence "
                              "(evidence_ref: the signed certificate received)"), code="evidence_required")
    package_ids = unique_in_order(list(data.package_ids))
    owned = set(session.scalars(select(HandoverPackage.id).where(
        HandoverPackage.id.in_(package_ids), HandoverPackage.agency_id == agency_id)))
    missing = [pid for pid in package_ids if pid not in owned]
    if missing:
        raise NotFound(_("no handover package {ref}").format(ref=", ".join(map(str, missing))))
    create_due_rows(session=session, on=today)
    certificate = DeletionCertificate(
        certificate_no=f"DC{today:%Y%m%d}{secrets.token_hex(4).upper()}", agency_id=agency_id,
        package_ids=package_ids, deleted_on=data.deleted_on, method=data.method.value,
        signed_by_name=data.signed_by_name, signed_by_title=data.signed_by_title, statement=data.statement,
        evidence_ref=data.evidence_ref, submitted_by=actor, rows_certified=0,
    )
    session.add(certificate)
    session.flush()
    # A copy can only have been deleted for cases that had ended by the end of deleted_on (local).
    end_of_day = datetime.combine(data.deleted_on + timedelta(days=1), time(0), tzinfo=default_zone()).astimezone(UTC)
    result = session.execute(
        update(DeletionDue)
        .where(DeletionDue.agency_id == agency_id, DeletionDue.package_id.in_(package_ids),
               DeletionDue.certificate_id.is_(None), DeletionDue.case_ended_at < end_of_day)
        .values(certificate_id=certificate.id)
        .execution_options(synchronize_session=False)
    )
    certificate.rows_certified = max(result.rowcount or 0, 0)
    session.flush()
    audit.record(session=session, actor=actor, action="deletion.certified", entity="deletion_certificate",
                 entity_id=certificate.certificate_no,
                 details={"agency_id": agency_id, "packages": package_ids, "deleted_on": data.deleted_on.isoformat(),
                          "method": data.method.value, "rows_certified": certificate.rows_certified,
                          "on_behalf": on_behalf})
    refresh_overdue_blocks(session=session, today=today, agency_ids=[agency_id])
    return certificate


def list_certificates(*, session: Session, agency_id: int | None = None, offset: int = 0,
                      limit: int = 50) -> tuple[list[DeletionCertificate], int]:
    """Certificates, newest first."""
    query = select(DeletionCertificate)
    if agency_id is not None:
        query = query.where(DeletionCertificate.agency_id == agency_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(DeletionCertificate.id.desc()).offset(offset).limit(limit))
    return list(rows), total


def get_certificate(*, session: Session, certificate_id: int) -> DeletionCertificate:
    found = session.get(DeletionCertificate, certificate_id)
    if found is None:
        raise NotFound(_("no deletion certificate {ref}").format(ref=certificate_id))
    return found
