"""Collector qualifications (CN-10): background check, training (with exam), confidentiality.

Each item is recorded with the day it was completed and lapses
`settings.qualification_valid_days` (365) later; recording it again renews it. A collector
without all three current may not log collection actions nor check contacts: the one
guard is `require_qualified_collector(principal, session)`, called by the routes that do
those things. The rule applies while `settings.collector_qualifications_required` is on
(the default); it concerns collectors only (not agency managers, lender staff or tokens).
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from weiwai.clock import today_local
from weiwai.compliance.models import CollectorQualification
from weiwai.config import get_settings
from weiwai.errors import RuleViolation
from weiwai.i18n import _
from weiwai.security.models import Role, User

if TYPE_CHECKING:
    from weiwai.web.deps import Principal


class QualificationItem(StrEnum):
    background_check = "background_check"
    training = "training"
    confidentiality = "confidentiality"


class QualificationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: QualificationItem
    completed_on: date
    evidence_ref: Annotated[str | None, Field(max_length=200)] = None

    @field_validator("evidence_ref")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None


class QualificationState(BaseModel):
    item: QualificationItem
    completed_on: date | None
    expires_on: date | None
    current: bool
    evidence_ref: str | None = None


class QualificationStatus(BaseModel):
    user_id: int
    qualified: bool  # all three current today
    items: list[QualificationState]


def record_qualification(*, session: Session, user: User, data: QualificationCreate, actor: str,
                         today: date | None = None) -> CollectorQualification:
    """Record (or renew) one qualification item of a collector."""
    if user.role != Role.collector:
        raise RuleViolation(_("qualifications are recorded for collectors only; {user} is {role}").format(
            user=user.username, role=user.role), code="not_a_collector")
    if data.completed_on > (today or today_local()):
        raise RuleViolation(_("a qualification cannot be completed in the future ({day})").format(
            day=data.completed_on.isoformat()), code="qualification_in_future")
    row = CollectorQualification(user_id=user.id, item=data.item.value, completed_on=data.completed_on,
                                 evidence_ref=data.evidence_ref, recorded_by=actor)
    session.add(row)
    session.flush()
    return row


def _latest(session: Session, user_id: int) -> dict[str, CollectorQualification]:
    latest: dict[str, CollectorQualification] = {}
    for row in session.scalars(select(CollectorQualification).where(CollectorQualification.user_id == user_id)
                               .order_by(CollectorQualification.completed_on, CollectorQualification.id)):
        latest[row.item] = row
    return latest


def qualification_status(*, session: Session, user_id: int, today: date | None = None) -> QualificationStatus:
    """Each item's latest completion, when it lapses, and whether the collector is qualified today."""
    today = today or today_local()
    valid = timedelta(days=get_settings().qualification_valid_days)
    latest = _latest(session, user_id)
    states = []
    for item in QualificationItem:
        row = latest.get(item.value)
        expires = row.completed_on + valid if row else None
        states.append(QualificationState(item=item, completed_on=row.completed_on if row else None,
                                         expires_on=expires, current=expires is not None and today < expires,
                                         evidence_ref=row.evidence_ref if row else None))
    return QualificationStatus(user_id=user_id, qualified=all(s.current for s in states), items=states)


def collector_is_qualified(session: Session, user_id: int, today: date | None = None) -> bool:
    """True when the user has every qualification item current on `today` (one query)."""
    today = today or today_local()
    since = today - timedelta(days=get_settings().qualification_valid_days)
    current = session.scalar(
        select(func.count(func.distinct(CollectorQualification.item))).where(
            CollectorQualification.user_id == user_id,
            CollectorQualification.item.in_([item.value for item in QualificationItem]),
            CollectorQualification.completed_on > since,
            CollectorQualification.completed_on <= today,
        )
    )
    return current == len(QualificationItem)


def require_qualified_collector(principal: Principal, session: Session, today: date | None = None) -> None:
    """The CN-10 guard: a collector without all qualifications current may not act (422
    collector_not_qualified). Others pass; so does everyone when the setting is off."""
    if not get_settings().collector_qualifications_required:
        return
    if principal.role != Role.collector or principal.is_token or principal.user_id is None:
        return
    if collector_is_qualified(session, principal.user_id, today):
        return
    missing = [state.item.value for state in
               qualification_status(session=session, user_id=principal.user_id, today=today).items
               if not state.current]
    raise RuleViolation(
        _("collector {user} lacks current qualifications ({missing}): no collection work until they are "
          "recorded").format(user=principal.username, missing=", ".join(missing)),
        code="collector_not_qualified",
    )


def unqualified_collectors(*, session: Session, today: date | None = None,
                           agency_id: int | None = None) -> list[User]:
    """Active collectors lacking a current qualification on `today`."""
    query = select(User).where(User.role == Role.collector.value, User.is_active.is_(True))
    if agency_id is not None:
        query = query.where(User.agency_id == agency_id)
    return [user for user in session.scalars(query.order_by(User.username))
            if not collector_is_qualified(session, user.id, today)]


def qualify_fully(*, session: Session, user: User, completed_on: date, actor: str, evidence_prefix: str = "") -> None:
    """Record all three items on one day (demo data, test factories)."""
    for item in QualificationItem:
        record_qualification(session=session, user=user, actor=actor, today=completed_on,
                             data=QualificationCreate(item=item, completed_on=completed_on,
                                                      evidence_ref=f"{evidence_prefix}{item.value}" or None))
