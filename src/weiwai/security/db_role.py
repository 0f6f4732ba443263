"""The PostgreSQL role the application runs as: full data rights, except on the audit log.

Migrations run as the schema's owner; the server, the CLI and the jobs run as this role
(docs/audit.md). It may read and write every table, but on `audit_events` and
`audit_chain` only SELECT and INSERT: the application cannot rewrite history even if it
is compromised. Grants cover the tables that exist now, so run it again after each
`weiwai db upgrade`.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from weiwai.errors import RuleViolation
from weiwai.i18n import _

APPEND_ONLY_TABLES = ("audit_events", "audit_chain")
READ_ONLY_TABLES = ("alembic_version",)
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def ensure_app_role(*, session: Session, name: str, password: str | None = None) -> list[str]:
    """Create or update the LOGIN role `name` with the application's rights; answers the statements run."""
    if session.get_bind().dialect.name != "postgresql":
        raise RuleViolation(
            _("database roles exist only on PostgreSQL; with SQLite the application runs with the file's rights"),
            code="postgresql_only",
        )
    if not ROLE_NAME.match(name) or name.startswith("pg_"):
        raise RuleViolation(_("role name {name!r}: lower-case letters, digits and _ only").format(name=name),
                            code="invalid_role_name")
    if password is not None and ("\x00" in password or len(password) < 12):
        raise RuleViolation(_("the role's password must have at least 12 characters"), code="weak_password")
    schema = session.execute(text("SELECT current_schema()")).scalar_one()
    database = session.execute(text("SELECT current_database()")).scalar_one()
    exists = session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": name}).first()
    login = "LOGIN" + (f" PASSWORD {_quote_literal(password)}" if password is not None else "")
    role, sch = f'"{name}"', f'"{schema}"'
    statements = [
        f"{'ALTER' if exists else 'CREATE'} ROLE {role} {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS",
        f'GRANT CONNECT ON DATABASE "{database}" TO {role}',
        f"GRANT USAGE ON SCHEMA {sch} TO {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {sch} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {role}",
    ]
    tables = set(session.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": schema}).scalars())
    for table in APPEND_ONLY_TABLES:
        if table in tables:
            statements.append(f'REVOKE UPDATE, DELETE, TRUNCATE ON {sch}."{table}" FROM {role}')
    for table in READ_ONLY_TABLES:
        if table in tables:
            statements.append(f'REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {sch}."{table}" FROM {role}')
    for statement in statements:
        session.execute(text(statement))
    # Shown to the operator: never the password.
    return [re.sub(r"PASSWORD '(?:[^']|'')*'", "PASSWORD '***'", s) for s in statements]
