"""`weiwai audit …`: seal the audit log into its hash chain, verify the chain, show its head."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from weiwai.i18n import _

app = typer.Typer(help="The hash-chained audit log: seal, verify, head (docs/audit.md).", no_args_is_help=True)


def console(stderr: bool = False) -> Console:
    return Console(highlight=False, stderr=stderr)


def _bar(total: int, description: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console(stderr=True), transient=True, disable=total < 50_000)
    task = progress.add_task(description, total=total)
    return progress, lambda n: progress.advance(task, n)


@app.command("seal")
def seal_command(
    full: Annotated[bool, typer.Option("--full/--recent",
                                       help="Look at every event, or only those of the last day.")] = True,
) -> None:
    """Chain every audit event not yet chained (idempotent)."""
    from weiwai.db import session_scope
    from weiwai.security.audit_chain import head, seal, unsealed_count

    with session_scope() as session:
        progress, advance = _bar(unsealed_count(session=session), _("sealing"))
        with progress:
            count = seal(session=session, full=full, progress=advance)
        top = head(session=session)
    console().print(_("{count} events sealed; head seq {seq} hash {hash}").format(count=count, seq=top.seq,
                                                                                 hash=top.hash))


@app.command("verify")
def verify_command(
    grace_minutes: Annotated[int, typer.Option("--grace-minutes", min=0,
                                               help="How long an event may wait to be sealed.")] = 60,
    anchor: Annotated[str | None, typer.Option("--anchor", help="SEQ:HASH recorded earlier with `weiwai audit head`.")] = None,
) -> None:
    """Recompute the chain; exit 1 naming the first changed, deleted or inserted entry."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from weiwai.db import session_scope
    from weiwai.security.audit_chain import verify
    from weiwai.security.models import AuditChainLink

    anchored = None
    if anchor is not None:
        seq, _sep, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            console(stderr=True).print(_("--anchor must be SEQ:HASH (64 hex digits)"))
            raise typer.Exit(2)
        anchored = (int(seq), digest.lower())
    with session_scope() as session:
        total = session.scalar(select(func.count()).select_from(AuditChainLink)) or 0
        progress, advance = _bar(total, _("verifying"))
        with progress:
            result = verify(session=session, grace=timedelta(minutes=grace_minutes), anchor=anchored,
                            progress=advance)
    out = console()
    if result.ok:
        out.print(_("audit chain intact: {checked} links, head seq {seq} hash {hash}; {pending} events awaiting "
                    "sealing").format(checked=result.checked, seq=result.head_seq, hash=result.head_hash,
                                      pending=result.pending))
        return
    problem = result.problem
    console(stderr=True).print(
        _("audit chain BROKEN: {kind} at seq {seq}, event {event}: {detail}").format(
            kind=problem.kind, seq=problem.seq if problem.seq is not None else "-",
            event=problem.event_id if problem.event_id is not None else "-", detail=problem.detail)
    )
    raise typer.Exit(1)


@app.command("head")
def head_command() -> None:
    """The newest link (seq and hash): record it outside the database to detect a rewritten tail."""
    from weiwai.db import session_scope
    from weiwai.security.audit_chain import head

    with session_scope() as session:
        top = head(session=session)
    console().print(f"{top.seq}:{top.hash}")
