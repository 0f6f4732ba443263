"""Shared fixtures: test keys, and a migrated SQLite and PostgreSQL database.

Integration tests that take `session` run once per backend. Each test runs inside a
transaction that is rolled back, so tests do not see each other's rows.
PostgreSQL comes from WEIWAI_TEST_PG_URL (default: the local trust-auth server);
when it is unreachable the PostgreSQL variants are skipped, except under CI=true,
where that is a failure.
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Iterator

import pytest

# Fixed, obviously-test keys set before any settings are built.
os.environ.setdefault("WEIWAI_DATA_KEYS", "t1:" + base64.b64encode(b"k" * 32).decode())
os.environ.setdefault("WEIWAI_ACTIVE_KEY_ID", "t1")
os.environ.setdefault("WEIWAI_BLIND_INDEX_KEY", "test-blind-index-key-0123456789abcdef")
os.environ.setdefault("WEIWAI_SECRET_KEY", "test-session-secret-0123456789abcdef")
os.environ.pop("WEIWAI_DEMO_MODE", None)
os.environ.pop("WEIWAI_DATABASE_URL", None)

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

PG_ADMIN_URL = os.environ.get("WEIWAI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgres"]


def _pg_unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


def _create_pg_database(template: str | None = None) -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"weiwai_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
    except Exception as exc:  # connection refused, auth…
        admin.dispose()
        _pg_unavailable(str(exc).splitlines()[0])
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def migrated_urls(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Lazily created, migrated databases, one per backend, for the whole test session."""
    urls: dict[str, str] = {}
    yield urls
    if "postgres" in urls:
        _drop_pg_database(urls["postgres"])


def _migrated_url(backend: str, urls: dict[str, str], tmp_path_factory) -> str:
    if backend not in urls:
        from weiwai.migrate import upgrade

        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'weiwai.db'}"
        else:
            url = _create_pg_database()
        upgrade(url)
        urls[backend] = url
    return urls[backend]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend, migrated_urls, tmp_path_factory) -> str:
    return _migrated_url(backend, migrated_urls, tmp_path_factory)


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    from weiwai.db import make_engine

    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    sess = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def template_urls() -> Iterator[dict[str, str]]:
    """Migrated databases that fresh ones are copied from; nothing else connects to them."""
    urls: dict[str, str] = {}
    yield urls
    if "postgres" in urls:
        _drop_pg_database(urls["postgres"])


def _template_url(backend: str, urls: dict[str, str], tmp_path_factory) -> str:
    if backend not in urls:
        from weiwai.migrate import upgrade

        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'weiwai.db'}"
        else:
            url = _create_pg_database()
        upgrade(url)  # its engine is disposed: no connection stays open to the template
        urls[backend] = url
    return urls[backend]


@pytest.fixture
def fresh_db_url(backend, template_urls, tmp_path_factory, tmp_path) -> Iterator[str]:
    """An empty, migrated database of its own, for tests that commit (CLI, server).

    A copy of a template migrated once per test process: copying is much faster than
    migrating, and the migrations themselves are tested in test_migrations.py.
    """
    template = _template_url(backend, template_urls, tmp_path_factory)
    if backend == "sqlite":
        path = tmp_path / "weiwai.db"
        shutil.copyfile(make_url(template).database, path)
        yield f"sqlite:///{path}"
    else:
        url = _create_pg_database(template=make_url(template).database)
        yield url
        _drop_pg_database(url)


@pytest.fixture
def use_db(fresh_db_url, monkeypatch) -> Iterator[str]:
    """Point weiwai's settings (CLI, app) at a fresh database for this test."""
    from weiwai.config import reset_settings
    from weiwai.security.crypto import reset_keyring

    monkeypatch.setenv("WEIWAI_DATABASE_URL", fresh_db_url)
    reset_settings()
    reset_keyring()
    yield fresh_db_url
    reset_settings()
    reset_keyring()


@pytest.fixture
def demo_mode(monkeypatch, tmp_path) -> Iterator[None]:
    """Demo mode (the demo's users may be created); the keys stay the tests' own."""
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_DEMO_MODE", "true")
    monkeypatch.setenv("WEIWAI_DEMO_KEY_FILE", str(tmp_path / "demo-keys.json"))
    reset_settings()
    yield
    monkeypatch.delenv("WEIWAI_DEMO_MODE")
    reset_settings()


@pytest.fixture
def record_compliance(monkeypatch) -> Iterator[None]:
    """Contacts the compliance check would deny are logged and recorded as violations, not refused.

    For tests of the collection log's own mechanics (outcomes, promises, imports) whose
    contacts are not the point: the rules themselves are tested in test_compliance_*.
    """
    from weiwai.config import reset_settings

    monkeypatch.setenv("WEIWAI_COMPLIANCE_ENFORCEMENT", "record")
    reset_settings()
    yield
    reset_settings()


def pytest_collection_modifyitems(config, items):
    """Tests marked postgres_only are not collected for SQLite (rather than skipped there),
    so that a skip always means PostgreSQL was missing."""
    kept, dropped = [], []
    for item in items:
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("backend")
        (dropped if backend == "sqlite" and item.get_closest_marker("postgres_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
