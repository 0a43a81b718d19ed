"""End to end: the FAD simulator drives a real ``fse-fad serve`` (SQLite and PostgreSQL) with tincan,
and the server's completions report by trust must be the one the simulator expects from the
journeys it generated, whatever the delivery: clean, shuffled, with batches sent twice, and with
completions and test passes voided afterwards."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from courses import simulator
from courses.catalogue import default_catalogue
from courses.interpretation import Interpreter
from courses.models import Learner, LearnerProgress
from courses.moodle import load_mapping
from courses.progress import summarize
from fse_fad.db import make_engine, make_session_factory, session_scope
from tests.conftest import _empty_tables
from tests.courses_support import moodle_mapping_file
from tests.server import ServerProcess

CATALOGUE = default_catalogue()
IN_PROGRESS = ("in_progress", "test_failed", "attempts_exhausted")


@pytest.fixture
def mapping_path(tmp_path) -> str:
    return moodle_mapping_file(tmp_path / "moodle.json")


@pytest.fixture
def server(database_url, tmp_path, mapping_path):
    engine = make_engine(database_url)
    _empty_tables(engine)
    engine.dispose()
    process = ServerProcess(database_url, tmp_path, env={"FSE_FAD_MOODLE_MAPPING": mapping_path})
    yield process
    process.stop()


def http_report(server, key, secret) -> dict:
    return simulator.api_request(f"{server.url}/api/v1/reports/completions?group_by=trust", key, secret)


def stored_report(database_url) -> dict:
    """The same counts read straight from the projection tables, in the report's shape."""
    course = CATALOGUE.fad_course
    engine = make_engine(database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            found = session.execute(
                select(Learner.trust_code, LearnerProgress.status, LearnerProgress.assessment_completed_at.is_not(None),
                       func.count())
                .select_from(Learner).outerjoin(LearnerProgress, (LearnerProgress.learner_id == Learner.id)
                                                & (LearnerProgress.course_code == course.code))
                .group_by(Learner.trust_code, LearnerProgress.status,
                          LearnerProgress.assessment_completed_at.is_not(None))).all()
    finally:
        engine.dispose()
    rows: dict[str, Counter] = {}
    for trust, status, assessed, count in found:
        counts = rows.setdefault(trust, Counter())
        counts["learners"] += count
        counts["assessed"] += count if assessed else 0
        counts["in_progress"] += count if status in IN_PROGRESS else 0
        counts["completed"] += count if status == "completed" else 0
    names = ("learners", "assessed", "in_progress", "completed")
    totals = sum(rows.values(), Counter())

    def rate(counts):
        return round(counts["completed"] / counts["learners"], 4) if counts["learners"] else 0.0

    return {"group_by": "trust", "course": course.code, "from": None, "to": None,
            "rows": [{"key": key, "label": CATALOGUE.reference.trusts[key].name,
                      **{n: rows[key][n] for n in names}, "completion_rate": rate(rows[key])} for key in sorted(rows)],
            "totals": {**{n: totals[n] for n in names}, "completion_rate": rate(totals)}}


def check_reports(server, database_url, key, secret, expected: dict) -> None:
    assert stored_report(database_url) == expected
    assert http_report(server, key, secret) == expected


@pytest.mark.slow
def test_a_clean_run_gives_the_expected_report(server, database_url, mapping_path):
    key, secret = server.create_client("simulator", "--scope", "all", "--role", "admin")
    simulation = simulator.simulate(100, seed=11, catalogue=CATALOGUE, moodle=load_mapping(mapping_path, CATALOGUE))
    report = simulator.run(simulation, server.url, key, secret, clients=2)
    assert report.imported["created"] == 100 and report.duplicated_batches == 0
    assert report.by_shape["moodle"] > 1000 and report.by_shape["content"] > 1000
    assert {"completed", "in_progress", "test_failed", "attempts_exhausted", "assessed", "not_started"} \
        <= set(report.statuses)
    expected = simulation.expected_report()
    assert expected["totals"]["learners"] == 100 and len(expected["rows"]) >= 5
    check_reports(server, database_url, key, secret, expected)


@pytest.mark.slow
def test_shuffled_repeated_and_voided_delivery_gives_the_expected_report(server, database_url, mapping_path):
    key, secret = server.create_client("simulator", "--scope", "all", "--role", "admin")
    moodle = load_mapping(mapping_path, CATALOGUE)
    simulation = simulator.simulate(80, seed=12, catalogue=CATALOGUE, moodle=moodle)
    before = simulation.expected_report()["totals"]
    # One batch at a time, as Moodle sends them (concurrent batches: see the findings of issue 4).
    report = simulator.run(simulation, server.url, key, secret, shuffle=True, duplicates=True, void=8)
    assert report.duplicated_batches > 0 and report.voided >= 8
    expected = simulation.expected_report()
    # Each void takes one learner out of the completed: back to in progress or to a failed test.
    assert expected["totals"]["completed"] == before["completed"] - 8
    assert expected["totals"]["in_progress"] == before["in_progress"] + 8
    check_reports(server, database_url, key, secret, expected)


@pytest.mark.slow
def test_the_cli_imports_sends_and_writes_the_expected_report(server, database_url, tmp_path):
    key, secret = server.create_client("simulator", "--scope", "all", "--role", "admin")
    out = tmp_path / "expected.json"
    result = subprocess.run([sys.executable, "-m", "fse_fad.cli", "simulate", "--learners", "40", "--url", server.url,
                             "--key", key, "--secret", secret, "--seed", "5", "--expect-out", str(out),
                             "--duplicates", "--shuffle", "--void", "3"],
                            env=server.env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "Learners: 40 (roster: 40 created" in result.stdout and "By sender: Moodle" in result.stdout
    expected = json.loads(out.read_text(encoding="utf-8"))
    check_reports(server, database_url, key, secret, expected)
    # The same seed sends the same data: run again, nothing changes.
    again = subprocess.run([sys.executable, "-m", "fse_fad.cli", "simulate", "--learners", "40", "--url", server.url,
                            "--key", key, "--secret", secret, "--seed", "5", "--void", "3", "--json"],
                           env=server.env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["expected"] == expected
    check_reports(server, database_url, key, secret, expected)


def test_the_simulator_is_reproducible_and_agrees_with_the_progress_rules(tmp_path):
    """Offline: the expectations come from the journeys, and ``courses.progress`` reads the same
    statuses from the statements (so a failing end-to-end test points at delivery or storage)."""
    moodle = load_mapping(moodle_mapping_file(tmp_path / "moodle.json"), CATALOGUE)
    first = simulator.simulate(150, seed=3, catalogue=CATALOGUE, moodle=moodle)
    second = simulator.simulate(150, seed=3, catalogue=CATALOGUE, moodle=moodle)
    assert [s.body for s in first.statements] == [s.body for s in second.statements]
    assert simulator.simulate(100, seed=3, catalogue=CATALOGUE, moodle=moodle).learners == first.learners[:100]
    interpreter = Interpreter(CATALOGUE, moodle)
    seen = Counter()
    for number, journey in enumerate(first.journeys):
        facts = []
        for index, statement in enumerate(journey.statements):
            body = {"id": f"00000000-0000-4000-8000-{number:06d}{index:06d}", **statement.body}
            fact = interpreter.interpret({**body, "stored": body["timestamp"]})
            if fact is not None:
                facts.append(fact)
        snapshot = summarize(CATALOGUE.fad_course, facts)
        assessed, status = simulator.outcome(journey, CATALOGUE.fad_course)
        assert (snapshot.status, snapshot.assessment_completed_at is not None) == (status, assessed), journey.plan
        seen[status] += 1
    assert set(seen) == {"not_started", "in_progress", "assessed", "test_failed", "attempts_exhausted", "completed"}


def test_without_moodle_every_statement_is_the_contents_and_the_roster_has_no_moodle_ids():
    simulation = simulator.simulate(40, seed=9, catalogue=CATALOGUE)
    assert {s.shape for s in simulation.statements} == {"content"}
    assert all(s.body["actor"].get("mbox") for s in simulation.statements)
    roster = simulation.roster_csv().decode()
    assert roster.splitlines()[0].endswith("moodle_id;moodle_username")
    assert all(line.endswith(";;") for line in roster.splitlines()[1:])
