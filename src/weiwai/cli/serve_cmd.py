"""`weiwai serve`: the web server."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()


def serve(
    host: str = typer.Option(None, help="Address to bind (default from WEIWAI_HOST)."),
    port: int = typer.Option(None, help="Port (default from WEIWAI_PORT)."),
    workers: int = typer.Option(1, help="Worker processes."),
    jobs: bool = typer.Option(True, "--jobs/--no-jobs", help="Run due jobs on a schedule in the background."),
) -> None:
    """Start the web server and API (and the job scheduler), and print where to reach it."""
    import os

    import uvicorn

    from weiwai.config import get_settings

    if jobs:
        # Read by the app factory in every worker process.
        os.environ["WEIWAI_RUN_JOBS"] = "true"
    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    console.print(f"[bold]weiwai[/] serving on [link]http://{host}:{port}/[/link]  (API docs: /api/docs)")
    if settings.demo_mode:
        console.print(
            f"[yellow]demo mode[/]: encryption and session keys were generated into {settings.demo_key_file}; "
            "never use demo mode for real data"
        )
        _print_demo_logins()
    uvicorn.run("weiwai.web.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info")


def _print_demo_logins() -> None:
    try:
        from weiwai.security.demo_users import DEMO_USERS
    except ModuleNotFoundError:
        return
    console.print("[bold]Demo logins[/] (demo mode only):")
    for user in DEMO_USERS:
        console.print(f"  {user.username:<14} {user.password:<18} {user.role:<16} {user.display_name}")
