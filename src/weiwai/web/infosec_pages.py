"""The information-security page (/infosec): agencies due a review, open findings by deadline
(overdue ones first), live placement blocks for overdue critical findings, recent canary sightings.

Lender staff holding infosec_reviews.read (others get 404, as on the other lender pages).
Moving a finding (remediated / verified) needs infosec_reviews.write and goes through the
same service as the API (weiwai.privacy.infosec), so its transition table and rules apply.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from weiwai.agencies.models import Agency
from weiwai.clock import today_local
from weiwai.compliance import thresholds
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.privacy import canaries, infosec
from weiwai.security.permissions import Permission
from weiwai.web.deps import SessionDep
from weiwai.web.i18n_web import render
from weiwai.web.pages import LenderViewer, Viewer
from weiwai.web.params import RowId

router = APIRouter(include_in_schema=False)
LIST_LIMIT = 200


def _require(viewer: Viewer, permission: Permission) -> None:
    if not viewer.principal.can(permission):
        raise NotFound(_("not found"))


@router.get("/infosec", response_class=HTMLResponse)
def infosec_page(request: Request, viewer: LenderViewer, session: SessionDep) -> HTMLResponse:
    """Reviews due, open findings and their deadlines, blocks, canary sightings."""
    _require(viewer, Permission.infosec_reviews_read)
    today = today_local()
    codes = dict(session.execute(select(Agency.id, Agency.code)).all())
    findings = []
    for status in infosec.UNRESOLVED:
        rows, _total = infosec.list_findings(session=session, status=status, limit=LIST_LIMIT)
        findings.extend(rows)
    findings.sort(key=lambda f: (f.remediation_due_on >= today, f.remediation_due_on, f.id))
    sightings = []
    if viewer.principal.can(Permission.leaks_read):
        sightings, _total = canaries.list_sightings(session=session, limit=20)
    return render(request, "infosec.html", {
        "viewer": viewer, "active_page": "infosec", "today": today, "codes": codes, "findings": findings,
        "due": infosec.reviews_due(session=session, as_of=today),
        "blocks": [b for b in thresholds.live_blocks(session=session) if b.reason == infosec.BLOCK_REASON],
        "sightings": sightings, "can_write": viewer.principal.can(Permission.infosec_reviews_write),
    })


@router.post("/infosec/findings/{finding_id}/transition")
def move_finding(
    request: Request,
    finding_id: RowId,
    viewer: LenderViewer,
    session: SessionDep,
    to: Annotated[str, Form(max_length=20)],
    evidence_ref: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Move a finding (remediated with evidence, or verified) and come back to the page."""
    _require(viewer, Permission.infosec_reviews_write)
    data = infosec.FindingTransition(to=to, evidence_ref=evidence_ref.strip() or None)
    finding = infosec.get_finding(session=session, finding_id=finding_id)
    infosec.transition_finding(session=session, finding=finding, data=data, actor=viewer.principal.actor)
    return RedirectResponse("/infosec", status_code=303)
