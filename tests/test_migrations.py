"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from fse_fad.db import alembic_config
from fse_fad.metadata import target_metadata


def test_migrations_and_models_agree(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, target_metadata)
        heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
        assert set(context.get_current_heads()) == heads
    engine.dispose()
    assert differences == []


def test_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
