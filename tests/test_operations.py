"""Operations: backup and restore round-trip, configuration checks, logs without personal data."""
from __future__ import annotations

import io
import json
import logging

from click.testing import CliRunner
from sqlalchemy import func, select

from fse_fad.backup import backup, restore
from fse_fad.cli import main
from fse_fad.db import make_engine
from fse_fad.logs import configure, redact
from lrs.models import Document, Statement
from tests.conftest import _create_postgres_database
from tests.xapi_data import statement


def test_backup_and_restore_round_trip(http, xapi, app, database_url, tmp_path):
    ids = http.post("/xapi/statements", headers=xapi, json=[statement(user_id=i) for i in range(25)]).get_json()
    http.put("/xapi/activities/state?activityId=http://x.it/a&stateId=s&agent="
             + json.dumps({"mbox": "mailto:a@b.it"}), headers=xapi, data=b"\x00\x01binary", content_type="application/octet-stream")
    path = tmp_path / "backup.zip"
    manifest = backup(app.extensions["fse_fad"].engine, path)
    assert manifest["tables"]["lrs_statements"] == 25

    if database_url.startswith("sqlite"):
        target_url, drop = f"sqlite:///{tmp_path / 'restored.db'}", None
    else:
        target_url, drop = _create_postgres_database()
    target = make_engine(target_url)
    try:
        restore(target, path)
        with target.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Statement)).scalar() == 25
            assert set(conn.execute(select(Statement.statement_id)).scalars()) == set(ids)
            assert conn.execute(select(Document.content)).scalar() == b"\x00\x01binary"
        # The restored database keeps working: new rows get fresh keys.
        from fse_fad.app import create_app
        from fse_fad.config import Config

        restored = create_app(Config(database_url=target_url, secret_key="k" * 40))
        client = restored.test_client()
        response = client.post("/xapi/statements", headers=xapi, json=statement())
        assert response.status_code == 200
        restored.extensions["fse_fad"].engine.dispose()
    finally:
        target.dispose()
        if drop:
            drop()


def test_restore_refuses_a_non_empty_database(http, xapi, app, tmp_path):
    http.post("/xapi/statements", headers=xapi, json=statement())
    path = tmp_path / "backup.zip"
    backup(app.extensions["fse_fad"].engine, path)
    try:
        restore(app.extensions["fse_fad"].engine, path)
    except Exception as exc:
        assert "not empty" in str(exc)
    else:
        raise AssertionError("restore into a non-empty database was accepted")


def test_check_reports_pending_migrations_and_missing_secret(tmp_path, monkeypatch):
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FSE_FAD_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    monkeypatch.setenv("FSE_FAD_LANG", "en")
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 1 and "Pending migrations" in result.output
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("FSE_FAD_ENV", "production")
    monkeypatch.delenv("FSE_FAD_SECRET_KEY", raising=False)
    result = runner.invoke(main, ["check"])
    assert result.exit_code != 0 and "FSE_FAD_SECRET_KEY" in result.output


def test_redaction_masks_personal_data_and_secrets():
    line = ('learner RSSMRA85T10A562S mail mario.rossi@usl.toscana.it Authorization: Basic YWJjOmRlZg== '
            'token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl {"secret": "s3cr3t"}')
    masked = redact(line)
    for leaked in ("RSSMRA85T10A562S", "mario.rossi", "YWJjOmRlZg", "eyJhbGci", "s3cr3t"):
        assert leaked not in masked


def test_request_logs_are_json_with_request_id_and_no_credentials(http, xapi):
    stream = io.StringIO()
    configure("info", stream)
    response = http.get("/xapi/statements?agent=" + json.dumps({"mbox": "mailto:mario.rossi@usl.toscana.it"}),
                        headers={**xapi, "X-Request-ID": "abc123"})
    assert response.headers["X-Request-ID"] == "abc123"
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in entries if e["logger"] == "fse_fad.access"]
    assert access and access[-1]["request_id"] == "abc123" and access[-1]["status"] == 200
    text = stream.getvalue()
    assert "mario.rossi" not in text and xapi["Authorization"].split()[1] not in text
    logging.getLogger("fse_fad").handlers.clear()
