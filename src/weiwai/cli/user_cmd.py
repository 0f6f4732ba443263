"""`weiwai user …`: create, list, deactivate and reactivate the people who sign in, reset passwords.

The password is prompted for (twice, hidden) or read from standard input with
--password-stdin, never taken as an argument where shell history would keep it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from weiwai.i18n import _
from weiwai.security.models import Role

app = typer.Typer(help="People who sign in to weiwai.", no_args_is_help=True)
console = Console()


@app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, '.', '_', '-').")],
    role: Annotated[Role, typer.Option("--role", help="What the user may do.")],
    display_name: Annotated[str, typer.Option("--display-name", help="Name shown in the application.")],
    agency: Annotated[str | None, typer.Option("--agency", help="Agency code (agency roles only).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
) -> None:
    """Create a user; the password is prompted for unless --password-stdin."""
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.cli.portfolio_cmd import cli_actor
    from weiwai.db import session_scope
    from weiwai.errors import NotFound
    from weiwai.security.service import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(_("Password"), hide_input=True, confirmation_prompt=True)
    with session_scope() as session:
        agency_id = None
        if agency is not None:
            agency_id = session.scalar(select(Agency.id).where(Agency.code == agency))
            if agency_id is None:
                raise NotFound(_("agency {code} not found").format(code=agency))
        user = create_user(
            session=session,
            username=username,
            display_name=display_name,
            role=role,
            password=password,
            agency_id=agency_id,
            actor=cli_actor(),
        )
        console.print(_("Created user {username} ({role}).").format(username=user.username, role=user.role),
                      highlight=False)


@app.command("list")
def list_users() -> None:
    """Every user: role, agency, whether active or locked, last sign-in."""
    from weiwai.db import session_scope, utcnow
    from weiwai.security.service import list_users as all_users

    table = Table(title=_("Users"), title_justify="left")
    for header in (_("Username"), _("Display name"), _("Role"), _("Agency"), _("Enabled"), _("Locked until"),
                   _("Last sign-in")):
        table.add_column(header)
    now = utcnow()
    with session_scope() as session:
        for user, agency_code in all_users(session=session):
            locked = user.locked_until.isoformat(timespec="minutes") if user.locked_until and user.locked_until > now else ""
            table.add_row(
                user.username,
                user.display_name,
                str(user.role),
                agency_code or "",
                _("yes") if user.is_active else _("no"),
                locked,
                user.last_login_at.isoformat(timespec="minutes") if user.last_login_at else "",
            )
    console.print(table)


def _set_active(username: str, active: bool) -> str:
    from weiwai.cli.portfolio_cmd import cli_actor
    from weiwai.db import session_scope
    from weiwai.security.service import find_user, update_user

    with session_scope() as session:
        user = update_user(session=session, user=find_user(session=session, username=username), is_active=active,
                           actor=cli_actor())
        return user.username


@app.command("deactivate")
def deactivate(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Stop a user from signing in; their open sessions stop working at once."""
    name = _set_active(username, False)
    console.print(_("Deactivated user {username}.").format(username=name), highlight=False)


@app.command("activate")
def activate(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Let a deactivated user sign in again."""
    name = _set_active(username, True)
    console.print(_("Reactivated user {username}.").format(username=name), highlight=False)


@app.command("reset-password")
def reset_password(
    username: Annotated[str, typer.Argument(help="Login name.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from the first line of standard input.")
    ] = False,
) -> None:
    """Set a new password for a user (also lifts a lockout)."""
    from weiwai.cli.portfolio_cmd import cli_actor
    from weiwai.db import session_scope
    from weiwai.security.service import find_user, set_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(_("New password"), hide_input=True, confirmation_prompt=True)
    with session_scope() as session:
        user = set_password(session=session, user=find_user(session=session, username=username),
                            new_password=password, actor=cli_actor(), own=False)
        name = user.username
    console.print(_("Password of {username} reset.").format(username=name), highlight=False)
