"""Benchmark of the Co.Ge.A.P.S. participant report: 60,000 participants must be checked and
written in under 10 s and under 200 MB.

Creates a fresh database (PostgreSQL, and SQLite unless ``--no-sqlite``), brings it up to date with
the migrations, inserts an event of the FAD course, ``--participants`` learners (valid codici
fiscali, names with accents, every health profession with one of its disciplines) and one credit
entry each, then writes the XML report with ``ecm.participant_report.produce`` to a file, as
``fse-fad ecm report`` does: once timed, once under tracemalloc. Prints time, participants/s,
the peak of Python allocations (tracemalloc) and the peak RSS (VmHWM) of the process that
wrote the report (a fresh process: Python and its libraries included), then a JSON line, and
drops the database.

    python bench/ecm_report.py
    python bench/ecm_report.py --participants 5000

``FSE_FAD_BENCH_POSTGRES_URL`` is the administrative URL (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). Not a timed test.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lxml import etree  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from courses.catalogue import default_catalogue  # noqa: E402
from courses.models import Learner  # noqa: E402
from ecm import operations, participant_report  # noqa: E402
from ecm.models import CreditEntry  # noqa: E402
from ecm.rules import RULE_VERSION  # noqa: E402
from fse_fad.db import create_scratch_database, make_engine, make_session_factory, session_scope, upgrade  # noqa: E402
from import_roster import NAMES, SURNAMES, codice_fiscale  # noqa: E402

ADMIN_URL = os.environ.get("FSE_FAD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_SECONDS = 10.0
TARGET_MB = 200.0
EMPLOYMENT = ["dipendente", "convenzionato", "libero_professionista", "privo_di_occupazione"]


def fill(factory, participants: int, seed: int = 20261203) -> None:
    catalogue = default_catalogue()
    reference = catalogue.reference
    professions = [p for p in reference.professions.values() if p.ecm_eligible]
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    with session_scope(factory) as session:
        event = operations.create_event(session, operations.load_event_input({
            "code": "123-4567", "title": "FSE 2.0 – formazione generale", "provider_code": "123",
            "accrediting_body_code": "090", "start_date": "2026-01-15", "end_date": "2026-12-31", "hours": 4,
            "objective_code": 18, "professions": "all", "course_code": catalogue.fad_course.code}),
            catalogue, reference)
        event_id = event.id
    for start in range(0, participants, 5000):
        learners, entries = [], []
        for n in range(start, min(participants, start + 5000)):
            profession = rng.choice(professions)
            data = {"codice_fiscale": codice_fiscale(n, rng), "surname": rng.choice(SURNAMES),
                    "name": rng.choice(NAMES), "profession": profession.code,
                    "disciplines": [rng.choice(profession.disciplines).code], "employment": rng.choice(EMPLOYMENT)}
            learners.append({"id": n + 1, "codice_fiscale": data["codice_fiscale"], "surname": data["surname"],
                             "name": data["name"], "trust_code": "USL-TC", "category_code": "2.vi", "cluster": 2,
                             "profession_code": profession.code, "disciplines": data["disciplines"],
                             "ecm_eligible": True, "employment": data["employment"], "active": True,
                             "created_at": now, "updated_at": now})
            entries.append({"event_id": event_id, "learner_id": n + 1, "kind": "issue", "outcome": "credits",
                            "credits": Decimal("4.0"), "credit_date": date(2026, 10, 1 + n % 28),
                            "rule_version": RULE_VERSION, "statement_ids": [f"{n:08d}-0000-4000-8000-000000000000"],
                            "learner_data": data, "flagged": False,
                            "verification_code": operations.new_verification_code(), "created_at": now})
        with session_scope(factory) as session:
            session.execute(insert(Learner), learners)
            session.execute(insert(CreditEntry), entries)


def write_report(factory, path: Path) -> int:
    reference = default_catalogue().reference
    with session_scope(factory) as session, path.open("wb") as fh:
        event = operations.get_event(session, "123-4567")
        return participant_report.produce(session, event, fh, reference)


def measured_write(url: str, path: str, traced: bool) -> dict:
    """In a fresh process, so that its peak RSS is the report's and not the data generator's."""
    engine = make_engine(url)
    if traced:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    written = write_report(make_session_factory(engine), Path(path))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    engine.dispose()
    return {"written": written, "seconds": seconds, "cpu_seconds": cpu_seconds, "tracemalloc_peak": peak,
            "ru_maxrss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """The process's peak resident set: VmHWM belongs to this program's memory alone, where
    ru_maxrss would also carry the parent's peak across fork and exec."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(url: str, participants: int) -> dict:
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    fill(make_session_factory(engine), participants)
    filled = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum would have done by then
    engine.dispose()
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rapporto.xml"
        with spawn.Pool(1) as pool:
            timed = pool.apply(measured_write, (url, str(path), False))
        with spawn.Pool(1) as pool:
            traced = pool.apply(measured_write, (url, str(path), True))
        size_mb = path.stat().st_size / 1e6
        counted = sum(1 for _event, _el in etree.iterparse(str(path), tag="partecipante"))
    assert timed["written"] == counted == participants, (timed["written"], counted)
    seconds, peak = timed["seconds"], traced["tracemalloc_peak"] / 2**20
    return {"database": url.split(":", 1)[0].split("+")[0], "participants": participants,
            "fill_seconds": round(filled, 1), "report_seconds": round(seconds, 2),
            "report_cpu_seconds": round(timed["cpu_seconds"], 2), "load_average": round(os.getloadavg()[0], 1),
            "participants_per_second": round(participants / seconds), "report_mb": round(size_mb, 1),
            "tracemalloc_peak_mb": round(peak, 1), "process_peak_rss_mb": round(timed["ru_maxrss_mb"], 1),
            "under_targets": seconds < TARGET_SECONDS and timed["ru_maxrss_mb"] < TARGET_MB}


def each_database(run, count: int, sqlite: bool = True) -> list[dict]:
    """``run(url, count)`` on a scratch PostgreSQL database (dropped afterwards), then on SQLite."""
    results = []
    url, drop = create_scratch_database(ADMIN_URL, "fse_fad_bench_ecm")
    try:
        results.append(run(url, count))
    finally:
        drop()
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results.append(run(f"sqlite:///{tmp}/bench.db", count))
    return results


def analyze(engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum would have done by then


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=60_000)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    results = each_database(run, args.participants, not args.no_sqlite)
    for r in results:
        print(f"{r['database']}: {r['participants']} participants written in {r['report_seconds']} s "
              f"({r['report_cpu_seconds']} s of CPU in the writing process, load average {r['load_average']}) "
              f"({r['participants_per_second']}/s), {r['report_mb']} MB of XML; peak Python allocations "
              f"{r['tracemalloc_peak_mb']} MB, peak RSS of the writing process {r['process_peak_rss_mb']} MB "
              f"(targets: < {TARGET_SECONDS:g} s, < {TARGET_MB:g} MB)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
