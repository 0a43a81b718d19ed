"""Database: the declarative base shared by every domain, engines, sessions and migrations."""
from __future__ import annotations

import random
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import JSON, MetaData, create_engine, event, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON documents are JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Take transaction control from the driver so that BEGIN IMMEDIATE below works.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")  # an acknowledged statement survives power loss
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers take the lock up front: no deadlock when two readers upgrade at once.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 5)
        kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


# A connection back in use within this long of its last use is not pinged: under load a ping per
# checkout was one round trip in five of a statement POST. One idle longer (a server restarted
# meanwhile) is pinged, and replaced if dead, before anyone uses it.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn, record):
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, _proxy):
        since = record.info.get("checked_in")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool discards this connection and checks out another.
            raise DisconnectionError(str(exc)) from exc


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


def alembic_config(url: str):
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def pending_migrations(engine: Engine) -> list[str]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    heads = set(script.get_heads())
    if current == heads:
        return []
    return [rev.revision for rev in script.walk_revisions() if rev.revision not in current]


def create_scratch_database(admin_url: str, prefix: str) -> tuple[str, Callable[[], None]]:
    """Create an empty PostgreSQL database named ``{prefix}_<random>`` through an administrative URL
    (tests, benchmarks); return its URL and a function that drops it."""
    admin = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return admin.set(database=name).render_as_string(hide_password=False), drop


T = TypeVar("T")

# PostgreSQL SQLSTATEs worth a retry: serialization failure, deadlock detected.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}


def is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


def run_in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 10,
                       retry_on_conflict: bool = False) -> T:
    """Run ``work`` in its own transaction and commit; retry a bounded number of times when the
    database reports a deadlock or serialization failure, so that clients never see one.

    With ``retry_on_conflict``, a unique-key violation also retries: ``work`` must then be written
    to look again at what a concurrent transaction committed (insert-or-compare operations).

    The pause before a retry is random (up to 10 ms, doubling each time, at most about 5 s in all):
    writers that collided and paused alike would collide again. Sixteen clients posting batches
    that share statement ids still met a 500 on PostgreSQL after five lockstep retries."""
    for attempt in range(1, attempts + 1):
        session = factory()
        try:
            result = work(session)
            session.commit()
            return result
        except DBAPIError as exc:
            session.rollback()
            conflict = retry_on_conflict and isinstance(exc, IntegrityError)
            if attempt == attempts or not (conflict or is_retryable(exc)):
                raise
            time.sleep(random.uniform(0, 0.01 * 2 ** min(attempt, 8)))
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
    raise AssertionError("unreachable")


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
