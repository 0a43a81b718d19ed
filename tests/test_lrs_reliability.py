"""Reliability of the LRS under load, against a real ``fse-fad serve``: what is acknowledged is
stored even when the server is killed; concurrent writers never see a 5xx or a duplicate."""
from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

from lrs.models import Statement
from tests.load import Connection, Outcome, run_clients
from tests.server import ServerProcess
from tests.xapi_data import statement

pytestmark = pytest.mark.slow


def _stored_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Statement.statement_id)).scalars())


def test_acknowledged_statements_survive_sigkill_under_load(engine, database_url, tmp_path):
    server = ServerProcess(database_url, tmp_path, workers=2)
    key, secret = server.create_client("load", "--scope", "all")
    outcome = Outcome()

    def writer(index: int, stop: threading.Event):
        connection = Connection(server.url, key, secret)
        while not stop.is_set():
            registration = str(uuid.uuid4())
            batch = [statement(user_id=index * 1000 + n, registration=registration, id=str(uuid.uuid4()))
                     for n in range(20)]
            started = time.perf_counter()
            try:
                status, body = connection.request("POST", "/xapi/statements", batch)
            except (OSError, http.client.HTTPException):
                outcome.errors += 1
                return  # the server is gone, maybe in the middle of an answer
            ids = json.loads(body) if status == 200 else None
            outcome.record(status, time.perf_counter() - started, ids)

    stop = threading.Event()
    clients = threading.Thread(target=run_clients, args=(6, writer), kwargs={"stop": stop})
    clients.start()
    time.sleep(3)
    server.kill()
    stop.set()
    clients.join(timeout=60)

    acknowledged = [ids for ids in outcome.acknowledged]
    assert len(acknowledged) > 5, "the load did not get going"
    assert all(status < 500 for status in outcome.statuses), outcome.statuses

    restarted = ServerProcess(database_url, tmp_path, workers=1)
    try:
        stored = _stored_ids(engine)
        for ids in acknowledged:
            assert set(ids) <= stored, "an acknowledged batch is missing after the crash"
        # No batch is half there: group stored statements by registration.
        with engine.connect() as conn:
            bodies = conn.execute(select(Statement.body)).scalars().all()
        per_batch: dict[str, int] = {}
        for body in bodies:
            registration = body["context"]["registration"]
            per_batch[registration] = per_batch.get(registration, 0) + 1
        assert set(per_batch.values()) == {20}
    finally:
        restarted.stop()


CLIENTS = 16


@pytest.mark.parametrize("choice", ["the same ids at once", "each its own ids"])
def test_concurrent_batches_sharing_everything_and_the_same_ids(engine, database_url, tmp_path, choice):
    server = ServerProcess(database_url, tmp_path, workers=3)
    key, secret = server.create_client("load", "--scope", "all")
    shared_registration = str(uuid.uuid4())
    contested = [str(uuid.uuid4()) for _ in range(40)]
    outcome = Outcome()
    sent_contested: set[str] = set()

    def writer(index: int, stop: threading.Event):
        connection = Connection(server.url, key, secret)
        for round_number in range(15):
            # Every client sends contested ids (same content) mixed with its own statements, on the
            # same actors, activities and registration: all the same ids in a round, or each client
            # its own draw (chains of collisions: A waits on B, which waits on C...).
            if choice == "the same ids at once":
                picks = [(round_number * 7 + n) % 40 for n in range(10)]
            else:
                picks = random.Random(index * 1000 + round_number).sample(range(40), 10)
            sent_contested.update(contested[k] for k in picks)
            batch = [statement(user_id=k % 5, registration=shared_registration, id=contested[k]) for k in picks]
            batch += [statement(user_id=n % 5, registration=shared_registration) for n in range(20)]
            for item in batch:
                item["timestamp"] = "2026-10-05T09:30:00+02:00"
            if choice == "each its own ids":
                random.Random(round_number).shuffle(batch)
            started = time.perf_counter()
            status, body = connection.request("POST", "/xapi/statements", batch)
            outcome.record(status, time.perf_counter() - started, json.loads(body) if status == 200 else None)

    try:
        run_clients(CLIENTS, writer)
        assert outcome.statuses == {200: CLIENTS * 15}, outcome.statuses
        with engine.connect() as conn:
            contested_rows = conn.execute(select(Statement.statement_id, func.count()).where(
                Statement.statement_id.in_(contested)).group_by(Statement.statement_id)).all()
        assert {row[0] for row in contested_rows} == sent_contested
        assert all(row[1] == 1 for row in contested_rows)
        assert len(_stored_ids(engine)) == len(sent_contested) + CLIENTS * 15 * 20

        # A different statement under a contested id is a conflict, never a 5xx.
        connection = Connection(server.url, key, secret)
        status, _body = connection.request("POST", "/xapi/statements", [statement(user_id=99, id=contested[0])])
        assert status == 409
    finally:
        server.stop()
