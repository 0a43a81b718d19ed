"""What a worker remembers of the database for a few seconds, and what it must not get wrong."""
from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import event, text

from fse_fad import db as fse_db
from fse_fad.db import make_engine
from fse_fad.expiring import ExpiringMap
from tests.xapi_data import MOODLE, statement

ACTIVITY = f"{MOODLE}/mod/scorm/view.php?id=41"


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_entries_expire_and_the_map_is_bounded():
    clock = Clock()
    remembered = ExpiringMap(ttl_seconds=5, max_entries=2, clock=clock)
    remembered.put("a", 1)
    clock.now += 4.9
    assert remembered.get("a") == 1
    clock.now += 0.1
    assert remembered.get("a") is None
    for key in "bcd":
        remembered.put(key, key)
    assert [remembered.get(k) for k in "bcd"] == [None, "c", "d"]
    remembered.pop("c")
    assert remembered.get("c") is None


def test_a_lifetime_of_zero_keeps_nothing():
    remembered = ExpiringMap(ttl_seconds=0, max_entries=10)
    remembered.put("a", 1)
    assert remembered.get("a") is None


def _definition(http, headers) -> dict:
    response = http.get("/xapi/activities?" + urlencode({"activityId": ACTIVITY}), headers=headers)
    return response.get_json()["definition"]


def _post_with_name(http, headers, name: dict) -> None:
    body = statement()
    body["object"]["definition"]["name"] = name
    response = http.post("/xapi/statements", headers=headers, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200


def test_definitions_changed_back_and_forth_in_one_worker_are_all_kept(http, xapi):
    # The worker remembers the definitions it read; the ones it changes it must read again.
    _post_with_name(http, xapi, {"it": "Modulo 1"})
    _post_with_name(http, xapi, {"it": "Modulo 1"})
    _post_with_name(http, xapi, {"it": "Modulo uno"})
    assert _definition(http, xapi)["name"] == {"it": "Modulo uno"}
    _post_with_name(http, xapi, {"it": "Modulo 1"})
    assert _definition(http, xapi)["name"] == {"it": "Modulo 1"}
    _post_with_name(http, xapi, {"en": "Module 1"})
    assert _definition(http, xapi)["name"] == {"it": "Modulo 1", "en": "Module 1"}


def test_a_repeated_definition_costs_no_read_of_the_activity(app, http, xapi):
    _post_with_name(http, xapi, {"it": "Modulo 1"})
    _post_with_name(http, xapi, {"it": "Modulo 1"})  # read once: now remembered
    reads = []
    engine = app.extensions["fse_fad"].engine

    def seen(_conn, _cursor, sql, *_args):
        if "lrs_activities" in sql and sql.lstrip().upper().startswith("SELECT"):
            reads.append(sql)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        _post_with_name(http, xapi, {"it": "Modulo 1"})
        assert reads == []
        _post_with_name(http, xapi, {"it": "Modulo I"})
        assert reads
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert _definition(http, xapi)["name"] == {"it": "Modulo I"}


def test_a_connection_the_server_closed_while_idle_is_replaced_unseen(database_url, monkeypatch):
    if not database_url.startswith("postgresql"):
        pytest.skip("a server-side disconnection is PostgreSQL's")
    monkeypatch.setattr(fse_db, "PING_AFTER_IDLE_SECONDS", 0.05)
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            victim = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        admin = make_engine(database_url, poolclass=None)
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
        admin.dispose()
        time.sleep(0.2)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != victim
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the idle ping is PostgreSQL's")
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    pings = []
    original = engine.dialect.do_ping
    engine.dialect.do_ping = lambda conn: pings.append(1) or original(conn)
    try:
        for _ in range(5):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert pings == []
    finally:
        engine.dispose()
