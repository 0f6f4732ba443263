"""Helpers the agency and contract services share: history, flushing, paging, SQL filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from sqlalchemy import and_, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.sql.elements import ColumnElement

from weiwai.agencies.fields import MAX_PAGE_SIZE
from weiwai.agencies.models import (
    Agency,
    AgencyStatus,
    AgencyStatusChange,
    Contract,
    ContractStatus,
    ContractStatusChange,
)
from weiwai.errors import Conflict, RuleViolation
from weiwai.i18n import _
from weiwai.security import audit

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing and the number of rows across all pages."""

    items: list[T]
    total: int


def check_paging(offset: int, limit: int) -> None:
    if offset < 0:
        raise RuleViolation(_("offset cannot be negative"))
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise RuleViolation(_("limit must be between 1 and {max}").format(max=MAX_PAGE_SIZE))


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("a reason is required for a status change"))
    return reason


def flush(session: Session, *, on_duplicate: str) -> None:
    """Write pending changes now, so that clashes surface as domain errors inside the service."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(on_duplicate) from exc
    except StaleDataError as exc:
        raise Conflict(_("someone else changed this record at the same time; reload and try again")) from exc


def record_agency_change(
    *, session: Session, agency: Agency, to: AgencyStatus, reason: str, actor: str, initial: bool = False
) -> None:
    """Set the agency's status and keep the change in its history and in the audit log."""
    previous = None if initial else AgencyStatus(agency.status).value
    agency.status = to
    agency.status_changes.append(
        AgencyStatusChange(from_status=previous, to_status=to.value, reason=reason, changed_by=actor)
    )
    flush(session, on_duplicate=_("the agency changed while you were working; reload and try again"))
    audit.record(
        session=session,
        actor=actor,
        action="agency.created" if initial else "agency.status_changed",
        entity="agency",
        entity_id=agency.id,
        details={"code": agency.code, "from": previous, "to": to.value, "reason": reason},
    )


def record_contract_change(
    *, session: Session, contract: Contract, to: ContractStatus, reason: str, actor: str, initial: bool = False
) -> None:
    """Set the contract's status and keep the change in its history and in the audit log."""
    previous = None if initial else ContractStatus(contract.status).value
    contract.status = to
    contract.status_changes.append(
        ContractStatusChange(from_status=previous, to_status=to.value, reason=reason, changed_by=actor)
    )
    flush(session, on_duplicate=_("the contract changed while you were working; reload and try again"))
    audit.record(
        session=session,
        actor=actor,
        action="contract.created" if initial else "contract.status_changed",
        entity="contract",
        entity_id=contract.id,
        details={"contract_no": contract.contract_no, "from": previous, "to": to.value, "reason": reason},
    )


def usable_on(on: date) -> ColumnElement[bool]:
    """SQL for Contract.is_usable(on): active, in term and signed."""
    return and_(
        Contract.status == ContractStatus.active.value,
        Contract.starts_on <= on,
        Contract.ends_on >= on,
        Contract.signed_on.is_not(None),
        Contract.confidentiality_signed_on.is_not(None),
    )


def json_list_contains(session: Session, column, value: str) -> ColumnElement[bool]:
    """SQL: the JSON array in `column` has `value` as an element (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(column, JSONB).contains([value])
    elements = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(elements).where(elements.c.value == value))
