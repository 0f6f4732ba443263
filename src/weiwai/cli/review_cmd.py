"""`weiwai review …`: agency reviews (CN-11) and collector qualifications (CN-10).

    weiwai review record HZ-ANXIN --kind annual --on 2024-03-01 --compliance 85 --quality 78 \\
        --infosec 90 --result pass
    weiwai review list HZ-ANXIN
    weiwai review due
    weiwai review qualify huaxin_c1 --item training --on 2024-02-20 --evidence EXAM-2024-17
    weiwai review qualifications huaxin_c1
    weiwai review unqualified --agency HUAXIN
"""

from __future__ import annotations

from datetime import date

import typer

from weiwai.i18n import _
from weiwai.placements.render import console, default_actor

app = typer.Typer(help="Agency reviews (机构评估) and collector qualifications.", no_args_is_help=True)

ACTOR = typer.Option(None, help="Who is acting (default: cli:<login name>).")


def _agency_id(session, code: str) -> int:
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.errors import NotFound

    agency_id = session.scalar(select(Agency.id).where(Agency.code == code.strip().upper()))
    if agency_id is None:
        raise NotFound(_("no agency {ref}").format(ref=code))
    return agency_id


def _user(session, username: str):
    from sqlalchemy import select

    from weiwai.errors import NotFound
    from weiwai.security.models import User

    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise NotFound(_("no user {ref}").format(ref=username))
    return user


@app.command("record")
def record(
    agency: str = typer.Argument(..., help="Agency code."),
    kind: str = typer.Option(..., "--kind", help="annual, pre_expiry or ad_hoc."),
    on: str = typer.Option(..., "--on", help="Day of the review (YYYY-MM-DD)."),
    compliance: int = typer.Option(..., "--compliance", min=0, max=100),
    quality: int = typer.Option(..., "--quality", min=0, max=100),
    infosec: int = typer.Option(..., "--infosec", min=0, max=100),
    result: str = typer.Option(..., "--result", help="pass, conditional or fail."),
    notes: str | None = typer.Option(None, "--notes"),
    actor: str | None = ACTOR,
) -> None:
    """Record an agency review."""
    from weiwai.compliance.reviews import ReviewCreate, record_review
    from weiwai.db import session_scope

    data = ReviewCreate(kind=kind, evaluated_on=date.fromisoformat(on), compliance_score=compliance,
                        quality_score=quality, infosec_score=infosec, result=result, notes=notes)
    with session_scope() as session:
        review = record_review(session=session, agency_id=_agency_id(session, agency), data=data,
                               actor=actor or default_actor())
        review_id = review.id
    console().print(_("Review {ref} of {code} recorded ({result})").format(ref=review_id, code=agency.upper(),
                                                                          result=result))


@app.command("list")
def list_(agency: str = typer.Argument(..., help="Agency code.")) -> None:
    """An agency's reviews, newest first."""
    from rich.table import Table

    from weiwai.compliance.reviews import list_reviews
    from weiwai.db import session_scope

    with session_scope() as session:
        rows, _total = list_reviews(session=session, agency_id=_agency_id(session, agency), limit=10_000)
        table = Table(_("Day"), _("Kind"), _("Compliance"), _("Quality"), _("Information security"), _("Result"))
        for r in rows:
            table.add_row(r.evaluated_on.isoformat(), r.kind, str(r.compliance_score), str(r.quality_score),
                          str(r.infosec_score), r.result)
    console().print(table)


@app.command("due")
def due(as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today).")) -> None:
    """Active agencies whose review is overdue or failed, and contracts due a pre-expiry review."""
    from sqlalchemy import select

    from weiwai.agencies.models import Agency, AgencyStatus
    from weiwai.clock import today_local
    from weiwai.compliance.reviews import contracts_due_pre_expiry_review, review_problems
    from weiwai.db import session_scope

    day = date.fromisoformat(as_of) if as_of else today_local()
    out = console()
    with session_scope() as session:
        codes = dict(session.execute(select(Agency.id, Agency.code).where(
            Agency.status == AgencyStatus.active.value)).all())
        problems = review_problems(session=session, agency_ids=list(codes), as_of=day)
        contracts = contracts_due_pre_expiry_review(session=session, as_of=day)
    for agency_id, problem in sorted(problems.items(), key=lambda item: codes[item[0]]):
        out.print(_("{code}: no new placements: {problem}").format(code=codes[agency_id], problem=problem),
                  markup=False)
    for contract in contracts:
        out.print(_("{code}: contract {contract_no} ends on {day} without a pre-expiry review").format(
            code=contract.agency_code, contract_no=contract.contract_no, day=contract.ends_on.isoformat()),
            markup=False)
    if not problems and not contracts:
        out.print(_("No review due"))


@app.command("qualify")
def qualify(
    username: str = typer.Argument(...),
    item: str = typer.Option(..., "--item", help="background_check, training or confidentiality."),
    on: str = typer.Option(..., "--on", help="Day it was completed (YYYY-MM-DD)."),
    evidence: str | None = typer.Option(None, "--evidence"),
    actor: str | None = ACTOR,
) -> None:
    """Record (or renew) one qualification of a collector."""
    from weiwai.compliance.qualifications import QualificationCreate, qualification_status, record_qualification
    from weiwai.db import session_scope

    data = QualificationCreate(item=item, completed_on=date.fromisoformat(on), evidence_ref=evidence)
    with session_scope() as session:
        user = _user(session, username)
        record_qualification(session=session, user=user, data=data, actor=actor or default_actor())
        qualified = qualification_status(session=session, user_id=user.id).qualified
    console().print(_("Recorded; {user} is {state}").format(
        user=username, state=_("qualified") if qualified else _("not yet qualified")))


@app.command("qualifications")
def qualifications(username: str = typer.Argument(...)) -> None:
    """A collector's qualification items and when each lapses."""
    from weiwai.compliance.qualifications import qualification_status
    from weiwai.db import session_scope

    with session_scope() as session:
        status = qualification_status(session=session, user_id=_user(session, username).id)
    out = console()
    for state in status.items:
        out.print(f"{state.item.value}: " + (
            _("{day}, lapses {expires}").format(day=state.completed_on.isoformat(),
                                               expires=state.expires_on.isoformat())
            if state.completed_on else _("not on file")) + ("" if state.current else " ✗"), markup=False)
    out.print(_("qualified") if status.qualified else _("not qualified: may not log actions or check contacts"))


@app.command("unqualified")
def unqualified(agency: str | None = typer.Option(None, "--agency", help="Agency code.")) -> None:
    """Active collectors lacking a current qualification."""
    from weiwai.compliance.qualifications import unqualified_collectors
    from weiwai.db import session_scope

    with session_scope() as session:
        agency_id = _agency_id(session, agency) if agency else None
        names = [u.username for u in unqualified_collectors(session=session, agency_id=agency_id)]
    out = console()
    for name in names:
        out.print(name, markup=False)
    out.print(_("{count} collector(s) without current qualifications").format(count=len(names)))
