"""Test fixtures: every database test runs on SQLite and on a real PostgreSQL server.

PostgreSQL is reached through ``FSE_FAD_TEST_POSTGRES_URL`` (an administrative URL; default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``): the suite creates its own database
there, brings it up to date with the Alembic migrations, and drops it at the end.
"""
from __future__ import annotations

import base64
import os

import pytest
from sqlalchemy import text

from fse_fad.app import create_app
from fse_fad.auth import create_client
from fse_fad.config import Config
from fse_fad.db import Base, create_scratch_database, make_engine, make_session_factory, session_scope, upgrade
from fse_fad.metadata import target_metadata  # noqa: F401  (all tables registered)

POSTGRES_ADMIN_URL = os.environ.get("FSE_FAD_TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}


def _create_postgres_database() -> tuple[str, callable]:
    return create_scratch_database(POSTGRES_ADMIN_URL, "fse_fad_test")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated, empty database of each kind, shared by the tests of the session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        drop = None
    else:
        url, drop = _create_postgres_database()
    upgrade(url)
    yield url
    if drop:
        drop()


def _empty_tables(engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def engine(database_url):
    """An engine on the test database, emptied: for tests that drive a server process."""
    engine = make_engine(database_url)
    _empty_tables(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def config(database_url, tmp_path) -> Config:
    return Config(database_url=database_url, secret_key="test-secret-key-" + "x" * 32,
                  public_url="http://lrs.test")


@pytest.fixture
def app(config):
    application = create_app(config)
    runtime = application.extensions["fse_fad"]
    _empty_tables(runtime.engine)
    yield application
    runtime.engine.dispose()


@pytest.fixture
def session_factory(app):
    return app.extensions["fse_fad"].session_factory


@pytest.fixture
def http(app):
    return app.test_client()


def basic_auth(key: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


@pytest.fixture
def make_client(session_factory):
    """Create an API client; returns (key, secret)."""

    def make(name="test client", scopes=("all",), **kwargs):
        with session_scope(session_factory) as session:
            client, secret = create_client(session, name, list(scopes), **kwargs)
            return client.key, secret

    return make


@pytest.fixture
def xapi(make_client):
    """Headers of an xAPI client with scope ``all``."""
    key, secret = make_client("xapi test", ["all"])
    return {**XAPI_HEADERS, **basic_auth(key, secret)}
