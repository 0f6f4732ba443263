"""`weiwai config …`: check the effective settings and create real secrets."""

from __future__ import annotations

import base64
import secrets

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Settings: check them, and generate secrets for production.", no_args_is_help=True)
console = Console()


@app.command("new-secrets")
def new_secrets(key_id: str = typer.Option("k1", help="Id of the new data-encryption key.")) -> None:
    """Print fresh random secrets as lines for an .env file (keep them out of version control)."""
    print(f"WEIWAI_DATA_KEYS={key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}")
    print(f"WEIWAI_ACTIVE_KEY_ID={key_id}")
    print(f"WEIWAI_BLIND_INDEX_KEY={secrets.token_urlsafe(48)}")
    print(f"WEIWAI_SECRET_KEY={secrets.token_urlsafe(48)}")


@app.command("check")
def check() -> None:
    """Validate the settings and show them, secrets redacted."""
    from sqlalchemy.engine import make_url

    from weiwai.config import get_settings

    settings = get_settings()
    table = Table("setting", "value")
    table.add_row("database_url", make_url(settings.database_url).render_as_string(hide_password=True))
    table.add_row("demo_mode", str(settings.demo_mode))
    table.add_row("data keys", ", ".join(settings.parsed_data_keys()) + f" (active: {settings.active_key_id})")
    table.add_row("default_time_zone", settings.default_time_zone)
    table.add_row("default_locale", settings.default_locale)
    table.add_row("buckets", ", ".join(
        f"{b.label} {b.min_dpd}-{'' if b.max_dpd is None else b.max_dpd}" for b in settings.buckets))
    table.add_row("payment_waterfall", " > ".join(settings.payment_waterfall))
    console.print(table)
