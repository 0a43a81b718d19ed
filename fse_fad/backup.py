"""Portable backups: every table as JSON lines in one zip, with the schema revision.

The same file restores into SQLite or PostgreSQL (so it also moves a quick-start database to
production). The dump reads one consistent snapshot and streams, so its memory stays flat
whatever the size of the database.
"""
from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import datetime
from pathlib import Path

from alembic.migration import MigrationContext
from sqlalchemy import DateTime, LargeBinary, func, insert, select, text
from sqlalchemy.engine import Engine

from fse_fad.db import upgrade
from fse_fad.metadata import target_metadata

FORMAT = "fse-fad-backup/1"
BATCH = 2000


class BackupError(Exception):
    pass


def _encoder(table):
    binary = {c.name for c in table.columns if isinstance(c.type, LargeBinary)}
    dates = {c.name for c in table.columns if isinstance(c.type, DateTime)}

    def encode(row) -> dict:
        item = dict(row._mapping)
        for name in binary:
            if item[name] is not None:
                item[name] = base64.b64encode(item[name]).decode()
        for name in dates:
            if item[name] is not None:
                item[name] = item[name].isoformat()
        return item

    def decode(item: dict) -> dict:
        for name in binary:
            if item.get(name) is not None:
                item[name] = base64.b64decode(item[name])
        for name in dates:
            if item.get(name) is not None:
                item[name] = datetime.fromisoformat(item[name])
        return item

    return encode, decode


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return heads[0] if heads else None


def backup(engine: Engine, path: Path) -> dict:
    counts: dict[str, int] = {}
    revision = current_revision(engine)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive, engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            for table in target_metadata.sorted_tables:
                encode, _decode = _encoder(table)
                count = 0
                with archive.open(f"tables/{table.name}.jsonl", "w") as raw:
                    out = io.TextIOWrapper(raw, encoding="utf-8")
                    for row in conn.execution_options(yield_per=BATCH).execute(select(table)):
                        out.write(json.dumps(encode(row), ensure_ascii=False, separators=(",", ":")) + "\n")
                        count += 1
                    out.flush()
                    out.detach()
                counts[table.name] = count
        manifest = {"format": FORMAT, "revision": revision, "tables": counts}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return manifest


def _is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return all(conn.execute(select(func.count()).select_from(t)).scalar() == 0
                   for t in target_metadata.sorted_tables)


def restore(engine: Engine, path: Path) -> dict:
    """Restore into an empty database; it is first brought to the backup's schema revision,
    then to the newest one."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"not a backup file: {exc}") from None
    with archive:
        try:
            manifest = json.loads(archive.read("manifest.json"))
        except (KeyError, ValueError):
            raise BackupError("the backup has no valid manifest") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {manifest.get('format')!r}")
        url = engine.url.render_as_string(hide_password=False)
        upgrade(url, manifest["revision"] or "head")
        if not _is_empty(engine):
            raise BackupError("the target database is not empty")
        with engine.begin() as conn:
            for table in target_metadata.sorted_tables:
                if table.name not in manifest["tables"]:
                    continue
                _encode, decode = _encoder(table)
                batch = []
                with archive.open(f"tables/{table.name}.jsonl") as raw:
                    for line in io.TextIOWrapper(raw, encoding="utf-8"):
                        batch.append(decode(json.loads(line)))
                        if len(batch) >= BATCH:
                            conn.execute(insert(table), batch)
                            batch = []
                if batch:
                    conn.execute(insert(table), batch)
            if engine.dialect.name == "postgresql":
                _reset_sequences(conn)
    upgrade(url)
    return manifest


def _reset_sequences(conn) -> None:
    for table in target_metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and column.type._type_affinity is int):
                sequence = conn.execute(text("SELECT pg_get_serial_sequence(:t, :c)"),
                                        {"t": table.name, "c": column.name}).scalar()
                if sequence:
                    conn.execute(text(f"SELECT setval('{sequence}', COALESCE((SELECT MAX({column.name}) FROM "
                                      f"{table.name}), 0) + 1, false)"))
