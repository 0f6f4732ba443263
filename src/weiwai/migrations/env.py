"""Alembic environment: the URL comes from the caller or from weiwai settings."""

from alembic import context

from weiwai.db import make_engine
from weiwai.models import metadata

config = context.config


def _url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return url
    from weiwai.config import get_settings

    return get_settings().database_url


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
