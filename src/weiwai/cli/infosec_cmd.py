"""`weiwai infosec …`: information-security reviews of agencies (PIPL art. 21 supervision).

    weiwai infosec checklist                                   # the checklist template's items
    weiwai infosec review create HUAXIN --on 2024-03-01 --reviewer "张审计" --evidence AUD-2024-07
    weiwai infosec finding add 3 --item EN-01 --description "交接文件明文存放于共享盘"
    weiwai infosec review complete 3 --results results.yaml    # item code: pass / fail / n/a
    weiwai infosec review list --agency HUAXIN
    weiwai infosec finding list --agency HUAXIN --status open
    weiwai infosec finding move 7 remediated --evidence FIX-2024-01
    weiwai infosec finding move 7 verified
    weiwai infosec due
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from weiwai.i18n import _
from weiwai.placements.render import console, default_actor

app = typer.Typer(help="Agency information-security reviews (信息安全审查).", no_args_is_help=True)
review_app = typer.Typer(help="Reviews.", no_args_is_help=True)
finding_app = typer.Typer(help="Findings.", no_args_is_help=True)
app.add_typer(review_app, name="review")
app.add_typer(finding_app, name="finding")

ACTOR = typer.Option(None, help="Who is acting (default: cli:<login name>).")


def _agency_id(session, code: str) -> int:
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.errors import NotFound

    agency_id = session.scalar(select(Agency.id).where(Agency.code == code.strip().upper()))
    if agency_id is None:
        raise NotFound(_("no agency {ref}").format(ref=code))
    return agency_id


def _valid(model, **values):
    from pydantic import ValidationError

    from weiwai.errors import RuleViolation

    try:
        return model(**values)
    except ValidationError as exc:
        raise RuleViolation("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                                      for e in exc.errors())) from None


def _day(text: str) -> date:
    from weiwai.errors import RuleViolation

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise RuleViolation(_("{value} is not a day (YYYY-MM-DD)").format(value=text)) from None


@app.command("checklist")
def checklist(code: str = typer.Argument("pipl_agency"), version: int | None = typer.Option(None)) -> None:
    """The items of a checklist template."""
    from rich.table import Table

    from weiwai.i18n import get_locale
    from weiwai.privacy.infosec import get_checklist

    found = get_checklist(code, version)
    zh = get_locale().startswith("zh")
    table = Table(_("Item"), _("Area"), _("Title"), _("Severity if failed"), _("Evidence"),
                  title=f"{found.code} v{found.version}")
    for item in found.items:
        table.add_row(item.code, item.area, item.title.zh if zh else item.title.en, item.default_severity,
                      item.evidence)
    console().print(table)


@review_app.command("create")
def review_create(
    agency: str = typer.Argument(..., help="Agency code."),
    on: str = typer.Option(..., "--on", help="Day of the review (YYYY-MM-DD)."),
    reviewer: str = typer.Option(..., "--reviewer"),
    checklist_code: str = typer.Option("pipl_agency", "--checklist"),
    period_start: str | None = typer.Option(None, "--from"),
    period_end: str | None = typer.Option(None, "--to"),
    evidence: list[str] = typer.Option([], "--evidence", help="Evidence reference (repeatable)."),  # noqa: B008
    notes: str | None = typer.Option(None, "--notes"),
    actor: str | None = ACTOR,
) -> None:
    """Open a draft review of an agency."""
    from weiwai.db import session_scope
    from weiwai.privacy.infosec import ReviewCreate, create_review

    with session_scope() as session:
        data = _valid(ReviewCreate, agency_id=_agency_id(session, agency), checklist=checklist_code,
                      reviewed_on=_day(on), reviewer=reviewer,
                      period_start=_day(period_start) if period_start else None,
                      period_end=_day(period_end) if period_end else None, evidence_refs=evidence, notes=notes)
        review_id = create_review(session=session, data=data, actor=actor or default_actor()).id
    console().print(_("Infosec review {ref} of {code} opened (draft)").format(ref=review_id, code=agency.upper()),
                    highlight=False)


@review_app.command("complete")
def review_complete(
    review_id: int = typer.Argument(...),
    results: Path = typer.Option(..., "--results", help="YAML or JSON: item code -> pass / fail / n/a."),  # noqa: B008
    evidence: list[str] = typer.Option([], "--evidence"),  # noqa: B008
    actor: str | None = ACTOR,
) -> None:
    """Complete a draft review; failed items without a finding get one at their default severity."""
    import yaml

    from weiwai.db import session_scope
    from weiwai.errors import RuleViolation
    from weiwai.privacy.infosec import ReviewComplete, complete_review, get_review

    try:
        raw = yaml.safe_load(results.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleViolation(_("{file}: cannot be read ({reason})").format(file=results, reason=exc)) from None
    data = _valid(ReviewComplete, results=raw if isinstance(raw, dict) else {}, evidence_refs=evidence)
    with session_scope() as session:
        review = complete_review(session=session, review=get_review(session=session, review_id=review_id), data=data,
                                 actor=actor or default_actor())
        outcome, due = review.outcome, review.next_review_due
    console().print(_("Review {ref} completed: {outcome}; next review due {due}").format(
        ref=review_id, outcome=outcome, due=due.isoformat()), highlight=False)


@review_app.command("list")
def review_list(agency: str | None = typer.Option(None, "--agency")) -> None:
    """Reviews, newest first."""
    from rich.table import Table

    from weiwai.db import session_scope
    from weiwai.privacy.infosec import list_reviews

    with session_scope() as session:
        rows, _total = list_reviews(session=session, agency_id=_agency_id(session, agency) if agency else None,
                                    limit=10_000)
        table = Table(_("Id"), _("Agency"), _("Day"), _("Checklist"), _("Status"), _("Outcome"), _("Next due"))
        for r in rows:
            table.add_row(str(r.id), str(r.agency_id), r.reviewed_on.isoformat(),
                          f"{r.checklist_code} v{r.checklist_version}", r.status, r.outcome or "",
                          r.next_review_due.isoformat() if r.next_review_due else "")
    console().print(table)


@finding_app.command("add")
def finding_add(
    review_id: int = typer.Argument(...),
    item: str = typer.Option(..., "--item", help="Checklist item code, e.g. EN-01."),
    description: str = typer.Option(..., "--description"),
    severity: str | None = typer.Option(None, "--severity", help="low, medium, high, critical (default: the item's)."),
    due: str | None = typer.Option(None, "--due", help="Remediation deadline (default: by severity)."),
    evidence: str | None = typer.Option(None, "--evidence"),
    actor: str | None = ACTOR,
) -> None:
    """Record a finding of a draft review."""
    from weiwai.db import session_scope
    from weiwai.privacy.infosec import FindingCreate, add_finding, get_review

    data = _valid(FindingCreate, item_code=item, description=description, severity=severity,
                  remediation_due_on=_day(due) if due else None, evidence_ref=evidence)
    with session_scope() as session:
        finding = add_finding(session=session, review=get_review(session=session, review_id=review_id), data=data,
                              actor=actor or default_actor())
        finding_id, sev, day = finding.id, finding.severity, finding.remediation_due_on
    console().print(_("Finding {ref} ({severity}) to be remediated by {day}").format(
        ref=finding_id, severity=sev, day=day.isoformat()), highlight=False)


@finding_app.command("move")
def finding_move(
    finding_id: int = typer.Argument(...),
    to: str = typer.Argument(..., help="remediated, verified, risk_accepted or open (reopen)."),
    evidence: str | None = typer.Option(None, "--evidence"),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = ACTOR,
) -> None:
    """Move a finding along its lifecycle."""
    from weiwai.db import session_scope
    from weiwai.privacy.infosec import FindingTransition, get_finding, transition_finding

    data = _valid(FindingTransition, to=to, evidence_ref=evidence, note=note)
    with session_scope() as session:
        transition_finding(session=session, finding=get_finding(session=session, finding_id=finding_id), data=data,
                           actor=actor or default_actor())
    console().print(_("Finding {ref} is {status}").format(ref=finding_id, status=to), highlight=False)


@finding_app.command("list")
def finding_list(
    agency: str | None = typer.Option(None, "--agency"),
    status: str | None = typer.Option(None, "--status"),
) -> None:
    """Findings by remediation deadline."""
    from rich.table import Table

    from weiwai.db import session_scope
    from weiwai.privacy.infosec import list_findings

    with session_scope() as session:
        rows, _total = list_findings(session=session, agency_id=_agency_id(session, agency) if agency else None,
                                     status=status, limit=10_000)
        table = Table(_("Id"), _("Review"), _("Agency"), _("Item"), _("Severity"), _("Due"), _("Status"))
        for f in rows:
            table.add_row(str(f.id), str(f.review_id), str(f.agency_id), f.item_code, f.severity,
                          f.remediation_due_on.isoformat(), f.status)
    console().print(table)


@app.command("due")
def due(as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today).")) -> None:
    """Active agencies whose information-security review is due (or that were never reviewed)."""
    from weiwai.clock import today_local
    from weiwai.db import session_scope
    from weiwai.privacy.infosec import reviews_due

    day = _day(as_of) if as_of else today_local()
    with session_scope() as session:
        rows = reviews_due(session=session, as_of=day)
    for row in rows:
        console().print(f"{row.agency_code}: " + (_("due {day}").format(day=row.due_on.isoformat()) if row.due_on
                                                 else _("never reviewed")), highlight=False)
    if not rows:
        console().print(_("No information-security review is due"))
