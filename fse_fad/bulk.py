"""Selecting and inserting many rows, fast on both databases.

On PostgreSQL an ``IN`` list of a thousand parameters becomes, after a few executions of the
prepared statement, a generic plan that compares each row with each parameter in turn; one array
parameter (``= ANY(:values)``) keeps index lookups. SQLite takes plain ``IN`` lists, in chunks
below its limit on parameters. Inserts follow the same idea: a few parameters whatever the number
of rows (COPY, or one array per column), where SQLite takes executemany.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Iterator, Sequence

from sqlalchemy import ARRAY, JSON, Table, any_, bindparam, insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from fse_fad import jsontext

SQLITE_CHUNK = 500


def matching(session: Session, column, values: Sequence) -> Iterator[ColumnElement]:
    """WHERE clauses that together select the rows whose ``column`` is one of ``values``."""
    values = list(values)
    if not values:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, values, type_=ARRAY(column.type)))
        return
    for start in range(0, len(values), SQLITE_CHUNK):
        yield column.in_(values[start:start + SQLITE_CHUNK])


def insert_rows(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert many rows into ``table`` in the session's transaction: COPY on PostgreSQL (a
    multi-row INSERT of thousands of parameters spends its time parsing the statement), batched
    executemany on SQLite. Every row has the same keys."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        for start in range(0, len(rows), 5000):
            session.execute(insert(table), rows[start:start + 5000])
        return
    names = list(rows[0])
    as_json = {name for name in names if isinstance(table.c[name].type, JSON)}
    driver = session.connection().connection.driver_connection
    columns = ", ".join(f'"{name}"' for name in names)
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([jsontext.dumps(row[n]) if n in as_json else row[n] for n in names])


def insert_many(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert rows into ``table`` in one statement on PostgreSQL (INSERT ... SELECT FROM
    unnest(...), an array parameter per column), executemany on SQLite: for the rows of one
    transaction, where a conflict or a deadlock must reach the caller's retry as an SQLAlchemy
    error. Every row has the same keys."""
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = tuple(rows[0])
    session.connection().exec_driver_sql(_insert_sql(table, names), tuple(_arrays(table, rows, names)))


def upsert_many(session: Session, table: Table, rows: list[dict]) -> None:
    """Insert rows into ``table``, or update the row of the same primary key: one statement on
    PostgreSQL (INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE), executemany on SQLite.
    Every row has the same keys, among them the whole primary key, and no two rows the same key."""
    if not rows:
        return
    names = tuple(rows[0])
    keys = [c.name for c in table.primary_key.columns]
    if session.get_bind().dialect.name != "postgresql":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={name: statement.excluded[name] for name in names if name not in keys})
        session.execute(statement, rows)
        return
    session.connection().exec_driver_sql(_upsert_sql(table, names), tuple(_arrays(table, rows, names)))


def add_many(session: Session, table: Table, rows: list[dict]) -> None:
    """Add each row's other columns to those of the stored row of the same primary key (a row not
    stored yet is inserted as it is): counters that concurrent transactions change. The rows are
    written in the order of their keys, so that two transactions lock common rows in the same
    order rather than each wait for the other. Every row has the same keys, among them the whole
    primary key, and no two rows the same key."""
    if not rows:
        return
    keys = [c.name for c in table.primary_key.columns]
    rows = sorted(rows, key=lambda row: tuple(row[k] for k in keys))
    names = tuple(rows[0])
    if session.get_bind().dialect.name != "postgresql":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=keys, set_={name: table.c[name] + statement.excluded[name] for name in names
                                       if name not in keys})
        session.execute(statement, rows)
        return
    session.connection().exec_driver_sql(_add_sql(table, names), tuple(_arrays(table, rows, names)))


@lru_cache(maxsize=64)
def _add_sql(table: Table, names: tuple[str, ...]) -> str:
    keys = [c.name for c in table.primary_key.columns]
    sums = ", ".join(f'"{name}" = "{table.name}"."{name}" + EXCLUDED."{name}"' for name in names if name not in keys)
    # WITH ORDINALITY ... ORDER BY: the rows reach the index, and take their locks, in the given order.
    return (f'INSERT INTO "{table.name}" ({_quoted(names)}) SELECT {_quoted(names)} FROM unnest('
            f'{", ".join(_array_parameters(table, names))}) WITH ORDINALITY AS t({_quoted(names)}, position) '
            f'ORDER BY position ON CONFLICT ({_quoted(keys)}) DO UPDATE SET {sums}')


@lru_cache(maxsize=64)
def _upsert_sql(table: Table, names: tuple[str, ...]) -> str:
    keys = [c.name for c in table.primary_key.columns]
    updates = ", ".join(f'"{name}" = EXCLUDED."{name}"' for name in names if name not in keys)
    return f'{_insert_sql(table, names)} ON CONFLICT ({_quoted(keys)}) DO UPDATE SET {updates}'


@lru_cache(maxsize=64)
def _insert_sql(table: Table, names: tuple[str, ...]) -> str:
    return (f'INSERT INTO "{table.name}" ({_quoted(names)}) '
            f'SELECT * FROM unnest({", ".join(_array_parameters(table, names))})')


def _python_type(column) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _array_parameters(table: Table, names: Sequence[str]) -> list[str]:
    dialect = postgresql.dialect()
    return [f"CAST(%b AS {table.c[name].type.compile(dialect=dialect)}[])" for name in names]


