"""Benchmark of issuing an event's credits: 60,000 learners who completed the FAD course.

Creates a fresh database (PostgreSQL, and SQLite unless ``--no-sqlite``), brings it up to date with
the migrations, inserts an event, ``--learners`` nurses with the progress ``courses`` keeps for a
completed course (progress row, eight completed modules and their completing facts), then runs
``ecm.operations.issue`` twice, as ``fse-fad ecm issue`` does: the first run issues every entry,
the second finds nothing to change. Prints wall and CPU time of each run, then a JSON line, and
drops the database.

    python bench/ecm_issue.py
    python bench/ecm_issue.py --learners 5000

``FSE_FAD_BENCH_POSTGRES_URL`` is the administrative URL (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). Not a timed test.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import insert  # noqa: E402

from courses.catalogue import default_catalogue  # noqa: E402
from courses.models import Learner, LearnerProgress, ModuleProgress, ProgressFact  # noqa: E402
from ecm import operations  # noqa: E402
from ecm_report import analyze, each_database  # noqa: E402
from fse_fad.db import make_engine, make_session_factory, session_scope, upgrade  # noqa: E402
from import_roster import codice_fiscale  # noqa: E402


def fill(factory, learners: int, seed: int = 20261203) -> None:
    catalogue = default_catalogue()
    course = catalogue.fad_course
    rng = random.Random(seed)
    start = datetime(2026, 3, 1, 8, tzinfo=timezone.utc)
    with session_scope(factory) as session:
        operations.create_event(session, operations.load_event_input({
            "code": "123-4567", "title": "FSE 2.0 – formazione generale", "provider_code": "123",
            "accrediting_body_code": "090", "start_date": "2026-01-15", "end_date": "2026-12-31", "hours": 4,
            "objective_code": 18, "professions": "all", "course_code": course.code}), catalogue, catalogue.reference)
    for first in range(0, learners, 2000):
        rows: dict = {Learner: [], LearnerProgress: [], ModuleProgress: [], ProgressFact: []}
        for n in range(first, min(learners, first + 2000)):
            learner_id = n + 1
            began = start + timedelta(minutes=rng.randint(0, 200 * 24 * 60))
            rows[Learner].append({
                "id": learner_id, "codice_fiscale": codice_fiscale(n, rng), "surname": "Rossi", "name": "Niccolò",
                "trust_code": "USL-TC", "category_code": "2.vi", "cluster": 2, "profession_code": 14,
                "disciplines": [85], "ecm_eligible": True, "employment": "dipendente", "active": True,
                "created_at": start, "updated_at": start})
            for module in course.modules:
                done = began + timedelta(minutes=30 * module["number"])
                rows[ModuleProgress].append({
                    "learner_id": learner_id, "course_code": course.code, "module_number": module["number"],
                    "module_code": module["code"], "level": "base", "launched_at": done, "completed_at": done,
                    "seconds": 1500.0})
                rows[ProgressFact].append({
                    "statement_id": str(uuid.uuid4()), "agent_key": f"account:bench|{learner_id}",
                    "learner_id": learner_id, "course_code": course.code, "element_key": f"{module['code']}/base",
                    "kind": "completed", "occurred_at": done, "stored_us": 0, "completion": True})
            passed = began + timedelta(minutes=300)
            rows[LearnerProgress].append({
                "learner_id": learner_id, "course_code": course.code, "status": "completed", "enrolled_at": began,
                "modules_completed": 8, "test_attempts": 1, "test_best_percent": 80.0, "test_passed_at": passed,
                "attempts": [{"number": 1, "percent": 80.0, "passed": True, "at": passed.isoformat(),
                              "statement_id": str(uuid.uuid4())}],
                "questionnaire_at": passed + timedelta(minutes=5), "questionnaire_statement_id": str(uuid.uuid4()),
                "hours_attended": 0.0, "completed_at": passed + timedelta(minutes=5),
                "last_activity_at": passed + timedelta(minutes=5)})
        with session_scope(factory) as session:
            for model, values in rows.items():
                session.execute(insert(model), values)


def timed_issue(factory) -> tuple[operations.IssueResult, float, float]:
    catalogue = default_catalogue()
    started, cpu = time.perf_counter(), time.process_time()
    with session_scope(factory) as session:
        result = operations.issue(session, operations.get_event(session, "123-4567"), catalogue)
    return result, time.perf_counter() - started, time.process_time() - cpu


def run(url: str, learners: int) -> dict:
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    fill(factory, learners)
    analyze(engine)
    first, first_wall, first_cpu = timed_issue(factory)
    second, second_wall, second_cpu = timed_issue(factory)
    engine.dispose()
    assert first.credits == learners and second.unchanged == learners and second.credits == 0
    return {"database": url.split(":", 1)[0].split("+")[0], "learners": learners,
            "first_seconds": round(first_wall, 2), "first_cpu_seconds": round(first_cpu, 2),
            "again_seconds": round(second_wall, 2), "again_cpu_seconds": round(second_cpu, 2),
            "load_average": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=60_000)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    results = each_database(run, args.learners, not args.no_sqlite)
    for r in results:
        print(f"{r['database']}: {r['learners']} learners: issued in {r['first_seconds']} s "
              f"({r['first_cpu_seconds']} s CPU), issued again (nothing new) in {r['again_seconds']} s "
              f"({r['again_cpu_seconds']} s CPU); load average {r['load_average']}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
