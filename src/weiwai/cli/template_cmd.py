"""`weiwai template …`: message templates — draft from a file, check, submit, approve, reject, retire, render.

Each command is one transaction. Domain errors are shown by weiwai.cli.main as one line
(exit 2); a template the content check blocks lists its findings (exit 2). `check` exits
1 when the text has a blocking finding, so that it can guard a repository of templates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from weiwai.cli.agency_cmd import ACTOR_HELP, default_actor
from weiwai.compliance.templates import status_label
from weiwai.i18n import _, get_locale

app = typer.Typer(help="Message templates (SMS, letters, e-mails, call scripts) and their approval.",
                  no_args_is_help=True)

Actor = Annotated[str | None, typer.Option("--actor", help=ACTOR_HELP)]
TemplateId = Annotated[int, typer.Argument(help="The template version's ID (see `weiwai template list`).", min=1)]


def console() -> Console:
    return Console(highlight=False)


def _load(path: Path):
    """A template file (YAML or JSON): code, channel, language, audience, pack, body."""
    import yaml
    from pydantic import ValidationError

    from weiwai.compliance.template_schemas import TemplateCreate
    from weiwai.errors import InputRejected, RowError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputRejected(errors=[RowError(file=path.name, row=1, column="", value="", reason=str(exc))]) from None
    if not isinstance(data, dict):
        raise InputRejected(errors=[RowError(file=path.name, row=1, column="", value="",
                                             reason=_("expected a mapping with code, channel, language and body"))])
    try:
        return TemplateCreate.model_validate(data)
    except ValidationError as exc:
        raise InputRejected(errors=[
            RowError(file=path.name, row=1, column=".".join(map(str, error["loc"])),
                     value=str(error.get("input", ""))[:80], reason=error["msg"])
            for error in exc.errors()
        ]) from None


def _findings_table(findings) -> Table:
    table = Table(title=_("Content check"), title_justify="left")
    for header in (_("Severity"), _("Rule"), _("Finding"), _("Excerpt"), _("Why")):
        table.add_column(header)
    english = get_locale() == "en"
    for f in findings:
        get = f.get if isinstance(f, dict) else (lambda key, f=f: getattr(f, key))
        severity = _("blocking") if get("severity") == "blocking" else _("warning")
        table.add_row(severity, get("rule_id"), get("code"), get("excerpt"),
                      get("message_en") if english else get("message_zh"))
    return table


def _summary(template) -> str:
    return _("Template {code} v{version} ({id}): {status}").format(
        code=template.code, version=template.version, id=template.id, status=status_label(template.status))


@app.command("create")
def create(
    file: Annotated[Path, typer.Option("--file", "-f", help="YAML: code, channel, language, audience, pack, body.")],
    actor: Actor = None,
) -> None:
    """Draft a template from a file: version 1 of a new code, or the next version of an existing one."""
    from weiwai.compliance.templates import create_template
    from weiwai.db import session_scope

    data = _load(file)
    with session_scope() as session:
        template = create_template(session=session, actor=actor or default_actor(), **data.model_dump())
        line = _summary(template)
    console().print(line)


@app.command("check")
def check(file: Annotated[Path, typer.Argument(help="A template file, as for `create`.")]) -> None:
    """Run the content check on a file without storing anything; exit 1 on a blocking finding."""
    from weiwai.compliance.content_check import blocking
    from weiwai.compliance.templates import content_policy, run_check
    from weiwai.config import get_settings
    from weiwai.db import session_scope

    data = _load(file)
    with session_scope() as session:
        findings = run_check(body=data.body, language=data.language, audience=data.audience, channel=data.channel,
                             pack=data.pack or get_settings().compliance_pack, policy=content_policy(session))
    out = console()
    if findings:
        out.print(_findings_table(findings))
    if blocking(findings):
        out.print(_("{count} blocking finding(s): the template cannot be submitted.").format(
            count=len(blocking(findings))))
        raise typer.Exit(1)
    out.print(_("No blocking finding: the template can be submitted."))


@app.command("list")
def list_(
    code: Annotated[str | None, typer.Option("--code", help="Only this code's versions.")] = None,
    status: Annotated[list[str] | None, typer.Option("--status", help="Only these statuses (repeat).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 200,
) -> None:
    """Template versions by code, newest version first."""
    from weiwai.compliance.models import TemplateStatus
    from weiwai.compliance.templates import list_templates
    from weiwai.db import session_scope
    from weiwai.errors import RuleViolation

    try:
        statuses = [TemplateStatus(value) for value in status or []]
    except ValueError:
        raise RuleViolation(_("unknown status; one of {allowed}").format(
            allowed=", ".join(s.value for s in TemplateStatus))) from None
    table = Table(title=_("Message templates"), title_justify="left")
    for header in (_("ID"), _("Code"), _("Version"), _("Channel"), _("Language"), _("Audience"), _("Pack"),
                   _("Status"), _("Created by"), _("Reviewed by")):
        table.add_column(header)
    with session_scope() as session:
        page = list_templates(session=session, code=code, status=statuses, limit=limit)
        for t in page.items:
            table.add_row(str(t.id), t.code, str(t.version), t.channel, t.language, t.audience, t.pack,
                          status_label(t.status), t.created_by, t.reviewed_by or "")
        total = page.total
    out = console()
    out.print(table)
    if total > len(page.items):
        out.print(_("Showing {shown} of {total}.").format(shown=len(page.items), total=total))


@app.command("show")
def show(template_id: TemplateId) -> None:
    """One template version: its text, placeholders and findings."""
    from weiwai.compliance.content_check import parse_placeholders
    from weiwai.compliance.templates import get_template
    from weiwai.db import session_scope

    with session_scope() as session:
        t = get_template(session=session, template_id=template_id)
        out = console()
        out.print(_summary(t))
        out.print(f"{t.channel} · {t.language} · {t.audience} · {t.pack}")
        out.print(t.body, markup=False)
        out.print(_("Placeholders: {names}").format(names=", ".join(parse_placeholders(t.body).names) or "-"))
        if t.review_note:
            out.print(_("Review note: {note}").format(note=t.review_note), markup=False)
        if t.findings:
            out.print(_findings_table(t.findings))


def _act(action: str, template_id: int, actor: str | None, note: str | None = None) -> None:
    from weiwai.compliance import templates
    from weiwai.db import session_scope

    with session_scope() as session:
        template = templates.get_template(session=session, template_id=template_id, lock=True)
        who = actor or default_actor()
        if action == "submit":
            template = templates.submit_template(session=session, template=template, actor=who)
        elif action == "approve":
            template = templates.approve_template(session=session, template=template, actor=who, note=note)
        elif action == "reject":
            template = templates.reject_template(session=session, template=template, actor=who, note=note or "")
        else:
            template = templates.retire_template(session=session, template=template, actor=who, note=note)
        line = _summary(template)
        findings = list(template.findings or [])
    out = console()
    out.print(line)
    if findings:
        out.print(_findings_table(findings))


@app.command("submit")
def submit(template_id: TemplateId, actor: Actor = None) -> None:
    """Send a draft for approval (refused with its findings while the content check objects)."""
    _act("submit", template_id, actor)


@app.command("approve")
def approve(
    template_id: TemplateId,
    note: Annotated[str | None, typer.Option("--note", help="A remark kept with the approval.")] = None,
    actor: Actor = None,
) -> None:
    """Approve a submitted template; never one you wrote or submitted (four-eyes)."""
    _act("approve", template_id, actor, note)


@app.command("reject")
def reject(
    template_id: TemplateId,
    note: Annotated[str, typer.Option("--note", help="Why: the author reads it.")],
    actor: Actor = None,
) -> None:
    """Reject a submitted template with a reason."""
    _act("reject", template_id, actor, note)


@app.command("retire")
def retire(
    template_id: TemplateId,
    note: Annotated[str | None, typer.Option("--note", help="Why it is taken out of use.")] = None,
    actor: Actor = None,
) -> None:
    """Take a template out of use (or abandon a draft or a rejected version)."""
    _act("retire", template_id, actor, note)


@app.command("render")
def render(
    template_id: TemplateId,
    value: Annotated[list[str] | None, typer.Option("--value", "-v", help="name=value for a placeholder (repeat).")]
    = None,
) -> None:
    """Print an approved template with its placeholders filled."""
    from weiwai.compliance.templates import get_template, render_template
    from weiwai.db import session_scope
    from weiwai.errors import RuleViolation

    values: dict[str, str] = {}
    for item in value or []:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise RuleViolation(_("--value needs name=value, not {item}").format(item=item))
        values[name.strip()] = text
    with session_scope() as session:
        text = render_template(session=session, template=get_template(session=session, template_id=template_id),
                               values=values)
    console().print(text, markup=False, soft_wrap=True)