def insert_with_children(session: Session, parent: Table, rows: list[dict], natural_key: str, child: Table,
                         child_rows: list[dict], foreign_key: str) -> dict:
    """Insert ``rows`` into ``parent`` and ``child_rows`` into ``child``, whose ``foreign_key``
    refers to the parent's generated primary key: each child row holds there the parent's
    ``natural_key`` instead. Returns the primary key of each parent row by its natural key.

    On PostgreSQL this is one statement (two INSERT ... SELECT FROM unnest(...) joined in a
    WITH), with one array parameter per column whatever the number of rows: what a row costs is
    then the server's, not the driver's dumping of a parameter per value. On SQLite, executemany."""
    if not rows:
        return {}
    (primary,) = parent.primary_key.columns
    if session.get_bind().dialect.name != "postgresql":
        statement = insert(parent).returning(parent.c[natural_key], primary)
        pks = {key: pk for key, pk in session.execute(statement, rows)}
        if child_rows:
            session.execute(insert(child), [{**row, foreign_key: pks[row[foreign_key]]} for row in child_rows])
        return pks
    parent_names = tuple(rows[0])
    child_names = tuple(name for name in (child_rows[0] if child_rows else ()) if name != foreign_key)
    if len(rows) == 1 and child_names and all(row[foreign_key] == rows[0][natural_key] for row in child_rows):
        # One parent (a single statement): its values as plain parameters, quicker to send than
        # arrays of one element.
        sql = _insert_one_with_children_sql(parent, parent_names, natural_key, child, child_names, foreign_key)
        params = _values(parent, rows[0], parent_names) + _arrays(child, child_rows, child_names)
        return dict(session.connection().exec_driver_sql(sql, tuple(params)).all())
    sql = _insert_with_children_sql(parent, parent_names, natural_key, child, child_names, foreign_key)
    params = _arrays(parent, rows, parent_names) + _arrays(child, child_rows, child_names) + [
        [row[foreign_key] for row in child_rows]]
    # Binary parameters (%b): the text form of an array escapes every element in Python.
    return dict(session.connection().exec_driver_sql(sql, tuple(params)).all())


def _arrays(table: Table, rows: list[dict], names: Sequence[str]) -> list[list]:
    arrays = []
    for name in names:
        values = [row[name] for row in rows]
        if isinstance(table.c[name].type, JSON):
            values = [None if value is None else jsontext.dumps(value) for value in values]
        elif _python_type(table.c[name]) is float:
            # An array has one element type: 0 and 0.5 in one column are both floats.
            values = [None if value is None else float(value) for value in values]
        arrays.append(values)
    return arrays


def _values(table: Table, row: dict, names: Sequence[str]) -> list:
    return [jsontext.dumps(row[name]) if isinstance(table.c[name].type, JSON) and row[name] is not None
            else row[name] for name in names]


@lru_cache(maxsize=64)
def _insert_one_with_children_sql(parent: Table, parent_names: tuple[str, ...], natural_key: str, child: Table,
                                  child_names: tuple[str, ...], foreign_key: str) -> str:
    (primary,) = parent.primary_key.columns
    dialect = postgresql.dialect()
    values = [f"CAST(%b AS {parent.c[name].type.compile(dialect=dialect)})" for name in parent_names]
    columns = [f"c{n}" for n in range(len(child_names))]
    return (f'WITH inserted AS (INSERT INTO "{parent.name}" ({_quoted(parent_names)}) VALUES ({", ".join(values)}) '
            f'RETURNING "{natural_key}", "{primary.name}"), '
            f'children AS (INSERT INTO "{child.name}" ({_quoted(child_names + (foreign_key,))}) '
            f'SELECT {_quoted(columns)}, inserted."{primary.name}" '
            f'FROM unnest({", ".join(_array_parameters(child, child_names))}) AS c({_quoted(columns)}) '
            f'CROSS JOIN inserted) '
            f'SELECT "{natural_key}", "{primary.name}" FROM inserted')


@lru_cache(maxsize=64)
def _insert_with_children_sql(parent: Table, parent_names: tuple[str, ...], natural_key: str, child: Table,
                              child_names: tuple[str, ...], foreign_key: str) -> str:
    (primary,) = parent.primary_key.columns
    arrays, quoted = _array_parameters, _quoted
    child_arrays = arrays(child, child_names) + arrays(parent, [natural_key])
    return (f'WITH inserted AS (INSERT INTO "{parent.name}" ({quoted(parent_names)}) '
            f'SELECT * FROM unnest({", ".join(arrays(parent, parent_names))}) '
            f'RETURNING "{natural_key}", "{primary.name}"), '
            f'children AS (INSERT INTO "{child.name}" ({quoted(child_names + (foreign_key,))}) '
            f'SELECT {quoted(f"c{n}" for n in range(len(child_names)))}{", " if child_names else ""}'
            f'inserted."{primary.name}" FROM unnest({", ".join(child_arrays)}) '
            f'AS c({quoted([f"c{n}" for n in range(len(child_names))] + ["parent"])}) '
            f'JOIN inserted ON inserted."{natural_key}" = c.parent) '
            f'SELECT "{natural_key}", "{primary.name}" FROM inserted')
