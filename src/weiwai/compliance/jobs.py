"""Daily compliance jobs: contract thresholds, agency reviews due, overdue complaints (weiwai.jobs)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from weiwai.compliance.complaints import overdue_complaints
from weiwai.compliance.reviews import contracts_due_pre_expiry_review, review_standings
from weiwai.compliance.thresholds import add_notice, evaluate_all_thresholds, notice_exists
from weiwai.i18n import _
from weiwai.jobs.registry import register

ACTOR = "job:compliance_watch"


def compliance_watch(*, session: Session, run_for: date) -> dict:
    """Block agencies over their contract thresholds; notice reviews due or overdue and overdue complaints."""
    from sqlalchemy import select

    from weiwai.agencies.models import Agency, AgencyStatus

    blocks = evaluate_all_thresholds(session=session, as_of=run_for, actor=ACTOR)
    notices = 0
    for due in contracts_due_pre_expiry_review(session=session, as_of=run_for):
        if not notice_exists(session=session, kind="pre_expiry_review_due", agency_id=due.agency_id,
                             key="contract_no", value=due.contract_no):
            add_notice(session=session, kind="pre_expiry_review_due", agency_id=due.agency_id,
                       message=_("contract {contract_no} of agency {code} ends on {day} without a pre-expiry "
                                 "review").format(contract_no=due.contract_no, code=due.agency_code,
                                                  day=due.ends_on.isoformat()),
                       details={"contract_no": due.contract_no, "ends_on": due.ends_on.isoformat()})
            notices += 1
    active = dict(session.execute(select(Agency.id, Agency.code).where(Agency.status == AgencyStatus.active.value))
                  .all())
    overdue_reviews = 0
    for agency_id, standing in review_standings(session=session, agency_ids=list(active)).items():
        if run_for > standing.due_by and standing.last_result != "fail":
            overdue_reviews += 1
            if not notice_exists(session=session, kind="review_overdue", agency_id=agency_id, key="due_by",
                                 value=standing.due_by.isoformat()):
                add_notice(session=session, kind="review_overdue", agency_id=agency_id,
                           message=_("agency {code} was due a review by {day}: no new placements until it is "
                                     "reviewed").format(code=active[agency_id], day=standing.due_by.isoformat()),
                           details={"due_by": standing.due_by.isoformat()})
                notices += 1
    late = overdue_complaints(session=session, today=run_for)
    for complaint in late:
        if not notice_exists(session=session, kind="complaint_overdue", agency_id=complaint.agency_id,
                             key="complaint_no", value=complaint.complaint_no):
            add_notice(session=session, kind="complaint_overdue", agency_id=complaint.agency_id,
                       message=_("complaint {ref} was to be answered by {day}").format(
                           ref=complaint.complaint_no, day=complaint.respond_by.isoformat()),
                       details={"complaint_no": complaint.complaint_no})
            notices += 1
    return {"blocks_created": len(blocks), "notices": notices, "reviews_overdue": overdue_reviews,
            "complaints_overdue": len(late)}


# After expiry and the collection jobs, before the scorecards.
register("compliance_watch", compliance_watch, order=27)
