"""HTTP API of contact compliance: pre-contact checks and reservations, holds, preferences, violations.

Cases are reached through weiwai.security.scope (an agency: its open cases; a collector:
those assigned to them); anything else answers 404 as if it did not exist. Holds and
preferences by debtor are the lender's (holds.read / holds.write); an agency reports what
it was told on its own case (holds.report). Violations: lender staff all, an agency
manager their agency's (scope.own_agency).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import AwareDatetime

from weiwai.compliance import checks, holds
from weiwai.compliance.models import ContactHold, Severity
from weiwai.compliance.qualifications import require_qualified_collector
from weiwai.compliance.schemas import (
    CaseReport,
    ContactCheckIn,
    ContactCheckOut,
    HoldCreate,
    HoldLift,
    HoldRead,
    PreferenceCreate,
    PreferenceRead,
    ReportRead,
    ViolationRead,
)
from weiwai.security.permissions import Permission
from weiwai.web.deps import Allowed, SessionDep
from weiwai.web.etag import check_if_match, set_etag
from weiwai.web.idempotency import Idempotency
from weiwai.web.pagination import DEFAULT_PAGE_SIZE, Limit, Offset, Page
from weiwai.web.params import OptionalRowId, PathRef, QueryRef, RowId

router = APIRouter(prefix="/api/v1", tags=["compliance"])

@router.post("/contact-checks", response_model=ContactCheckOut)
def contact_check(
    session: SessionDep, principal: Allowed(Permission.compliance_check), data: ContactCheckIn,
) -> ContactCheckOut:
    """May this contact happen now (or at `at`)? With reserve=true an allowed check takes the slot."""
    require_qualified_collector(principal, session)
    result = checks.check_contact(
        session=session, principal=principal, case_no=data.case_no, channel=data.channel, party=data.party,
        at=data.at, phone_id=data.phone_id, phone=data.phone, number_ref=data.number_ref,
        contact_id=data.contact_id, reserve=data.reserve,
        line_ref=data.line_ref, template_code=data.template_code,
    )
    return ContactCheckOut.of(result.decision, token=result.reservation_token, expires_at=result.expires_at)


@router.delete("/contact-checks/reservations/{reservation_token}", status_code=status.HTTP_204_NO_CONTENT)
def release_reservation(
    session: SessionDep, principal: Allowed(Permission.compliance_check), reservation_token: PathRef,
) -> Response:
    """Give a reserved slot back (the contact will not happen)."""
    checks.release_reservation(session=session, principal=principal, token=reservation_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/debtors/{debtor_id}/holds", response_model=Page[HoldRead])
def list_holds(
    session: SessionDep, principal: Allowed(Permission.holds_read), debtor_id: RowId,
    include_lifted: bool = False, offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[HoldRead]:
    """The debtor's holds (live ones, or all with include_lifted=true), newest first."""
    rows, total = holds.list_holds(session=session, debtor_id=debtor_id, include_lifted=include_lifted,
                                   offset=offset, limit=limit)
    return Page[HoldRead](items=[HoldRead.model_validate(r) for r in rows], total=total, offset=offset, limit=limit)


@router.post("/debtors/{debtor_id}/holds", response_model=HoldRead, status_code=status.HTTP_201_CREATED)
def set_hold(
    session: SessionDep, principal: Allowed(Permission.holds_write), debtor_id: RowId, data: HoldCreate,
    idempotency: Idempotency,
) -> HoldRead:
    """Put a hold on the debtor (or one account): contact is blocked until it is lifted."""

    def work() -> HoldRead:
        hold = holds.set_hold(session=session, debtor_id=debtor_id, kind=data.kind, reason=data.reason,
                              actor=principal.actor, channels=[str(c) for c in data.channels],
                              account_no=data.account_no, evidence_ref=data.evidence_ref)
        return HoldRead.model_validate(hold)

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)


