"""`weiwai deletion …`: handover copies due for deletion, deletion certificates, the retention purge."""

from __future__ import annotations

from datetime import date

import typer
from rich.console import Console
from rich.table import Table

from weiwai.cli.action_cmd import _agency_id, default_actor
from weiwai.i18n import _

app = typer.Typer(help="End of entrustment: deletion dues and certificates; the lender's retention purge.",
                  no_args_is_help=True)
console = Console()


@app.command("dues")
def dues(
    agency: str | None = typer.Option(None, "--agency", help="Agency code."),
    overdue: bool = typer.Option(False, "--overdue", help="Only overdue, uncertified dues."),
    package: str | None = typer.Option(None, "--package", help="Package number."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Record dues of cases ended since the job."),
) -> None:
    """Released cases whose copies the agency must delete, earliest due first."""
    from weiwai.clock import today_local
    from weiwai.db import session_scope
    from weiwai.handover.service import get_package_by_no
    from weiwai.privacy.deletion import create_due_rows, list_dues

    with session_scope() as session:
        today = today_local()
        if refresh:
            create_due_rows(session=session, on=today)
        package_id = get_package_by_no(session=session, package_no=package).id if package else None
        rows, total = list_dues(session=session, today=today, agency_id=_agency_id(session, agency),
                                package_id=package_id, overdue=True if overdue else None, limit=500)
        table = Table(_("Deletion dues ({total})").format(total=total))
        for column in (_("package"), _("case"), _("agency"), _("ended"), _("due on"), _("state")):
            table.add_column(column)
        for row in rows:
            state = _("certified") if row.certificate_id else (_("OVERDUE") if row.overdue else _("due"))
            table.add_row(row.package_no, row.case_no, str(row.agency_id), row.case_ended_at.date().isoformat(),
                          row.due_on.isoformat(), state)
    console.print(table)


@app.command("certify")
def certify(
    agency: str = typer.Option(..., "--agency", help="Agency code."),
    package: list[str] = typer.Option(..., "--package", help="Package number (repeat)."),
    deleted_on: str = typer.Option(..., "--deleted-on", help="Day the copies were deleted (YYYY-MM-DD)."),
    method: str = typer.Option(..., "--method", help="secure_erase, crypto_erase, shredding or degaussing."),
    signed_by: str = typer.Option(..., "--signed-by", help="Name of the agency's signatory."),
    title: str = typer.Option(..., "--title", help="Title of the signatory."),
    statement: str = typer.Option(..., "--statement", help="The agency's statement."),
    evidence_ref: str = typer.Option(..., "--evidence-ref", help="Where the signed certificate is filed."),
    actor: str | None = typer.Option(None, "--actor"),
) -> None:
    """Record an agency's deletion certificate (lender staff, on the agency's behalf, with the evidence)."""
    from pydantic import ValidationError

    from weiwai.db import session_scope
    from weiwai.errors import RuleViolation
    from weiwai.handover.service import get_package_by_no
    from weiwai.privacy.deletion import CertificateCreate, submit_certificate

    with session_scope() as session:
        agency_id = _agency_id(session, agency)
        package_ids = [get_package_by_no(session=session, package_no=no).id for no in package]
        try:
            data = CertificateCreate(agency_id=agency_id, package_ids=package_ids, deleted_on=date.fromisoformat(
                deleted_on), method=method, signed_by_name=signed_by, signed_by_title=title, statement=statement,
                evidence_ref=evidence_ref)
        except (ValidationError, ValueError) as exc:
            raise RuleViolation(str(exc).splitlines()[0] if not isinstance(exc, ValidationError)
                                else "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        certificate = submit_certificate(session=session, data=data, agency_id=agency_id,
                                         actor=actor or default_actor(), on_behalf=True)
        number, rows = certificate.certificate_no, certificate.rows_certified
    console.print(_("Certificate {no}: {rows} deletion dues certified").format(no=number, rows=rows), highlight=False)


@app.command("certificates")
def certificates(agency: str | None = typer.Option(None, "--agency", help="Agency code.")) -> None:
    """Deletion certificates, newest first."""
    from weiwai.db import session_scope
    from weiwai.privacy.deletion import list_certificates

    with session_scope() as session:
        rows, total = list_certificates(session=session, agency_id=_agency_id(session, agency), limit=500)
        table = Table(_("Deletion certificates ({total})").format(total=total))
        for column in (_("certificate"), _("agency"), _("packages"), _("deleted on"), _("method"), _("signed by"),
                       _("dues certified")):
            table.add_column(column)
        for row in rows:
            table.add_row(row.certificate_no, str(row.agency_id), ", ".join(map(str, row.package_ids)),
                          row.deleted_on.isoformat(), row.method, f"{row.signed_by_name} ({row.signed_by_title})",
                          str(row.rows_certified))
    console.print(table)


@app.command("purge")
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count who would be purged."),
    run_for: str | None = typer.Option(None, "--as-of", help="Day to judge on (default today)."),
    actor: str | None = typer.Option(None, "--actor"),
) -> None:
    """Erase the personal data of debtors whose relationship ended longer ago than the pack's retention."""
    from weiwai.clock import today_local
    from weiwai.db import session_scope
    from weiwai.privacy.retention import purge as run_purge

    with session_scope() as session:
        result = run_purge(session=session, run_for=date.fromisoformat(run_for) if run_for else today_local(),
                           actor=actor or default_actor(), dry_run=dry_run)
    if dry_run:
        console.print(_("{n} debtors would be purged (retention {years} years, relationship ended before {cutoff})")
                      .format(n=result.eligible, years=result.retention_years, cutoff=result.cutoff.isoformat()),
                      highlight=False)
    else:
        console.print(_("{n} debtors purged (retention {years} years, relationship ended before {cutoff})")
                      .format(n=result.purged, years=result.retention_years, cutoff=result.cutoff.isoformat()),
                      highlight=False)
