"""Who may see which rows: the data-level authorisation rule, in one place.

Every route that reads or acts on a case, an agency's records, a statement or a handover
package filters through these functions; none repeats the rule. A row outside the
principal's reach is reported as not found (404), exactly like a row that does not
exist, so that its existence does not leak.

- Lender staff see every row (what they may *do* is their role's permissions).
- An agency's users and API tokens see their own agency only, and a case only while it
  is placed with them (open: placed, working or promised). Access ends at recall,
  expiry, return, payment in full or closure.
- A collector sees only the open cases their manager assigned to them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session

from weiwai.errors import NotFound
from weiwai.i18n import _
from weiwai.placements.models import OPEN_CASE_STATUSES, Case
from weiwai.security.models import Role

if TYPE_CHECKING:
    from weiwai.web.deps import Principal


def case_condition(principal: Principal) -> ColumnElement[bool]:
    """The WHERE clause that limits cases to those `principal` may see."""
    if principal.is_lender:
        return true()
    if principal.agency_id is None:
        return false()
    # OR of equalities rather than IN: an IN list is expanded at every execution, which
    # keeps the statement out of SQLAlchemy's compiled cache on the busiest path.
    is_open = or_(*(Case.status == status for status in OPEN_CASE_STATUSES))
    condition = (Case.agency_id == principal.agency_id) & is_open
    if principal.role == Role.collector:
        condition = condition & (Case.collector_user_id == principal.user_id)
    return condition


def visible_cases(principal: Principal) -> Select[tuple[Case]]:
    """SELECT of the cases `principal` may see, to be narrowed and ordered by the caller."""
    return select(Case).where(case_condition(principal))


def visible_case(
    *, session: Session, principal: Principal, case_no: str | None = None, case_id: int | None = None,
    lock: bool = False,
) -> Case:
    """The case by number (or id) if `principal` may see it; NotFound otherwise, alike."""
    if (case_no is None) == (case_id is None):
        raise ValueError("give exactly one of case_no and case_id")
    query = visible_cases(principal).where(Case.case_no == case_no if case_no is not None else Case.id == case_id)
    if lock:
        query = query.with_for_update(of=Case).execution_options(populate_existing=True)
    case = session.scalars(query).first()
    if case is None:
        raise NotFound(_("no case {ref}").format(ref=case_no if case_no is not None else case_id))
    return case


def agency_condition(principal: Principal, agency_column) -> ColumnElement[bool]:
    """WHERE clause for rows owned by an agency (`agency_column`): lender all, agency users their own."""
    if principal.is_lender:
        return true()
    if principal.agency_id is None:
        return false()
    return agency_column == principal.agency_id


def own_agency(principal: Principal, agency_id: int | None, *, what: str | None = None) -> int | None:
    """The agency a query is about: the one asked for (lender), or the principal's own.

    An agency user asking for another agency gets NotFound; not asking means their own.
    None for lender staff who asked for no agency in particular (every agency).
    """
    if principal.is_lender:
        return agency_id
    if principal.agency_id is None or (agency_id is not None and agency_id != principal.agency_id):
        raise NotFound(_("no {what} {ref}").format(what=what or _("agency"), ref=agency_id))
    return principal.agency_id


def check_owned(principal: Principal, owner_agency_id: int | None, *, ref: object, what: str) -> None:
    """NotFound unless `principal` may see a row owned by `owner_agency_id`."""
    if principal.is_lender:
        return
    if principal.agency_id is None or owner_agency_id != principal.agency_id:
        raise NotFound(_("no {what} {ref}").format(what=what, ref=ref))
