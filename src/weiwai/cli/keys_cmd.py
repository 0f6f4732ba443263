"""`weiwai keys …`: which data key seals how many values, and key rotation.

`rotate` commits one transaction per batch; it is safe to interrupt and rerunning resumes.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from weiwai.i18n import _

app = typer.Typer(help="Data-encryption keys: status and rotation.", no_args_is_help=True)


def console(stderr: bool = False) -> Console:
    return Console(highlight=False, stderr=stderr)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli"


@app.command("status")
def status() -> None:
    """Values per key id in every sealed column."""
    from weiwai.db import session_scope
    from weiwai.security.crypto import get_keyring
    from weiwai.security.keys import status as key_status

    keyring = get_keyring()
    with session_scope() as session:
        counts = key_status(session=session)
    kids = sorted(set(keyring.keys) | {kid for per_kid in counts.values() for kid in per_kid})
    table = Table(title=_("Sealed values per key (active: {kid})").format(kid=keyring.active_key_id))
    table.add_column(_("column"))
    for kid in kids:
        label = f"{kid} *" if kid == keyring.active_key_id else kid
        table.add_column(label, justify="right")
    for column, per_kid in counts.items():
        table.add_row(column, *(str(per_kid.get(kid, 0)) for kid in kids))
    out = console()
    out.print(table)
    pending = sum(n for per_kid in counts.values() for kid, n in per_kid.items() if kid != keyring.active_key_id)
    out.print(_("{count} values not under the active key").format(count=pending))


@app.command("rotate")
def rotate(
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Values per transaction.")] = 1000,
) -> None:
    """Re-encrypt every sealed value under the active key, in batches (resumable)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from weiwai.db import new_session, session_scope
    from weiwai.errors import RuleViolation
    from weiwai.security import audit
    from weiwai.security.crypto import get_keyring
    from weiwai.security.keys import SettingsKeyProvider
    from weiwai.security.keys import rotate as rotate_keys

    provider = SettingsKeyProvider()
    if provider.active_key_id not in provider.keys():
        raise RuleViolation(
            _("active key {kid} is not in the keyring").format(kid=provider.active_key_id), code="unknown_active_key"
        )
    keyring = get_keyring()
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console(stderr=True), transient=True)
    tasks: dict[str, int] = {}

    def progress(column: str, done: int, total: int) -> None:
        if column not in tasks:
            tasks[column] = bar.add_task(column, total=total)
        bar.update(tasks[column], completed=done, total=total)

    with bar:
        report = rotate_keys(session_factory=new_session, batch_size=batch_size, progress=progress, keyring=keyring)
    with session_scope() as session:
        audit.record(session=session, actor=_actor(), action="keys.rotate", entity="keyring",
                     entity_id=report.active_key_id, details=report.as_dict())

    table = Table(title=_("Rotated to key {kid}").format(kid=report.active_key_id))
    table.add_column(_("column"))
    table.add_column(_("examined"), justify="right")
    table.add_column(_("re-encrypted"), justify="right")
    for column, counts in report.columns.items():
        table.add_row(column, str(counts.examined), str(counts.reencrypted))
    table.add_row(_("total"), str(report.examined), str(report.reencrypted))
    console().print(table)
