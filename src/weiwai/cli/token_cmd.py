"""`weiwai tokens …`: API tokens of agency systems — issue (shown once), list, revoke.

Each command is one transaction. Domain errors are raised and shown by weiwai.cli.main
as one line with exit code 2.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from weiwai.i18n import _

app = typer.Typer(help="API tokens of agency systems: issue, list, revoke.", no_args_is_help=True)


def console(stderr: bool = False) -> Console:
    # Built per command so that COLUMNS and the terminal of this invocation apply.
    return Console(highlight=False, stderr=stderr)


def _agency_id(session, code: str) -> int:
    from sqlalchemy import select

    from weiwai.agencies.models import Agency
    from weiwai.errors import NotFound

    agency_id = session.scalar(select(Agency.id).where(Agency.code == code))
    if agency_id is None:
        raise NotFound(_("agency {code} not found").format(code=code))
    return agency_id


@app.command("issue")
def issue(
    agency: Annotated[str, typer.Option("--agency", help="Code of the agency whose system will use the token.")],
    name: Annotated[str, typer.Option("--name", help="What the token is for, e.g. the system using it.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="A permission to grant (repeat; default cases.read, actions.read, actions.write)."),
    ] = None,
    days: Annotated[int, typer.Option("--days", help="Days until the token expires (1-366).")] = 90,
) -> None:
    """Issue a token and print it once: it cannot be shown again."""
    from weiwai.cli.portfolio_cmd import cli_actor
    from weiwai.db import session_scope
    from weiwai.errors import RuleViolation
    from weiwai.security.permissions import TOKEN_SCOPES, Permission
    from weiwai.security.tokens import issue_token

    scopes = None
    if scope:
        try:
            scopes = {Permission(value) for value in scope}
        except ValueError:
            raise RuleViolation(
                _("unknown scope in {scopes}; allowed: {allowed}").format(
                    scopes=", ".join(scope), allowed=", ".join(sorted(TOKEN_SCOPES))),
                code="invalid_scope",
            ) from None
    with session_scope() as session:
        issued = issue_token(
            session=session, agency_id=_agency_id(session, agency), name=name, scopes=scopes,
            lifetime=timedelta(days=days), actor=cli_actor(),
        )
        token = issued.token
        summary = _("Issued token {id} ({name}) for {agency}: scopes {scopes}; expires {expires}.").format(
            id=token.id, name=token.name, agency=agency, scopes=", ".join(token.scopes),
            expires=token.expires_at.isoformat(timespec="minutes"),
        )
    out = console()
    out.print(summary)
    out.print(issued.secret, markup=False, soft_wrap=True)
    console(stderr=True).print(
        "[bold yellow]" + _("Store this token now: it will not be shown again.") + "[/]"
    )


@app.command("list")
def list_tokens(
    agency: Annotated[str | None, typer.Option("--agency", help="Only this agency's tokens (code).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most this many, newest first.")] = 200,
) -> None:
    """Tokens, newest first: agency, scopes, status, expiry, last use. Never the secret."""
    from weiwai.db import session_scope, utcnow
    from weiwai.security import tokens

    table = Table(title=_("API tokens"), title_justify="left")
    for header in (_("ID"), _("Agency"), _("Token name"), _("Prefix"), _("Scopes"), _("Status"), _("Expires"),
                   _("Last used"), _("Created by")):
        table.add_column(header)
    now = utcnow()
    with session_scope() as session:
        agency_id = _agency_id(session, agency) if agency is not None else None
        listings, total = tokens.list_tokens(session=session, agency_id=agency_id, limit=limit)
        for listing in listings:
            token = listing.token
            table.add_row(
                str(token.id), listing.agency_code, token.name, f"ww_{token.prefix}_…", ", ".join(token.scopes),
                tokens.token_status(token, now), token.expires_at.isoformat(timespec="minutes"),
                listing.last_used_at.isoformat(timespec="minutes") if listing.last_used_at else "",
                token.created_by,
            )
    out = console()
    out.print(table)
    if total > len(listings):
        out.print(_("Showing {shown} of {total}.").format(shown=len(listings), total=total))


@app.command("revoke")
def revoke(token_id: Annotated[int, typer.Argument(help="The token's ID (see `weiwai tokens list`).")]) -> None:
    """Revoke a token at once."""
    from weiwai.cli.portfolio_cmd import cli_actor
    from weiwai.db import session_scope
    from weiwai.security.tokens import revoke_token

    with session_scope() as session:
        token = revoke_token(session=session, token_id=token_id, actor=cli_actor())
        message = _("Revoked token {id} ({name}).").format(id=token.id, name=token.name)
    console().print(message)
