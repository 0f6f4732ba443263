"""Terminal output of the screening, placement, case and job commands (rich tables).

Kept apart from the commands so that each command module stays a thin layer: parse the
options, open one transaction, call a service, render.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from rich.console import Console
from rich.table import Table

from weiwai.i18n import _, format_money
from weiwai.placements.schemas import (
    AccountExplanation,
    BatchRead,
    CaseOutcome,
    CaseRead,
    PlacementPreview,
    ScreeningPreview,
    Tally,
)

DATE_FORMATS = ["%Y-%m-%d"]


def console() -> Console:
    # Built per command so that the terminal of this invocation (COLUMNS…) applies.
    return Console(highlight=False)


def default_actor() -> str:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment (containers)
        login = "unknown"
    return f"cli:{login}"


def day_or_today(value: datetime | None) -> date:
    from weiwai.placements.common import local_today

    return value.date() if value is not None else local_today()


def money(amount) -> str:
    return format_money(amount)


def tally_table(title: str, tallies: Iterable[Tally]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(_("value"))
    table.add_column(_("accounts"), justify="right")
    table.add_column(_("balance"), justify="right")
    for tally in tallies:
        table.add_row(tally.key, str(tally.count), money(tally.balance))
    return table


def print_screening(out: Console, preview: ScreeningPreview) -> None:
    out.print(_("Screening as of {day}: {screened} open accounts ({balance}), {eligible} eligible ({eligible_balance})")
              .format(day=preview.as_of.isoformat(), screened=preview.screened, balance=money(preview.screened_balance),
                      eligible=preview.eligible, eligible_balance=money(preview.eligible_balance)))
    out.print(tally_table(_("Eligible by bucket"), preview.by_bucket))
    out.print(tally_table(_("Eligible by credit grade"), preview.by_grade))
    out.print(tally_table(_("Eligible by region"), preview.by_region))
    table = Table(title=_("Excluded, by reason (an account failing several criteria counts under each)"),
                  title_justify="left")
    table.add_column(_("reason"))
    table.add_column(_("code"))
    table.add_column(_("accounts"), justify="right")
    table.add_column(_("balance"), justify="right")
    for reason in preview.exclusions:
        table.add_row(reason.label, reason.code, str(reason.count), money(reason.balance))
    out.print(table)


def print_explanation(out: Console, explanation: AccountExplanation) -> None:
    verdict = _("eligible") if explanation.eligible else _("not eligible")
    out.print(_("Account {account_no} as of {day}: {verdict} ({dpd} days past due, {bucket}, {band})").format(
        account_no=explanation.account_no, day=explanation.as_of.isoformat(), verdict=verdict,
        dpd=explanation.dpd, bucket=explanation.bucket, band=explanation.balance_band))
    table = Table()
    table.add_column(_("criterion"))
    table.add_column(_("result"))
    table.add_column(_("facts"))
    for check in explanation.checks:
        result = "[green]✓[/]" if check.passed else "[red]✗ " + _("fails") + "[/]"
        table.add_row(check.label, result, check.detail)
    out.print(table)
    for cooling in explanation.cooling_off:
        out.print(_("Cooling off: returned by {agency} on {day}; not to {agency} before {next_day}").format(
            agency=cooling.agency_code, day=cooling.returned_on.isoformat(),
            next_day=(cooling.last_day + timedelta(days=1)).isoformat()))


def print_placement(out: Console, preview: PlacementPreview) -> None:
    out.print(_("Allocation as of {day} with {strategy}: {allocated} of {eligible} eligible accounts allocated "
                "({balance} of {eligible_balance})").format(
        day=preview.as_of.isoformat(), strategy=preview.strategy["name"], allocated=preview.allocated,
        eligible=preview.eligible, balance=money(preview.allocated_balance),
        eligible_balance=money(preview.eligible_balance)))
    table = Table(title=_("Per agency"), title_justify="left")
    for heading, justify in ((_("agency"), "left"), (_("cases"), "right"), (_("balance"), "right"),
                             (_("free cases before"), "right"), (_("free balance before"), "right"),
                             (_("by arm"), "left")):
        table.add_column(heading, justify=justify)
    for agency in preview.agencies:
        arms = ", ".join(f"{arm} {count}" for arm, count in sorted(agency.by_arm.items()))
        table.add_row(agency.code, str(agency.cases), money(agency.balance), str(agency.cases_free_before),
                      money(agency.balance_free_before), arms)
    out.print(table)
    if len(preview.arms) > 1:
        out.print(tally_table(_("Per arm"), preview.arms))
    if preview.unallocated:
        table = Table(title=_("Not allocated"), title_justify="left")
        table.add_column(_("reason"))
        table.add_column(_("accounts"), justify="right")
        table.add_column(_("balance"), justify="right")
        for reason in preview.unallocated:
            table.add_row(reason.label, str(reason.count), money(reason.balance))
        out.print(table)
    for skipped in preview.skipped_agencies:
        out.print(_("Skipped agency {code}: {reason}").format(code=skipped.code, reason=skipped.reason))


def print_batch(out: Console, batch: BatchRead) -> None:
    table = Table(show_header=False)
    table.add_column()
    table.add_column()
    for label, value in (
        (_("batch"), batch.batch_no), (_("status"), batch.status), (_("as of"), batch.as_of.isoformat()),
        (_("rule set"), batch.rule_set), (_("strategy"), str(batch.strategy)),
        (_("cases"), f"{batch.cases} ({_('open')}: {batch.open_cases})"),
        (_("created"), f"{batch.created_at:%Y-%m-%d %H:%M} {batch.created_by}"),
        (_("confirmed"), f"{batch.confirmed_at:%Y-%m-%d %H:%M} {batch.confirmed_by}" if batch.confirmed_at else "—"),
        (_("closed"), f"{batch.closed_at:%Y-%m-%d %H:%M}" if batch.closed_at else "—"),
    ):
        table.add_row(label, value)
    out.print(table)
    if batch.summary.get("agencies"):
        print_placement(out, PlacementPreview.model_validate(batch.summary))


def print_case(out: Console, case: CaseRead) -> None:
    table = Table(show_header=False)
    table.add_column()
    table.add_column()
    for label, value in (
        (_("case"), case.case_no), (_("batch"), case.batch_no), (_("account"), case.account_no),
        (_("agency"), case.agency_code), (_("contract"), case.contract_no), (_("status"), case.status),
        (_("stratum"), f"{case.bucket} / {case.balance_band} / {case.region}"),
        (_("balance placed"), money(case.balance_placed)),
        (_("period ends on"), f"{case.period_ends_on.isoformat()} ({_('extended')} {case.extended_count}×)"),
        (_("ended"), f"{case.ended_at:%Y-%m-%d %H:%M} {case.close_reason or ''}" if case.ended_at else "—"),
        (_("continues"), case.previous_case_no or "—"),
    ):
        table.add_row(label, value)
    out.print(table)
    history = Table(title=_("History"), title_justify="left")
    for heading in (_("when"), _("from"), _("to"), _("by"), _("reason")):
        history.add_column(heading)
    for change in case.history:
        history.add_row(f"{change.changed_at:%Y-%m-%d %H:%M}", change.from_status or "—", change.to_status,
                        change.changed_by, change.reason or "")
    out.print(history)


def print_outcome(out: Console, verb: str, outcome: CaseOutcome) -> None:
    out.print(_("{verb}: {count} case(s)").format(verb=verb, count=len(outcome.cases)))
    for case_no in outcome.cases[:50]:
        out.print(f"  {case_no}")
    if len(outcome.cases) > 50:
        out.print("  " + _("… and {count} more").format(count=len(outcome.cases) - 50))
    if outcome.new_batch:
        out.print(_("New batch {batch_no}").format(batch_no=outcome.new_batch))
    for batch_no in outcome.closed_batches:
        out.print(_("Batch {batch_no} closed: all its cases have ended").format(batch_no=batch_no))

