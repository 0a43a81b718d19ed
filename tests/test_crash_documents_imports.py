"""Acknowledged means stored, for the document APIs and for roster imports, against a real
``fse-fad serve`` (and a real ``fse-fad learners import``) killed with SIGKILL under load.

Documents: after the restart every document holds the content last acknowledged (or the one write
that was in flight, unanswered, when the server died), its ETag is the SHA-1 of that content, and
a merged document holds every key whose POST was acknowledged. Imports: every roster is all there
or not there at all, every acknowledged roster is all there, and importing the same files again
converges to the same learners, once each.
"""
from __future__ import annotations

import http.client
import json
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from courses.models import Learner, LearnerIdentity
from lrs.documents import etag_of
from tests.conftest import _empty_tables
from tests.courses_support import csv_bytes, make_cf, moodle_mapping_file, row, upload_roster
from tests.load import Connection, run_clients
from tests.server import ServerProcess

pytestmark = pytest.mark.slow

LOAD_SECONDS = 3
CLIENTS = 6
DOCUMENTS_PER_CLIENT = 4
ROSTER_ROWS = 150
LOST_CONNECTION = (OSError, http.client.HTTPException)


def _kill_under_load(server: ServerProcess, work, clients: int = CLIENTS) -> None:
    """Run ``work`` in ``clients`` threads, SIGKILL the server's process group at a random moment
    of the load, then let the threads see the connection go."""
    stop = threading.Event()
    threads = threading.Thread(target=run_clients, args=(clients, work), kwargs={"stop": stop})
    threads.start()
    time.sleep(LOAD_SECONDS + random.random())
    server.kill()
    stop.set()
    threads.join(timeout=60)


# --- documents --------------------------------------------------------------------------------------

KINDS = ("state", "activity-profile", "agent-profile")
ACTIVITY = "http://fse-fad.test/activities/crash"


@dataclass
class DocumentLog:
    """What one document's writer sent and what was acknowledged; each document has one writer."""

    path: str
    acknowledged: int | None = None  # the last sequence number answered 204
    acknowledged_etag: str | None = None
    in_flight: int | None = None     # sent, never answered
    merged: set[int] = field(default_factory=set)  # agent profiles: the keys of acknowledged POSTs


def _document_path(kind: str, client: int, number: int) -> str:
    agent = json.dumps({"mbox": f"mailto:learner{client}@example.it"})
    if kind == "state":
        query = {"activityId": f"{ACTIVITY}/{client}", "agent": agent, "stateId": f"bookmark-{number}"}
        return "/xapi/activities/state?" + urlencode(query)
    if kind == "activity-profile":
        return "/xapi/activities/profile?" + urlencode({"activityId": f"{ACTIVITY}/{client}",
                                                        "profileId": f"profile-{number}"})
    return "/xapi/agents/profile?" + urlencode({"agent": agent, "profileId": f"preferences-{number}"})


def test_acknowledged_documents_survive_sigkill_under_load(engine, database_url, tmp_path):
    server = ServerProcess(database_url, tmp_path, workers=2)
    key, secret = server.create_client("documents", "--scope", "all")
    logs: dict[tuple[int, int], DocumentLog] = {}
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def writer(client: int, stop: threading.Event):
        kind = KINDS[client % len(KINDS)]
        connection = Connection(server.url, key, secret)
        mine = [DocumentLog(_document_path(kind, client, n)) for n in range(DOCUMENTS_PER_CLIENT)]
        with lock:
            logs.update({(client, n): log for n, log in enumerate(mine)})
        rng = random.Random(client)
        sequence = 0
        while not stop.is_set():
            log = mine[sequence % DOCUMENTS_PER_CLIENT]
            sequence += 1
            headers = {}
            if kind == "agent-profile":
                content = {f"k{sequence}": sequence}
                method = "POST"
            else:
                # Sizes vary up to ~100 KB, so that a write torn by the kill would show.
                content = {"client": client, "seq": sequence, "pad": "x" * rng.randrange(0, 100_000)}
                method = "PUT"
                if kind == "activity-profile":
                    headers = ({"If-Match": f'"{log.acknowledged_etag}"'} if log.acknowledged_etag
                               else {"If-None-Match": "*"})
            log.in_flight = sequence
            try:
                status, answer, _body = connection.exchange(method, log.path, json.dumps(content).encode(), headers)
            except LOST_CONNECTION:
                return  # the server is gone; this write may or may not have been stored
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
            if status == 204:
                log.acknowledged, log.acknowledged_etag, log.in_flight = sequence, answer["ETag"].strip('"'), None
                log.merged.add(sequence)

    _kill_under_load(server, writer)
    assert statuses.get(204, 0) > 30, f"the load did not get going: {statuses}"
    assert set(statuses) == {204}, statuses

    restarted = ServerProcess(database_url, tmp_path, workers=1)
    try:
        connection = Connection(restarted.url, key, secret)
        for (client, _number), log in sorted(logs.items()):
            if log.acknowledged is None and log.in_flight is None:
                continue
            status, headers, body = connection.exchange("GET", log.path)
            if log.acknowledged is None:
                assert status in (200, 404), status  # only the unanswered first write was ever sent
                if status == 404:
                    continue
            assert status == 200, (log.path, status)
            assert headers["ETag"].strip('"') == etag_of(body), "a document's ETag does not match its content"
            stored = json.loads(body)  # a torn document would not parse
            if KINDS[client % len(KINDS)] == "agent-profile":
                keys = {int(name[1:]) for name in stored}
                assert log.merged <= keys, "an acknowledged merge is missing after the crash"
                assert keys - log.merged <= {log.in_flight}, "a merge that was never sent is there"
            else:
                assert stored["seq"] in {log.acknowledged, log.in_flight} - {None}, (log, stored["seq"])
                if stored["seq"] == log.acknowledged:
                    assert headers["ETag"].strip('"') == log.acknowledged_etag
    finally:
        restarted.stop()


