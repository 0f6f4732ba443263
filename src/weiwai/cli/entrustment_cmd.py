"""`weiwai entrustment …`: entrustment records (PIPL art. 21) and impact assessments (art. 55-56)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from weiwai.cli.action_cmd import _agency_id, default_actor
from weiwai.i18n import _

app = typer.Typer(help="Entrustment records and personal information impact assessments.", no_args_is_help=True)
console = Console()


def _file(path: Path) -> str:
    from weiwai.errors import NotFound

    if not path.is_file():
        raise NotFound(_("no file {path}").format(path=path))
    return path.read_text(encoding="utf-8")


@app.command("list")
def list_(
    agency: str | None = typer.Option(None, "--agency", help="Agency code."),
    status: str | None = typer.Option(None, "--status", help="in_force or ended."),
) -> None:
    """Entrustments with their contract, categories and assessment standing."""
    from weiwai.agencies.models import Contract
    from weiwai.clock import today_local
    from weiwai.db import session_scope
    from weiwai.privacy.assessments import agencies_with_valid_assessment
    from weiwai.privacy.entrustment import list_entrustments

    with session_scope() as session:
        rows, total = list_entrustments(session=session, agency_id=_agency_id(session, agency), status=status,
                                        limit=500)
        assessed = agencies_with_valid_assessment(session=session, on=today_local())
        table = Table(_("Entrustments ({total})").format(total=total))
        for column in ("id", _("contract"), _("status"), _("version"), _("categories"), _("retention days"),
                       _("sub-entrustment"), _("assessment")):
            table.add_column(column)
        for row in rows:
            table.add_row(str(row.id), session.get(Contract, row.contract_id).contract_no, row.status,
                          str(row.version), ", ".join(row.data_categories), str(row.retention_days),
                          ", ".join(row.sub_processors) if row.sub_entrustment_allowed else _("no"),
                          _("approved") if row.agency_id in assessed else _("missing"))
    console.print(table)


@app.command("show")
def show(entrustment_id: int = typer.Argument(...)) -> None:
    """One entrustment, every term."""
    from weiwai.db import session_scope
    from weiwai.privacy.entrustment import EntrustmentRead, get_entrustment

    with session_scope() as session:
        read = EntrustmentRead.model_validate(get_entrustment(session=session, entrustment_id=entrustment_id))
    for name, value in read.model_dump(mode="json").items():
        console.print(f"{name}: {value}", highlight=False)


@app.command("update")
def update(
    entrustment_id: int = typer.Argument(...),
    file: Path = typer.Option(..., "--file", help="YAML/JSON with the terms to change."),
    actor: str | None = typer.Option(None, "--actor"),
) -> None:
    """Change the terms of an entrustment in force (its version goes up; audited before/after)."""
    from weiwai.db import session_scope
    from weiwai.placements.rules_file import parse_model
    from weiwai.privacy.entrustment import EntrustmentUpdate, get_entrustment, update_entrustment

    data = parse_model(EntrustmentUpdate, _file(file), file=file.name)
    with session_scope() as session:
        item = update_entrustment(session=session, data=data, actor=actor or default_actor(),
                                  entrustment=get_entrustment(session=session, entrustment_id=entrustment_id))
        session.flush()
        version = item.version
    console.print(_("Entrustment {id} is now version {version}").format(id=entrustment_id, version=version),
                  highlight=False)


@app.command("assess")
def assess(
    file: Path = typer.Option(..., "--file", help="YAML/JSON assessment (agency_id, assessed_on, scope, risks, …)."),
    submit: bool = typer.Option(False, "--submit", help="Submit it for approval at once."),
    actor: str | None = typer.Option(None, "--actor", help="The assessor."),
) -> None:
    """File an impact assessment (a draft, or submitted with --submit)."""
    from weiwai.db import session_scope
    from weiwai.placements.rules_file import parse_model
    from weiwai.privacy.assessments import AssessmentCreate, create_assessment, submit_assessment

    data = parse_model(AssessmentCreate, _file(file), file=file.name)
    with session_scope() as session:
        item = create_assessment(session=session, data=data, actor=actor or default_actor())
        if submit:
            submit_assessment(session=session, assessment=item, actor=actor or default_actor())
        assessment_id, state = item.id, item.status
    console.print(_("Impact assessment {id} filed ({status})").format(id=assessment_id, status=state),
                  highlight=False)


@app.command("submit")
def submit(assessment_id: int = typer.Argument(...), actor: str | None = typer.Option(None, "--actor")) -> None:
    """Submit a draft assessment for approval."""
    from weiwai.db import session_scope
    from weiwai.privacy.assessments import get_assessment, submit_assessment

    with session_scope() as session:
        submit_assessment(session=session, assessment=get_assessment(session=session, assessment_id=assessment_id),
                          actor=actor or default_actor())
    console.print(_("Impact assessment {id} submitted").format(id=assessment_id), highlight=False)


@app.command("decide")
def decide(
    assessment_id: int = typer.Argument(...),
    approve: bool = typer.Option(..., "--approve/--reject"),
    note: str | None = typer.Option(None, "--note"),
    actor: str | None = typer.Option(None, "--actor", help="The approver (not the assessor)."),
) -> None:
    """Approve or reject a submitted assessment (four eyes)."""
    from weiwai.db import session_scope
    from weiwai.privacy.assessments import decide_assessment, get_assessment

    with session_scope() as session:
        item = decide_assessment(session=session, approve=approve, note=note, actor=actor or default_actor(),
                                 assessment=get_assessment(session=session, assessment_id=assessment_id))
        state = item.status
    console.print(_("Impact assessment {id}: {status}").format(id=assessment_id, status=state), highlight=False)


@app.command("assessments")
def assessments_(agency: str | None = typer.Option(None, "--agency", help="Agency code.")) -> None:
    """Impact assessments, newest first."""
    from weiwai.db import session_scope
    from weiwai.privacy.assessments import list_assessments

    with session_scope() as session:
        rows, total = list_assessments(session=session, agency_id=_agency_id(session, agency), limit=500)
        table = Table(_("Impact assessments ({total})").format(total=total))
        for column in ("id", _("agency"), _("assessed on"), _("assessor"), _("conclusion"), _("status"),
                       _("valid until")):
            table.add_column(column)
        for row in rows:
            table.add_row(str(row.id), str(row.agency_id), row.assessed_on.isoformat(), row.assessor, row.conclusion,
                          row.status, row.valid_until.isoformat())
    console.print(table)
