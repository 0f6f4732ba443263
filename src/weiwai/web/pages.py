"""Server-rendered pages: the portfolio dashboard, accounts (list and detail), agencies,
and the language switch. The login page lives with sign-in in weiwai.security.routes.

Pages read through the same services as the API. Agency users see none of the portfolio:
every portfolio page answers them 404, as the API does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from weiwai.agencies.models import Agency
from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.portfolio import service
from weiwai.portfolio.models import Account, AccountStatus, Debtor
from weiwai.portfolio.schemas import AccountFilters
from weiwai.reports.portfolio_summary import PortfolioSummary, SummaryLine, portfolio_summary
from weiwai.security.models import User
from weiwai.web.deps import CurrentUser, Principal, SessionDep
from weiwai.web.i18n_web import LANG_COOKIE, render, supported_or_none

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    return target


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as the page layout shows them."""

    principal: Principal
    display_name: str

    @property
    def is_lender(self) -> bool:
        return self.principal.is_lender


def current_viewer(principal: CurrentUser, session: SessionDep) -> Viewer:
    user = session.get(User, principal.user_id)  # already loaded by current_principal
    return Viewer(principal=principal, display_name=user.display_name if user else principal.username)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


def lender_viewer(viewer: ViewerDep) -> Viewer:
    """Lender staff only; agency users get 404, so the pages do not even admit to existing."""
    if not viewer.is_lender:
        raise NotFound(_("not found"))
    return viewer


LenderViewer = Annotated[Viewer, Depends(lender_viewer)]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, viewer: ViewerDep, session: SessionDep, as_of: date | None = None) -> HTMLResponse:
    if not viewer.is_lender:
        return render(request, "agency_home.html", {"viewer": viewer})
    as_of = as_of or service.today()
    summary = portfolio_summary(session=session, as_of=as_of)
    regions = _largest_first(summary.by_region)
    context = {
        "viewer": viewer,
        "summary": summary,
        "as_of": as_of,
        "regions_by_balance": regions,
        "charts": _chart_data(summary, regions),
    }
    return render(request, "dashboard.html", context)


def _largest_first(lines: list[SummaryLine]) -> list[SummaryLine]:
    return sorted(lines, key=lambda line: line.total_outstanding, reverse=True)


def _chart_data(summary: PortfolioSummary, regions: list[SummaryLine]) -> dict:
    """What dashboard.js draws: per breakdown, labels, counts and balances (money as strings)."""

    def series(lines):
        return {
            "labels": [line.key for line in lines],
            "accounts": [line.accounts for line in lines],
            "outstanding": [str(line.total_outstanding) for line in lines],
        }

    return {
        "bucket": series(summary.by_bucket),
        "grade": series(summary.by_grade),
        "region": series(regions),
        "legend": {"accounts": _("Accounts"), "outstanding": _("Outstanding")},
    }


@router.get("/accounts", response_class=HTMLResponse)
def accounts(
    request: Request,
    viewer: LenderViewer,
    session: SessionDep,
    filters: Annotated[AccountFilters, Query()],
    as_of: date | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    as_of = as_of or service.today()
    page = service.list_accounts(session=session, as_of=as_of, filters=filters, offset=offset, limit=PAGE_SIZE)
    context = {"viewer": viewer, "page": page, "filters": filters, "as_of": as_of, "query": _query_without_offset(request)}
    # HTMX swaps only the results; a full load (or history restore) gets the whole page.
    partial = "hx-request" in request.headers and "hx-history-restore-request" not in request.headers
    if not partial:
        context["choices"] = _filter_choices(session)
    response = render(request, "_account_results.html" if partial else "accounts.html", context)
    response.headers["Vary"] = "HX-Request"
    if partial:
        # The address bar shows the filters in use, without the form's empty fields.
        query = "&".join(part for part in (context["query"], f"offset={offset}" if offset else "") if part)
        response.headers["HX-Push-Url"] = "/accounts" + (f"?{query}" if query else "")
    return response


def _query_without_offset(request: Request) -> str:
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != "offset" and value != ""]
    return urlencode(kept)


def _filter_choices(session: Session) -> dict[str, list[str]]:
    """Values offered in the filter form (each an indexed DISTINCT, quick on a large book)."""

    def distinct(column) -> list[str]:
        return list(session.scalars(select(column).distinct().order_by(column)))

    return {
        "bucket": service.bucket_labels(),
        "credit_grade": distinct(Debtor.credit_grade),
        "region": distinct(Debtor.region),
        "product": distinct(Account.product),
        "status": [status.value for status in AccountStatus],
    }


@router.get("/accounts/{account_no}", response_class=HTMLResponse)
def account_detail(
    request: Request, account_no: str, viewer: LenderViewer, session: SessionDep, as_of: date | None = None
) -> HTMLResponse:
    as_of = as_of or service.today()
    account = service.get_account(session=session, account_no=account_no, as_of=as_of)
    debtor = service.get_debtor(session=session, debtor_id=account.debtor_id, actor=viewer.principal.actor)
    history = service.account_history(session=session, account_no=account_no)
    return render(
        request,
        "account.html",
        {"viewer": viewer, "account": account, "debtor": debtor, "history": history, "as_of": as_of},
    )


@router.get("/agencies", response_class=HTMLResponse)
def agencies(request: Request, viewer: LenderViewer, session: SessionDep) -> HTMLResponse:
    rows = session.scalars(select(Agency).order_by(Agency.code)).all()
    return render(request, "agencies.html", {"viewer": viewer, "agencies": rows})


@router.get("/lang/{code}")
def switch_language(code: str, next: str | None = None) -> RedirectResponse:
    response = RedirectResponse(local_path(next), status_code=303)
    locale = supported_or_none(code)
    if locale:
        response.set_cookie(LANG_COOKIE, locale, max_age=LANG_COOKIE_MAX_AGE, httponly=True, samesite="lax")
    return response
