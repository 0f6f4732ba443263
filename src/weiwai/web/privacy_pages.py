"""The data protection page (/privacy): entrustments with their impact-assessment standing,
agencies that cannot be activated for lack of an assessment, handover copies overdue for
deletion by agency, and the latest deletion certificates.

Lender staff only (agency users get 404, as on the other lender pages). Read-only: changes
go through the API and the CLI (weiwai.privacy), with their permissions.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from weiwai.agencies.models import Agency, AgencyStatus, Contract
from weiwai.clock import today_local
from weiwai.privacy import assessments, deletion, entrustment
from weiwai.web.deps import SessionDep
from weiwai.web.i18n_web import render
from weiwai.web.pages import LenderViewer

router = APIRouter(include_in_schema=False)

LIST_LIMIT = 100


@router.get("/privacy", response_class=HTMLResponse)
def privacy_page(request: Request, viewer: LenderViewer, session: SessionDep) -> HTMLResponse:
    """Entrustments, assessments, overdue deletions and certificates on one page."""
    today = today_local()
    agencies = {a.id: a for a in session.scalars(select(Agency))}
    contracts = dict(session.execute(select(Contract.id, Contract.contract_no)).all())
    assessed = assessments.agencies_with_valid_assessment(session=session, on=today)
    rows, entrustment_total = entrustment.list_entrustments(session=session, limit=LIST_LIMIT)
    overdue = deletion.overdue_by_agency(session=session, today=today)
    certificates, certificate_total = deletion.list_certificates(session=session, limit=20)
    blocked = [a for a in agencies.values()
               if a.status in (AgencyStatus.approved, AgencyStatus.suspended) and a.id not in assessed]
    return render(request, "privacy.html", {
        "viewer": viewer, "active_page": "privacy",
        "entrustments": [{"row": r, "agency": agencies[r.agency_id].code, "contract_no": contracts.get(r.contract_id),
                          "assessed": r.agency_id in assessed} for r in rows],
        "entrustment_total": entrustment_total,
        "blocked": sorted(blocked, key=lambda a: a.code),
        "overdue": [{"agency": agencies[agency_id].code, "count": count, "oldest": oldest}
                    for agency_id, (count, oldest) in sorted(overdue.items(), key=lambda item: item[1][1])],
        "certificates": [{"row": c, "agency": agencies[c.agency_id].code} for c in certificates],
        "certificate_total": certificate_total,
    })
