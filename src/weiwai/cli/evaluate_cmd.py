"""`weiwai evaluate …`: compare agencies on comparable cases, store scorecards, close cases.

Each command is one transaction. Domain errors are raised and shown by weiwai.cli.main
as one line with exit code 2.
"""

from __future__ import annotations

import getpass
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from weiwai.i18n import _
from weiwai.placements.models import CloseReason

app = typer.Typer(help="Evaluate agencies on comparable cases, store scorecards, close cases.", no_args_is_help=True)

DATE_FORMATS = ["%Y-%m-%d"]
ACTOR_HELP = "Who is acting, for history and audit (default: cli:<login name>)."
# The KPIs shown per stratum in the terminal; the XLSX export has all of them.
STRATUM_KPIS = ("recovery_rate_amount", "recovery_rate_count", "net_back", "contact_rate", "rpc_rate", "coverage",
                "ptp_kept_rate")


def _console() -> Console:
    # Built per command so that COLUMNS and the terminal of this invocation apply.
    return Console(highlight=False)


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment (containers)
        login = "unknown"
    return f"cli:{login}"


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def _print_evaluation(evaluation) -> None:
    from weiwai.reports.kpis import KPI_NAMES
    from weiwai.reports.labels import fact_label, kpi_label, show_kpi, show_percent

    out = _console()
    if not evaluation.overall:
        out.print(_("No cases to evaluate."))
        return
    for stratum in evaluation.strata:
        table = Table(title=_("{bucket} · {band} · {region}: {cases} cases, {balance} placed").format(
            bucket=stratum.bucket, band=stratum.balance_band, region=stratum.region, cases=stratum.cases,
            balance=stratum.balance_placed), title_justify="left")
        table.add_column(_("Agency"), no_wrap=True)
        for name in ("cases", "recovered"):
            table.add_column(fact_label(name), justify="right")
        for name in STRATUM_KPIS:
            table.add_column(kpi_label(name), justify="right")
        for result in stratum.agencies:
            table.add_row(result.agency_code, str(result.facts.cases), str(result.facts.recovered),
                          *(show_kpi(name, getattr(result.kpis, name)) for name in STRATUM_KPIS))
        out.print(table)
    table = Table(title=_("Overall, reweighted to the common stratum mix"), title_justify="left")
    table.add_column(_("KPI"))
    for overall in evaluation.overall:
        table.add_column(overall.agency_code, justify="right")
    table.add_row(fact_label("cases"), *(str(o.facts.cases) for o in evaluation.overall))
    table.add_row(_("Share of the mix held"), *(show_percent(o.mix_share) for o in evaluation.overall))
    for name in KPI_NAMES:
        table.add_row(kpi_label(name), *(show_kpi(name, getattr(o.mix_adjusted, name)) for o in evaluation.overall))
    table.add_row(_("{kpi}, as placed").format(kpi=kpi_label("recovery_rate_amount")),
                  *(show_kpi("recovery_rate_amount", o.as_placed.recovery_rate_amount) for o in evaluation.overall))
    out.print(table)


def _export(session, evaluation, xlsx: Path, actor: str, entity_id: str) -> None:
    from weiwai.reports.export import evaluation_workbook
    from weiwai.security import audit

    xlsx.write_bytes(evaluation_workbook(evaluation))
    audit.record(session=session, actor=actor, action="export", entity="evaluation", entity_id=entity_id,
                 details={"file": str(xlsx)})
    _console().print(_("Written {file}").format(file=xlsx))


@app.command("batch")
def batch(
    batch_no: str = typer.Argument(..., help="The placement batch number."),
    as_of: datetime | None = typer.Option(None, formats=DATE_FORMATS, help="YYYY-MM-DD (default: today)."),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="Also write the evaluation to this XLSX file."),
    store: bool = typer.Option(False, "--store", help="Also store the scorecards (replacing that day's)."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Agencies of a batch compared stratum by stratum, and overall on the batch's mix."""
    from weiwai.clock import today_local
    from weiwai.db import session_scope
    from weiwai.reports.evaluation import evaluate_batch
    from weiwai.reports.scorecards import save_scorecards

    day = _day(as_of) or today_local()
    with session_scope() as session:
        evaluation = evaluate_batch(session=session, batch_no=batch_no, as_of=day)
        _print_evaluation(evaluation)
        if xlsx is not None:
            _export(session, evaluation, xlsx, _actor(actor), batch_no)
        if store:
            rows = save_scorecards(session=session, evaluation=evaluation)
            _console().print(_("Stored {count} scorecards as of {day}").format(count=len(rows), day=day))


@app.command("agencies")
def agencies(
    date_from: datetime = typer.Option(..., "--from", formats=DATE_FORMATS, help="First day, YYYY-MM-DD."),
    date_to: datetime = typer.Option(..., "--to", formats=DATE_FORMATS, help="Last day, YYYY-MM-DD."),
    xlsx: Path | None = typer.Option(None, "--xlsx", help="Also write the evaluation to this XLSX file."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Agencies compared stratum by stratum over a period, on every case they held in it."""
    from weiwai.db import session_scope
    from weiwai.reports.evaluation import evaluate_agencies

    with session_scope() as session:
        evaluation = evaluate_agencies(session=session, date_from=date_from.date(), date_to=date_to.date())
        _print_evaluation(evaluation)
        if xlsx is not None:
            _export(session, evaluation, xlsx, _actor(actor), f"{date_from.date()}..{date_to.date()}")


@app.command("scorecards")
def scorecards(
    as_of: datetime | None = typer.Option(None, formats=DATE_FORMATS, help="YYYY-MM-DD (default: today)."),
) -> None:
    """Compute and store scorecards of every active (or recently closed) batch."""
    from weiwai.clock import today_local
    from weiwai.db import session_scope
    from weiwai.reports.scorecards import store_active_scorecards

    day = _day(as_of) or today_local()
    with session_scope() as session:
        result = store_active_scorecards(session=session, as_of=day)
    _console().print(_("Stored {scorecards} scorecards of {batches} batches as of {day}").format(
        scorecards=result["scorecards"], batches=result["batches"], day=day))


@app.command("close-case")
def close_case_command(
    case_no: str = typer.Argument(..., help="The case number."),
    reason: CloseReason = typer.Option(..., "--reason", help="Why the case is closed."),
    note: str | None = typer.Option(None, help="A note kept with the case."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Close a case with a reason (an open case passes through its ending state)."""
    from weiwai.db import session_scope
    from weiwai.reports.closing import close_case, get_case

    with session_scope() as session:
        case = close_case(session=session, case_id=get_case(session=session, case_no=case_no).id, reason=reason,
                          actor=_actor(actor), note=note)
        _console().print(_("Closed case {case_no} ({reason})").format(case_no=case.case_no, reason=case.close_reason))


@app.command("close-ended")
def close_ended(
    batch_no: str | None = typer.Option(None, "--batch", help="Only cases of this batch."),
    actor: str | None = typer.Option(None, help=ACTOR_HELP),
) -> None:
    """Close every ended case (paid, settled, returned, recalled, expired) with the reason of its state."""
    from weiwai.db import session_scope
    from weiwai.reports.closing import close_ended_cases
    from weiwai.reports.evaluation import get_batch

    with session_scope() as session:
        batch_id = get_batch(session=session, batch_no=batch_no).id if batch_no else None
        count = close_ended_cases(session=session, actor=_actor(actor), batch_id=batch_id)
    _console().print(_("Closed {count} ended cases").format(count=count))
