"""Daily job `infosec_watch`: overdue critical findings stop placements; reviews falling due are noticed."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from weiwai.i18n import _
from weiwai.jobs.registry import register

ACTOR = "job:infosec_watch"


def infosec_watch(*, session: Session, run_for: date) -> dict:
    """Block agencies with a critical infosec finding past its deadline (lift when none is left); notice reviews due."""
    from weiwai.compliance.thresholds import add_notice, notice_exists
    from weiwai.privacy.infosec import enforce_deadlines, reviews_due

    result = enforce_deadlines(session=session, as_of=run_for, actor=ACTOR)
    due = reviews_due(session=session, as_of=run_for)
    notices = 0
    for item in due:
        key = item.due_on.isoformat() if item.due_on else "never"
        if not notice_exists(session=session, kind="infosec_review_due", agency_id=item.agency_id, key="due_on",
                             value=key):
            add_notice(session=session, kind="infosec_review_due", agency_id=item.agency_id,
                       message=_("agency {code} is due an information-security review ({due})").format(
                           code=item.agency_code, due=key if item.due_on else _("never reviewed")),
                       details={"due_on": key})
            notices += 1
    return {**result, "reviews_due": len(due), "notices": notices}


# After compliance_watch (27), before the scorecards.
register("infosec_watch", infosec_watch, order=28)