# --- roster imports ---------------------------------------------------------------------------------

def _roster(client: int, round_number: int) -> list[int]:
    first = (client * 1000 + round_number) * ROSTER_ROWS
    return list(range(first, first + ROSTER_ROWS))


def _stored_learners(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(Learner.codice_fiscale)).scalars())


def _all_or_nothing(engine, rosters: list[list[int]], acknowledged: list[list[int]]) -> None:
    stored = _stored_learners(engine)
    for numbers in rosters:
        present = sum(make_cf(n) in stored for n in numbers)
        assert present in (0, len(numbers)), f"a roster is half imported: {present} of {len(numbers)}"
    for numbers in acknowledged:
        assert {make_cf(n) for n in numbers} <= stored, "an acknowledged import is missing after the crash"


def test_roster_imports_are_all_or_nothing_after_sigkill_and_converge(engine, database_url, tmp_path):
    mapping = moodle_mapping_file(tmp_path / "moodle.json")
    server = ServerProcess(database_url, tmp_path, workers=2, env={"FSE_FAD_MOODLE_MAPPING": mapping})
    key, secret = server.create_client("office", "--role", "admin")
    sent: list[list[int]] = []
    acknowledged: list[list[int]] = []
    statuses: dict[int, int] = {}

    def importer(client: int, stop: threading.Event):
        connection = Connection(server.url, key, secret)
        round_number = 0
        while not stop.is_set():
            numbers = _roster(client, round_number)
            round_number += 1
            sent.append(numbers)
            try:
                status, report = upload_roster(connection, numbers)
            except LOST_CONNECTION:
                return
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                assert report["created"] == ROSTER_ROWS
                acknowledged.append(numbers)

    _kill_under_load(server, importer, clients=3)
    assert len(acknowledged) >= 3, f"the load did not get going: {statuses}"
    assert set(statuses) == {200}, statuses

    restarted = ServerProcess(database_url, tmp_path, workers=1, env={"FSE_FAD_MOODLE_MAPPING": mapping})
    try:
        _all_or_nothing(engine, sent, acknowledged)
        # Running every import again converges: all learners, once each, then nothing to change.
        connection = Connection(restarted.url, key, secret)
        for numbers in sent:
            status, report = upload_roster(connection, numbers)
            assert status == 200 and report["created"] + report["unchanged"] == ROSTER_ROWS, report
        for numbers in sent[:3]:
            assert upload_roster(connection, numbers)[1]["unchanged"] == ROSTER_ROWS
        with engine.connect() as conn:
            learners = conn.execute(select(func.count()).select_from(Learner)).scalar()
            identities = conn.execute(select(func.count(LearnerIdentity.agent_key.distinct()))).scalar()
            identity_rows = conn.execute(select(func.count()).select_from(LearnerIdentity)).scalar()
        assert learners == len(_stored_learners(engine)) == ROSTER_ROWS * len(sent)
        assert identities == identity_rows, "an identity is stored twice"
    finally:
        restarted.stop()


def test_a_killed_cli_import_leaves_nothing_and_running_it_again_imports_everything(engine, database_url, tmp_path):
    mapping = moodle_mapping_file(tmp_path / "moodle.json")
    roster = tmp_path / "roster.csv"
    numbers = list(range(1, 12_001))
    roster.write_bytes(csv_bytes([row(n) for n in numbers]))
    env = ServerProcess.environment(database_url, "http://127.0.0.1", {"FSE_FAD_MOODLE_MAPPING": mapping})
    command = [sys.executable, "-m", "fse_fad.cli", "learners", "import", str(roster), "--json"]

    started = time.monotonic()
    finished = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    duration = time.monotonic() - started
    assert finished.returncode == 0, finished.stderr
    _empty_tables(engine)

    for fraction in (0.3, 0.6, 0.9):
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(duration * fraction)
        process.send_signal(signal.SIGKILL)
        process.wait()
        stored = len(_stored_learners(engine))
        assert stored in (0, len(numbers)), f"the killed import left {stored} of {len(numbers)} learners"
        if stored:
            _empty_tables(engine)
    again = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] == len(numbers)
    assert _stored_learners(engine) == {make_cf(n) for n in numbers}
