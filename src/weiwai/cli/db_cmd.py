"""`weiwai db …`: schema migrations and the application's database role."""

from __future__ import annotations

import typer
from rich.console import Console

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
console = Console()


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from weiwai.config import get_settings
    from weiwai.migrate import current_revision
    from weiwai.migrate import upgrade as run_upgrade

    url = get_settings().database_url
    run_upgrade(url, revision)
    console.print(f"schema at revision {current_revision(url)} ({_redacted(url)})")


@app.command("current")
def current() -> None:
    """Show the schema revision of the database."""
    from weiwai.config import get_settings
    from weiwai.migrate import current_revision

    url = get_settings().database_url
    console.print(current_revision(url) or "empty (run: weiwai db upgrade)")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command("revision")
def revision(message: str = typer.Option(..., "--message", "-m", help="What the schema change is.")) -> None:
    """For developers: write a new migration from the difference between the models and the
    database (which must be at the newest revision)."""
    from alembic import command

    from weiwai.config import get_settings
    from weiwai.migrate import alembic_config

    script = command.revision(alembic_config(get_settings().database_url), message=message, autogenerate=True)
    console.print(f"wrote {script.path}" if script is not None else "nothing written")


@app.command("app-role")
def app_role(
    name: str = typer.Argument(..., help="The PostgreSQL role the application will connect as."),
    password_env: str | None = typer.Option(None, "--password-env",
                                            help="Environment variable holding the role's password."),
) -> None:
    """Create or update the PostgreSQL login role the application runs as (run as the schema owner).

    It gets SELECT/INSERT/UPDATE/DELETE on every table but only SELECT/INSERT on the audit
    log (audit_events, audit_chain). Run it again after every `weiwai db upgrade`.
    """
    import os

    from weiwai.db import session_scope
    from weiwai.security.db_role import ensure_app_role

    password = None
    if password_env is not None:
        password = os.environ.get(password_env)
        if not password:
            console.print(f"environment variable {password_env} is not set")
            raise typer.Exit(2)
    with session_scope() as session:
        statements = ensure_app_role(session=session, name=name, password=password)
    for statement in statements:
        console.print(statement, highlight=False)
    console.print(f"role {name} ready: point WEIWAI_DATABASE_URL of the application at it")
