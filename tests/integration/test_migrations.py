"""The migrations produce exactly the schema the models describe, on both backends."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from weiwai.models import metadata


def test_migrated_schema_matches_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == []


def test_migration_is_at_head(engine):
    from alembic.script import ScriptDirectory

    from weiwai.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head
