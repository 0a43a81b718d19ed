"""Selecting and inserting many rows, fast on both databases.

On PostgreSQL an ``IN`` list of a thousand parameters becomes, after a few executions of the
prepared statement, a generic plan that compares each row with each parameter in turn; one array
parameter (``= ANY(:values)``) keeps index lookups. SQLite takes plain ``IN`` lists, in chunks
below its limit on parameters. Inserts follow the same idea: a few parameters whatever the number
of rows (COPY, or one array per column), where SQLite takes executemany.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Iterator, Sequence

from sqlalchemy import ARRAY, JSON, Table, any_, bindparam, insert
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

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
            copy.write_row([json.dumps(row[n], ensure_ascii=False) if n in as_json else row[n] for n in names])


def insert_returning(session: Session, table: Table, rows: list[dict], returning: Sequence[str]) -> list[tuple]:
    """Insert many rows into ``table`` and return the ``returning`` columns of each, in no
    particular order. On PostgreSQL one ``INSERT ... SELECT FROM unnest(...)`` with an array
    parameter per column (what a row costs is then the server's, not the driver's dumping of a
    parameter per value); executemany on SQLite. Every row has the same keys."""
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        statement = insert(table).returning(*(table.c[name] for name in returning))
        return [tuple(row) for row in session.execute(statement, rows)]
    names = tuple(rows[0])
    as_json = {name for name in names if isinstance(table.c[name].type, JSON)}
    params = []
    for name in names:
        values = [row[name] for row in rows]
        if name in as_json:
            values = [None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                      for value in values]
        params.append(values)
    # Binary parameters (%b): the text form of an array escapes every element in Python.
    result = session.connection().exec_driver_sql(_unnest_insert(table, names, tuple(returning)), tuple(params))
    return [tuple(row) for row in result] if returning else []


@lru_cache(maxsize=64)
def _unnest_insert(table: Table, names: tuple[str, ...], returning: tuple[str, ...]) -> str:
    dialect = postgresql.dialect()
    arrays = ", ".join(f"CAST(%b AS {table.c[name].type.compile(dialect=dialect)}[])" for name in names)
    columns = ", ".join(f'"{name}"' for name in names)
    returned = ", ".join(f'"{name}"' for name in returning)
    return (f'INSERT INTO "{table.name}" ({columns}) SELECT * FROM unnest({arrays})'
            + (f" RETURNING {returned}" if returning else ""))