@router.post("/holds/{hold_id}/lift", response_model=HoldRead)
def lift_hold(
    request: Request, response: Response, session: SessionDep, principal: Allowed(Permission.holds_write),
    hold_id: RowId, data: HoldLift,
) -> HoldRead:
    """Lift a hold (If-Match: the version read, else 412)."""
    hold: ContactHold = holds.get_hold(session=session, hold_id=hold_id)
    check_if_match(request, hold.version)
    hold = holds.lift_hold(session=session, hold_id=hold_id, reason=data.reason, actor=principal.actor)
    set_etag(response, hold.version)
    return HoldRead.model_validate(hold)


@router.get("/debtors/{debtor_id}/preferences", response_model=Page[PreferenceRead])
def list_preferences(
    session: SessionDep, principal: Allowed(Permission.holds_read), debtor_id: RowId,
    include_revoked: bool = False, offset: Offset = 0, limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[PreferenceRead]:
    """The debtor's (and contacts') contact preferences, newest first."""
    rows, total = holds.list_preferences(session=session, debtor_id=debtor_id, include_revoked=include_revoked,
                                         offset=offset, limit=limit)
    return Page[PreferenceRead](items=[PreferenceRead.model_validate(r) for r in rows], total=total, offset=offset,
                                limit=limit)


@router.post("/debtors/{debtor_id}/preferences", response_model=PreferenceRead, status_code=status.HTTP_201_CREATED)
def add_preference(
    session: SessionDep, principal: Allowed(Permission.holds_write), debtor_id: RowId, data: PreferenceCreate,
    idempotency: Idempotency,
) -> PreferenceRead:
    """Record a preference: an agreed window, an inconvenient time, channels only, a refusal."""

    def work() -> PreferenceRead:
        preference = holds.add_preference(
            session=session, debtor_id=debtor_id, kind=data.kind, actor=principal.actor, data=data.data,
            contact_id=data.contact_id, phone=data.phone, phone_id=data.phone_id, evidence_ref=data.evidence_ref,
            valid_until=data.valid_until)
        return PreferenceRead.model_validate(preference)

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)


@router.post("/preferences/{preference_id}/revoke", response_model=PreferenceRead)
def revoke_preference(
    session: SessionDep, principal: Allowed(Permission.holds_write), preference_id: RowId,
) -> PreferenceRead:
    """Revoke a preference (it no longer binds)."""
    preference = holds.revoke_preference(session=session, preference_id=preference_id, actor=principal.actor)
    return PreferenceRead.model_validate(preference)


@router.post("/cases/{case_no}/holds", response_model=ReportRead, status_code=status.HTTP_201_CREATED)
def report_on_case(
    session: SessionDep, principal: Allowed(Permission.holds_report), case_no: PathRef, data: CaseReport,
    idempotency: Idempotency,
) -> ReportRead:
    """An agency reports a dispute or a request to stop contact (a hold), or a contact who refused."""

    def work() -> ReportRead:
        made = holds.report_on_case(
            session=session, principal=principal, case_no=case_no, kind=data.kind, reason=data.reason,
            contact_id=data.contact_id, phone=data.phone, phone_id=data.phone_id, evidence_ref=data.evidence_ref)
        if isinstance(made, ContactHold):
            return ReportRead(kind=data.kind, hold=HoldRead.model_validate(made))
        return ReportRead(kind=data.kind, preference=PreferenceRead.model_validate(made))

    return idempotency.run(work, body=data, status_code=status.HTTP_201_CREATED)


@router.get("/violations", response_model=Page[ViolationRead])
def list_violations(
    session: SessionDep,
    principal: Allowed(Permission.violations_read),
    agency_id: OptionalRowId = None,
    collector_user_id: OptionalRowId = None,
    rule_id: QueryRef = None,
    severity: Severity | None = None,
    since: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    offset: Offset = 0,
    limit: Limit = DEFAULT_PAGE_SIZE,
) -> Page[ViolationRead]:
    """Contacts that broke a rule, newest first: refused (never happened) or recorded (happened)."""
    rows, total = holds.list_violations(
        session=session, principal=principal, agency_id=agency_id, collector_user_id=collector_user_id,
        rule_id=rule_id, severity=severity, since=since, until=until, offset=offset, limit=limit)
    return Page[ViolationRead](items=[ViolationRead.model_validate(r) for r in rows], total=total, offset=offset,
                               limit=limit)
