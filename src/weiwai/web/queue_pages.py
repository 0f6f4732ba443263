"""The work queue page (/queue): a collector's own queue, or an agency's queue with its
assignees and a form to assign the selected cases.

Read through the same services as the API (weiwai.collection.queue_service and
assignment), so the order, the reasons and the visibility rule are the API's. Without
JavaScript the forms are plain GET/POST forms; with htmx only the results are swapped.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from weiwai.agencies.models import Agency
from weiwai.collection import assignment, queue_service
from weiwai.errors import DomainError, NotFound
from weiwai.i18n import _
from weiwai.security.models import Role, User
from weiwai.security.permissions import Permission
from weiwai.web.deps import SessionDep
from weiwai.web.i18n_web import render
from weiwai.web.pages import Viewer, ViewerDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
VIEWS = ("all", "unassigned", "needs_reassignment")


def _queue_viewer(viewer: Viewer) -> Viewer:
    if not viewer.principal.can(Permission.queue_read):
        raise NotFound(_("not found"))
    return viewer


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    agency_id: Annotated[int | None, Query()] = None,
    collector: Annotated[int | None, Query()] = None,
    view: Annotated[str, Query(pattern="^(all|unassigned|needs_reassignment)$")] = "all",
    offset: Annotated[int, Query(ge=0)] = 0,
    done: Annotated[int | None, Query(ge=0)] = None,
) -> HTMLResponse:
    """The queue; a manager's page also shows assignees and the assignment form."""
    _queue_viewer(viewer)
    context = _context(session, viewer, agency_id=agency_id, collector=collector, view=view, offset=offset)
    if done is not None:
        context["message"] = _("{count} case(s) assigned").format(count=done)
    partial = "hx-request" in request.headers and "hx-history-restore-request" not in request.headers
    response = render(request, "_queue_results.html" if partial else "queue.html", context)
    response.headers["Vary"] = "HX-Request"
    return response


@router.post("/queue/assign")
def assign(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    case_no: Annotated[list[str], Form(max_length=40)] = [],  # noqa: B006 - FastAPI reads the default
    collector_user_id: Annotated[str, Form(max_length=20)] = "",
    agency_id: Annotated[int | None, Form()] = None,
    view: Annotated[str, Form(pattern="^(all|unassigned|needs_reassignment)$")] = "all",
    collector: Annotated[int | None, Form()] = None,
) -> Response:
    """Assign the ticked cases to the chosen collector ("" = take them back)."""
    _may_assign(viewer)
    target = int(collector_user_id) if collector_user_id.strip().isdigit() else None
    return _act(request, session, viewer, agency_id=agency_id, view=view, collector=collector, work=lambda: len(
        assignment.assign_cases(session=session, principal=viewer.principal, case_nos=case_no,
                                collector_user_id=target, actor=viewer.principal.actor).changed))


@router.post("/queue/distribute")
def distribute(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    agency_id: Annotated[int | None, Form()] = None,
    view: Annotated[str, Form(pattern="^(all|unassigned|needs_reassignment)$")] = "all",
    collector: Annotated[int | None, Form()] = None,
) -> Response:
    """Share the unassigned cases (and those needing reassignment) among the collectors."""
    _may_assign(viewer)
    return _act(request, session, viewer, agency_id=agency_id, view=view, collector=collector, work=lambda:
                assignment.distribute(session=session, principal=viewer.principal, agency_id=agency_id,
                                      actor=viewer.principal.actor).assigned)


def _status_labels() -> dict[str, str]:
    return {"placed": _("Placed"), "working": _("Working"), "promised": _("Promised")}


def _may_assign(viewer: Viewer) -> None:
    if not viewer.principal.can(Permission.cases_assign):
        raise NotFound(_("not found"))


def _act(request: Request, session, viewer: Viewer, *, agency_id, view, collector, work) -> Response:
    """Run `work`; htmx gets the refreshed results (or the problem), a plain form a redirect."""
    htmx = "hx-request" in request.headers
    try:
        with session.begin_nested():  # a refusal undoes only this work; the page is still rendered
            count = work()
    except DomainError as exc:
        if not htmx:
            raise
        context = _context(session, viewer, agency_id=agency_id, collector=collector, view=view, offset=0)
        context["error"] = exc.message
        return render(request, "_queue_results.html", context)
    if htmx:
        context = _context(session, viewer, agency_id=agency_id, collector=collector, view=view, offset=0)
        context["message"] = _("{count} case(s) assigned").format(count=count)
        return render(request, "_queue_results.html", context)
    query = urlencode([(k, v) for k, v in (("agency_id", agency_id), ("view", view), ("collector", collector),
                                           ("done", count)) if v not in (None, "", "all")])
    return RedirectResponse(f"/queue?{query}", status_code=303)


def _context(session, viewer: Viewer, *, agency_id, collector, view, offset) -> dict:
    principal = viewer.principal
    is_collector = principal.role == Role.collector
    context = {
        "viewer": viewer, "is_collector": is_collector, "can_assign": principal.can(Permission.cases_assign),
        "agency_id": agency_id, "agencies": [], "collectors": [], "collector": collector, "view": view,
        "page": None, "message": None, "error": None, "status_labels": _status_labels(), "query": "",
    }
    if principal.is_lender:
        context["agencies"] = session.scalars(select(Agency).order_by(Agency.code)).all()
        if agency_id is None:
            return context
    queue = queue_service.work_queue(
        session=session, principal=principal, agency_id=agency_id,
        collector_user_id=None if is_collector else collector,
        unassigned=view == "unassigned", needs_reassignment=view == "needs_reassignment",
    )
    context["agency_id"] = queue.agency_id
    context["page"] = queue_service.queue_page(session=session, principal=principal, queue=queue, offset=offset,
                                               limit=PAGE_SIZE)
    if not is_collector:
        context["collectors"] = session.scalars(select(User).where(
            User.agency_id == queue.agency_id, User.role == Role.collector.value, User.is_active.is_(True)
        ).order_by(User.display_name, User.id)).all()
    context["query"] = urlencode([(k, v) for k, v in (
        ("agency_id", agency_id if principal.is_lender else None), ("collector", collector),
        ("view", view if view != "all" else None)) if v is not None])
    return context
