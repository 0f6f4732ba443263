"""Regenerate migration 0001 from the models (only while 0001 has not been released)."""

import tempfile
from pathlib import Path

from alembic import command

from weiwai.migrate import MIGRATIONS_DIR, alembic_config

for old in (MIGRATIONS_DIR / "versions").glob("0001_*.py"):
    old.unlink()
with tempfile.TemporaryDirectory() as tmp:
    cfg = alembic_config(f"sqlite:///{Path(tmp) / 'gen.db'}")
    command.revision(cfg, message="initial schema", autogenerate=True, rev_id="0001")
