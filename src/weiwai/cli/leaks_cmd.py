"""`weiwai leaks …`: trace a leaked file to its agency and package; canary sightings.

    weiwai leaks trace found-online.xlsx
    weiwai leaks sightings --suspected
"""

from __future__ import annotations

from pathlib import Path

import typer

from weiwai.i18n import _
from weiwai.placements.render import console, default_actor

app = typer.Typer(help="Leak tracing with canary records (泄露溯源).", no_args_is_help=True)


@app.command("trace")
def trace(
    file: Path = typer.Argument(..., help="The leaked file: CSV, XLSX, TXT or JSON, of any shape."),  # noqa: B008
    actor: str | None = typer.Option(None, help="Who is acting (default: cli:<login name>)."),
) -> None:
    """Name the agency, contract and package a leaked file came from (canaries found; real cases overlapping)."""
    from rich.table import Table

    from weiwai.db import session_scope
    from weiwai.privacy.leaks import trace_file

    with session_scope() as session:
        result = trace_file(session=session, path=file, actor=actor or default_actor())
    out = console()
    if not result.packages:
        out.print(_("{file}: no canary record found").format(file=file.name), highlight=False)
    else:
        top = result.packages[0]
        out.print(_("{file}: from agency {agency} ({name}), contract {contract}, package {package} — {n} of its {total} "
                    "canaries found").format(file=file.name, agency=top.agency_code, name=top.agency_name,
                                             contract=top.contract_no, package=top.package_no,
                                             n=top.canaries_matched, total=top.canaries_in_package), highlight=False)
        table = Table(_("Package"), _("Agency"), _("Contract"), _("Canaries found"), _("Matched by"))
        for match in result.packages:
            table.add_row(match.package_no, match.agency_code, match.contract_no,
                          f"{match.canaries_matched}/{match.canaries_in_package}",
                          ", ".join(f"{k} {v}" for k, v in match.matched_by.items()))
        out.print(table)
    if result.overlaps:
        out.print(_("Real case numbers in the file: {n}; packages that released them:").format(
            n=result.real_cases_found), highlight=False)
        table = Table(_("Package"), _("Agency"), _("Contract"), _("Cases"))
        for overlap in result.overlaps:
            table.add_row(overlap.package_no, overlap.agency_code, overlap.contract_no, str(overlap.real_cases_found))
        out.print(table)


@app.command("sightings")
def sightings(
    agency: str | None = typer.Option(None, "--agency", help="Only canaries of this agency (code)."),
    suspected: bool = typer.Option(False, "--suspected", help="Only suspected leaks."),
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
) -> None:
    """Uses of canary records, newest first."""
    from rich.table import Table
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.db import session_scope
    from weiwai.errors import NotFound
    from weiwai.privacy.canaries import list_sightings

    with session_scope() as session:
        agency_id = None
        if agency:
            agency_id = session.scalar(select(Agency.id).where(Agency.code == agency.strip().upper()))
            if agency_id is None:
                raise NotFound(_("no agency {ref}").format(ref=agency))
        rows, total = list_sightings(session=session, agency_id=agency_id, leak_suspected=True if suspected else None,
                                     limit=limit)
        table = Table(_("When"), _("Source"), _("Actor"), _("Canary of"), _("Package"), _("Leak suspected"))
        for sighting, canary in rows:
            table.add_row(sighting.seen_at.isoformat(timespec="seconds"), sighting.source, sighting.actor,
                          str(sighting.details.get("agency") or canary.agency_id),
                          str(sighting.details.get("package_no") or ""), _("yes") if sighting.leak_suspected else "")
    console().print(table)
    console().print(_("{n} sighting(s)").format(n=total), highlight=False)
