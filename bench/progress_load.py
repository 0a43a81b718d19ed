"""Progress benchmark on PostgreSQL: 60,000 learners, 10,000,000 statements projected into their
progress; the training offices' reports, a learner's progress and the projection under ingest.

Two steps, which may run as two invocations:

* build (``--build-only``, or the first part of a whole run): a fresh database brought up to date
  by the migrations; the simulator's roster imported with ``courses.importing.import_roster``; the
  simulator's journeys of every learner (Moodle and content shapes, ``--pages`` progress
  statements per module) completed by ``lrs.statements.complete_statement``, interpreted by the
  projection's ``Interpreter``, and written with COPY (statements, filter keys, facts) from
  ``--load-procs`` processes; then every learner's progress computed by
  ``courses.projection.refresh`` (what ``fse-fad progress rebuild`` runs), and VACUUM ANALYZE.
* measure (``--measure-only``, or the second part): ``fse-fad serve`` on a loopback port, 4 HTTP
  clients with keep-alive; every grouped report, as the regional office and as a trust's office;
  the learners list by status, random pages; a learner's progress; POSTs of batches of 100
  statements about catalogue elements of known learners (the projection works for each), and the
  same batches about activities outside the catalogue (the projection finds nothing to do).

    python bench/progress_load.py --quick                        # smoke run: 2,000 learners
    python bench/progress_load.py --build-only --keep-db         # 60,000 learners, 10M statements
    python bench/progress_load.py --measure-only --keep-db       # measure the database built above

Prints a table, the targets and a final JSON line. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import lrs_load  # noqa: E402
from lrs_load import (CpuMeter, PhaseResult, RssMonitor, ServerProcess, clean_up, create_database,  # noqa: E402
                      db_execute, fmt_table, get_task, post_task, run_phase, stop_server)

from courses import simulator  # noqa: E402
from courses.reports import ASSESSMENT_GROUPS, GROUPS  # noqa: E402
from courses.progress import STATUSES  # noqa: E402

TRUST_OFFICE = "USL-TC"  # the largest trust: its office's reports read the most rows
AUTHORITY = {"objectType": "Agent", "name": "bench-progress-load",
             "account": {"homePage": "http://127.0.0.1/clients", "name": "bench-progress-load"}}
OUTSIDE_CATALOGUE = "https://altro-contenuto.example.org/"
TARGETS = {
    # name: (figure, comparison, bound, description)
    "reports_p95": ("worst_report_p95_ms", "<", 200, "worst grouped report p95 ms"),
    "progress_p95": ("learner_progress_p95_ms", "<", 20, "learner progress p95 ms"),
    "projection": ("projection_statements_per_s", ">=", 4000, "statements/s, projection on"),
}


# --- building the data ----------------------------------------------------------------------------

def mapping_file(workdir: Path) -> str:
    """The Moodle mapping the end-to-end tests use: one SCORM activity per module level, the quizzes,
    the questionnaire, on the simulator's Moodle site."""
    from tests.courses_support import moodle_mapping_file

    return moodle_mapping_file(workdir / "moodle.json")


_WORKER: dict = {}


def _worker_state(db_url: str, mapping_path: str) -> dict:
    """Per loading process: the catalogue, the interpreter, the learners' identities, a connection."""
    if not _WORKER:
        import psycopg

        from courses.catalogue import default_catalogue
        from courses.interpretation import Interpreter
        from courses.models import LearnerIdentity
        from courses.moodle import load_mapping
        from fse_fad.db import make_engine, make_session_factory, session_scope
        from lrs.statements import Writer
        from sqlalchemy import select

        catalogue = default_catalogue()
        moodle = load_mapping(mapping_path, catalogue)
        engine = make_engine(db_url, pool_size=1, max_overflow=0)
        factory = make_session_factory(engine)
        with session_scope(factory) as session:
            owners = {key: (learner_id, key) for key, learner_id in session.execute(
                select(LearnerIdentity.agent_key, LearnerIdentity.learner_id))}
        site = moodle.default_site
        _WORKER.update(catalogue=catalogue, moodle=moodle, site=site, factory=factory, owners=owners,
                       paths=simulator.moodle_paths(site, catalogue.fad_course.code),
                       interpreter=Interpreter(catalogue, moodle), writer=Writer(authority=AUTHORITY, may_define=True),
                       conn=psycopg.connect(lrs_load._libpq_url(db_url)))
    return _WORKER


def _stored_us(timestamp: str, index: int) -> int:
    """Stored a few seconds after it happened (Moodle's log is sent by its scheduled task)."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1_000_000) + (5 + index % 55) * 1_000_000


def _load_chunk(job: tuple) -> dict:
    """One chunk of learners, in one transaction: their journeys as statements, filter keys and
    facts, written with COPY; then their progress, by ``courses.projection.refresh``."""
    from courses.projection import _owned_fact_row, refresh
    from fse_fad.db import session_scope
    from lrs import identity
    from lrs.statements import complete_statement

    db_url, mapping_path, seed, first, count, pages, deadline = job
    if time.time() > deadline:
        return {"statements": 0, "facts": 0, "learners": 0, "skipped": count}
    started = time.perf_counter()
    state = _worker_state(db_url, mapping_path)
    catalogue, site, interpreter, writer = state["catalogue"], state["site"], state["interpreter"], state["writer"]
    bodies, stored = [], []
    for learner in simulator.make_roster(count, seed, catalogue.reference, site, first):
        journey = simulator.make_journey(learner, seed, catalogue, site, state["paths"], pages)
        for index, statement in enumerate(journey.statements):
            stored.append(_stored_us(statement.body["timestamp"], index))
            bodies.append(complete_statement(statement.body, writer, stored[-1]))
    authority_key = writer.authority_key
    learner_ids: set[int] = set()
    facts = 0
    columns = ("statement_id", "agent_key", "learner_id", "course_code", "element_key", "kind", "occurred_at",
               "stored_us", "registration", "score_percent", "success", "completion", "duration_seconds", "data")
    with session_scope(state["factory"]) as session:
        conn = session.connection().connection.driver_connection
        pks = [pk for (pk,) in conn.execute("SELECT nextval(pg_get_serial_sequence('lrs_statements', 'pk')) "
                                            "FROM generate_series(1, %s)", (len(bodies),))]
        with conn.cursor() as cur:
            with cur.copy("COPY lrs_statements (pk, statement_id, stored_us, voided, is_voiding, ref_statement_id, "
                          "authority_key, body) FROM STDIN") as copy:
                for pk, stored_us, body in zip(pks, stored, bodies):
                    copy.write_row((pk, body["id"], stored_us, False, False, None, authority_key,
                                    json.dumps(body, separators=(",", ":"))))
            with cur.copy("COPY lrs_statement_keys (key, statement_pk) FROM STDIN") as copy:
                for pk, body in zip(pks, bodies):
                    for key in identity.filter_keys(body):
                        copy.write_row((key, pk))
            with cur.copy(f"COPY courses_progress_facts ({', '.join(columns)}) FROM STDIN") as copy:
                for body in bodies:
                    fact = interpreter.interpret(body)
                    if fact is None:
                        continue
                    row = _owned_fact_row(fact, state["owners"])
                    row["data"] = json.dumps(row["data"]) if row["data"] is not None else None
                    copy.write_row(tuple(row[c] for c in columns))
                    facts += 1
                    if row["learner_id"] is not None:
                        learner_ids.add(row["learner_id"])
        facts_done = time.perf_counter()
        refresh(session, learner_ids, catalogue)
    return {"statements": len(bodies), "facts": facts, "learners": len(learner_ids), "skipped": 0,
            "copy_s": facts_done - started, "refresh_s": time.perf_counter() - facts_done}


def statements_per_learner(pages: int, seed: int, site, catalogue, sample: int = 200) -> float:
    paths = simulator.moodle_paths(site, catalogue.fad_course.code)
    roster = simulator.make_roster(sample, seed, catalogue.reference, site)
    return sum(len(simulator.make_journey(l, seed, catalogue, site, paths, pages).statements)
               for l in roster) / sample


def pages_for(per_learner: float, seed: int, site, catalogue) -> int:
    """The pages per module that give about ``per_learner`` statements: the count grows linearly."""
    low, high = statements_per_learner(0, seed, site, catalogue), statements_per_learner(20, seed, site, catalogue)
    return max(0, math.ceil((per_learner - low) / ((high - low) / 20)))


def build(db_url: str, workdir: Path, learners: int, statements: int, procs: int, seed: int,
          deadline: float, chunk: int = 100) -> dict:
    import multiprocessing

    from courses.catalogue import default_catalogue
    from courses.importing import import_roster
    from courses.moodle import load_mapping
    from fse_fad.db import make_engine, make_session_factory, session_scope, upgrade

    out: dict = {}
    upgrade(db_url)
    mapping_path = mapping_file(workdir)
    catalogue = default_catalogue()
    site = load_mapping(mapping_path, catalogue).default_site
    roster = simulator.make_roster(learners, seed, catalogue.reference, site)
    engine = make_engine(db_url)
    started = time.perf_counter()
    with session_scope(make_session_factory(engine)) as session:
        imported = import_roster(session, simulator.roster_csv(roster), moodle_home_page=site.wwwroot,
                                 catalogue=catalogue)
    engine.dispose()
    assert imported.created == learners and not imported.problems, imported.as_dict()
    out["roster_import"] = {"learners": learners, "seconds": round(time.perf_counter() - started, 1)}
    print(f"  roster: {learners} learners imported in {out['roster_import']['seconds']}s", flush=True)

    pages = pages_for(statements / learners, seed, site, catalogue)
    jobs = [(db_url, mapping_path, seed, first, min(chunk, learners - first), pages, deadline)
            for first in range(0, learners, chunk)]
    meter = CpuMeter(RssMonitor(os.getpid()), db_url)
    made = {"statements": 0, "facts": 0, "learners": 0, "skipped": 0, "copy_s": 0.0, "refresh_s": 0.0}
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        before, started = meter.snapshot(), time.perf_counter()
        for done, result in enumerate(pool.imap(_load_chunk, jobs), start=1):
            for name in made:
                made[name] += result.get(name, 0)
            if done % max(1, len(jobs) // 40) == 0 or done == len(jobs):
                elapsed = time.perf_counter() - started
                print(f"  {made['statements']} statements, progress of {made['learners']} learners "
                      f"({done}/{len(jobs)} chunks) in {elapsed:.0f}s: {made['statements'] / elapsed:.0f} "
                      f"statements/s", flush=True)
        seconds = time.perf_counter() - started
        cpu = meter.between(before, meter.snapshot())
    out["statements_load"] = {
        "mode": f"per chunk of {chunk} learners, one transaction: COPY of the completed statements, their "
                f"filter keys and interpreted facts, then courses.projection.refresh; {procs} processes",
        "pages_per_module": pages, "statements": made["statements"], "facts": made["facts"],
        "learners_with_journeys": made["learners"], "learners_skipped_at_deadline": made["skipped"],
        "seconds": round(seconds, 1), "statements_per_s": round(made["statements"] / seconds, 1),
        "copy_share": round(made["copy_s"] / ((made["copy_s"] + made["refresh_s"]) or 1), 3),
        "refresh_ms_per_learner": round(1000 * made["refresh_s"] / (made["learners"] or 1), 1),
        "cpu": _cpu_columns(cpu)}
    started = time.perf_counter()
    db_execute(db_url, "VACUUM ANALYZE")
    out["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    return out


def _cpu_columns(cpu: dict) -> dict:
    """The meter's columns under the names of a load step: the loading processes are its 'server'."""
    return {"loaders_s": cpu["server_s"], "postgres_s": cpu["postgres_s"], "other_s": cpu["other_s"],
            "idle_s": cpu["idle_s"]}


def dataset(db_url: str) -> dict:
    rows = db_execute(db_url, "SELECT count(*) FROM courses_learners", "SELECT count(*) FROM lrs_statements",
                      "SELECT count(*) FROM lrs_statement_keys", "SELECT count(*) FROM courses_progress_facts",
                      "SELECT count(*) FROM courses_learner_progress", "SELECT count(*) FROM courses_module_progress",
                      "SELECT count(*) FROM courses_assessments",
                      "SELECT status, count(*) FROM courses_learner_progress GROUP BY status ORDER BY status",
                      "SELECT pg_size_pretty(pg_database_size(current_database()))")
    names = ("learners", "statements", "filter_keys", "facts", "learner_progress", "module_progress", "assessments")
    out = {name: rows[i][0][0] for i, name in enumerate(names)}
    out["statuses"] = {status: count for status, count in rows[7]}
    out["database_size"] = rows[8][0][0]
    return out


# --- measuring -------------------------------------------------------------------------------------

def create_client(server: ServerProcess, name: str, *options: str) -> str:
    import base64
    import subprocess

    done = subprocess.run(server.cli("clients", "create", name, *options, "--json"), env=server.env,
                          cwd=server.workdir, capture_output=True, text=True, check=True)
    creds = json.loads(done.stdout.strip().splitlines()[-1])
    return "Basic " + base64.b64encode(f"{creds['key']}:{creds['secret']}".encode()).decode()


def report_paths(db_url: str, trust: str | None, rng: random.Random, per_phase: int) -> dict[str, list[str]]:
    """Every grouped report, and the learners list by status at random pages of 50, as the office
    of ``trust`` (None: the regional office) sees them."""
    paths = {f"completions_{g}": [f"/api/v1/reports/completions?group_by={g}"] * per_phase for g in GROUPS}
    paths.update({f"assessments_{g}": [f"/api/v1/reports/assessments?group_by={g}"] * per_phase
                  for g in ASSESSMENT_GROUPS})
    paths["targets"] = ["/api/v1/reports/targets"] * per_phase
    where = "" if trust is None else f"AND l.trust_code = '{trust}'"
    totals = dict(db_execute(db_url, "SELECT coalesce(p.status, 'not_started'), count(*) FROM courses_learners l "
                                     "LEFT JOIN courses_learner_progress p ON p.learner_id = l.id "
                                     f"AND p.course_code = 'FAD-FSE' WHERE l.erased_at IS NULL {where} "
                                     "GROUP BY 1")[0])
    for status in STATUSES:
        pages = max(1, math.ceil(totals.get(status, 0) / 50))
        paths[f"learners_{status}"] = [
            "/api/v1/reports/learners?" + urlencode({"status": status, "page": rng.randint(1, pages)})
            for _ in range(per_phase)]
    return paths


def progress_paths(db_url: str, trust: str | None, count: int, seed: int) -> list[str]:
    where = "" if trust is None else f"WHERE trust_code = '{trust}'"
    rows = db_execute(db_url, f"SELECT setseed({(seed % 1000) / 1000}); ",
                      f"SELECT codice_fiscale FROM courses_learners {where} ORDER BY random() LIMIT {count}")[1]
    return [f"/api/v1/learners/{cf}/progress" for (cf,) in rows]


def _outside_catalogue(body: dict) -> dict:
    """The same statement about activities the catalogue does not know: nothing to project."""
    copy = json.loads(json.dumps(body))

    def moved(iri: str) -> str:
        return OUTSIDE_CATALOGUE + iri.split("://", 1)[-1]

    copy["object"]["id"] = moved(copy["object"]["id"])
    for activities in (copy.get("context", {}).get("contextActivities") or {}).values():
        for activity in activities if isinstance(activities, list) else [activities]:
            activity["id"] = moved(activity["id"])
    if "id" in copy:
        copy["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, OUTSIDE_CATALOGUE + copy["id"]))
    return copy


def ingest_batches(db_url: str, mapping_path: str, learners: int, batches: int, seed: int,
                   per_batch_learners: int = 20, run: int = 5) -> tuple[list[list[dict]], list[list[dict]]]:
    """Batches of 100 statements about catalogue elements, from new journeys of known learners:
    ``per_batch_learners`` learners a batch, ``run`` consecutive statements each (a busy hour of
    the region). And the same batches about activities outside the catalogue."""
    from courses.catalogue import default_catalogue
    from courses.interpretation import Interpreter
    from courses.moodle import load_mapping

    catalogue = default_catalogue()
    moodle = load_mapping(mapping_path, catalogue)
    site = moodle.default_site
    interpreter = Interpreter(catalogue, moodle)
    paths = simulator.moodle_paths(site, catalogue.fad_course.code)
    rng = random.Random(f"progress-load:{seed}:ingest")
    wanted = batches * 100
    streams: list[list[dict]] = []
    have = 0
    for number in rng.sample(range(learners), min(learners, max(per_batch_learners, wanted // 60 + 1))):
        learner = simulator.make_learner(number, seed, catalogue.reference, site)
        journey = simulator.make_journey(learner, seed + 1, catalogue, site, paths, 3)
        bodies = [s.body for s in journey.statements]
        if bodies:
            streams.append(bodies)
            have += len(bodies)
        if have >= wanted * 1.2:
            break
    ordered: list[dict] = []
    for start in range(0, len(streams), per_batch_learners):
        group = [list(s) for s in streams[start:start + per_batch_learners]]
        while any(group):
            for stream in group:
                ordered += stream[:run]
                del stream[:run]
    on = [ordered[i:i + 100] for i in range(0, min(len(ordered), wanted), 100)]
    on = [b for b in on if len(b) == 100]
    probe = {"id": "00000000-0000-4000-8000-000000000000", "stored": "2026-01-01T00:00:00Z"}
    assert all(interpreter.interpret({**s, **probe}) is not None for b in on for s in b)
    off = [[_outside_catalogue(s) for s in b] for b in on]
    assert not any(interpreter.interpret({**s, **probe}) is not None for b in off for s in b)
    return on, off


def measure(db_url: str, workdir: Path, args) -> tuple[dict, list[tuple[str, dict]]]:
    rng = random.Random(args.seed)
    mapping_path = mapping_file(workdir)
    server = ServerProcess(db_url, args.port, workdir, args.workers or None, args.log_level)
    server.env["FSE_FAD_MOODLE_MAPPING"] = mapping_path
    results: dict = {}
    rows: list[tuple[str, dict]] = []
    learners = db_execute(db_url, "SELECT count(*) FROM courses_learners")[0][0][0]
    monitor = None
    try:
        print(f"starting fse-fad serve on 127.0.0.1:{args.port}", flush=True)
        server.start()
        monitor = RssMonitor(server.proc.pid)
        monitor.start()
        meter = CpuMeter(monitor, db_url)
        regional = create_client(server, "bench-progress-regional", "--role", "training-office", "--regional")
        office = create_client(server, "bench-progress-office", "--role", "training-office", "--trust", TRUST_OFFICE)
        platform = create_client(server, "bench-progress-platform", "--scope", "all", "--role", "fad-platform")

        def phase(name: str, auth: str, tasks: list, concurrency: int) -> dict:
            before = meter.snapshot()
            result: PhaseResult = run_phase(name, args.port, auth, tasks, concurrency, args.phase_time_limit)
            result.cpu = meter.between(before, meter.snapshot())
            r = results[name] = result.as_dict()
            rows.append((name, r))
            extra = f", {r['statements_per_s']:.0f} statements/s" if "statements_per_s" in r else ""
            print(f"  {name}: {r['requests']} requests, {r['requests_per_s']} req/s{extra}, p50 {r['p50_ms']} ms, "
                  f"p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}", flush=True)
            for sample in r.get("error_samples", ()):
                print(f"    error: {sample}", flush=True)
            return r

        phase("warmup", regional, [get_task(p) for ps in report_paths(db_url, None, rng, 2).values() for p in ps],
              args.clients)
        for view, trust, auth in (("regional", None, regional), ("trust", TRUST_OFFICE, office)):
            print(f"reports as the {view} office", flush=True)
            for name, paths in report_paths(db_url, trust, rng, args.report_requests).items():
                phase(f"{view}_{name}", auth, [get_task(p) for p in paths], args.clients)
            progress = progress_paths(db_url, trust, args.progress_requests, args.seed)
            phase(f"{view}_learner_progress", auth, [get_task(p) for p in progress], args.clients)
            # One client alone: the latency of a request that waits for no other.
            phase(f"{view}_learner_progress_1_client", auth, [get_task(p) for p in progress[: len(progress) // 2]], 1)

        print("POST batches of 100 statements", flush=True)
        on, off = ingest_batches(db_url, mapping_path, learners, args.ingest_batches, args.seed)
        encode = lambda batch: post_task(json.dumps(batch, separators=(",", ":")).encode(), len(batch))  # noqa: E731
        half = len(on) // 2
        # Alternating halves, so that neither kind has the database to itself at a quieter moment.
        phase("post_outside_catalogue_1", platform, [encode(b) for b in off[:half]], args.clients)
        phase("post_projected_1", platform, [encode(b) for b in on[:half]], args.clients)
        phase("post_outside_catalogue_2", platform, [encode(b) for b in off[half:]], args.clients)
        phase("post_projected_2", platform, [encode(b) for b in on[half:]], args.clients)
        monitor.final_sample()
        results["rss"] = monitor.report()
    finally:
        stop_server(server, monitor)
    return results, rows


def merged(results: dict, prefix: str) -> dict:
    """Two halves of a POST phase as one: statements/s over both, latencies pooled."""
    parts = [results[f"{prefix}_1"], results[f"{prefix}_2"]]
    seconds = sum(p["seconds"] for p in parts)
    statements = sum(p.get("statements", 0) for p in parts)
    cpu = {k: round(sum(p["cpu"][k] for p in parts), 2) for k in ("server_s", "postgres_s", "generator_s")}
    used = sum(cpu.values())
    return {"statements": statements, "seconds": round(seconds, 2),
            "statements_per_s": round(statements / seconds, 1) if seconds else 0.0,
            "p95_ms": max(p["p95_ms"] for p in parts), "cpu": cpu,
            "alone_statements_per_s": round(statements * (os.cpu_count() or 1) / used, 1) if used else 0.0,
            "server_ms_per_statement": round(1000 * cpu["server_s"] / statements, 3) if statements else 0.0,
            "postgres_ms_per_statement": round(1000 * cpu["postgres_s"] / statements, 3) if statements else 0.0}


def summary(results: dict) -> dict:
    # Grouped reports: completions, assessments, targets. The learners list (a page of one status)
    # is no grouped report: its worst p95 is given beside them.
    grouped = {name: r for name, r in results.items()
               if name.startswith(("regional_", "trust_")) and "_learner" not in name}
    lists = {name: r for name, r in results.items() if "_learners_" in name}
    worst = max(grouped.items(), key=lambda item: item[1]["p95_ms"])
    worst_list = max(lists.items(), key=lambda item: item[1]["p95_ms"])
    projected, outside = merged(results, "post_projected"), merged(results, "post_outside_catalogue")
    share = 1 - outside["server_ms_per_statement"] / projected["server_ms_per_statement"] \
        if projected["server_ms_per_statement"] else 0.0
    pg_share = 1 - outside["postgres_ms_per_statement"] / projected["postgres_ms_per_statement"] \
        if projected["postgres_ms_per_statement"] else 0.0
    return {"worst_report": worst[0], "worst_report_p95_ms": worst[1]["p95_ms"],
            "worst_learners_list": worst_list[0], "worst_learners_list_p95_ms": worst_list[1]["p95_ms"],
            "learner_progress_p95_ms": max(results["regional_learner_progress"]["p95_ms"],
                                           results["trust_learner_progress"]["p95_ms"]),
            "learner_progress_1_client_p95_ms": max(results["regional_learner_progress_1_client"]["p95_ms"],
                                                    results["trust_learner_progress_1_client"]["p95_ms"]),
            "projection_statements_per_s": projected["statements_per_s"],
            "projection_alone_statements_per_s": projected["alone_statements_per_s"],
            "outside_catalogue_statements_per_s": outside["statements_per_s"],
            "outside_catalogue_alone_statements_per_s": outside["alone_statements_per_s"],
            "projection_share_of_server_cpu": round(share, 3), "projection_share_of_postgres_cpu": round(pg_share, 3),
            "post_projected": projected, "post_outside_catalogue": outside}


# --- the run ---------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=60_000)
    # The count per learner is estimated from a sample of journeys, which fell 1% short of 10M.
    parser.add_argument("--statements", type=int, default=10_200_000, help="about this many statements in all")
    parser.add_argument("--quick", action="store_true", help="2,000 learners, 200,000 statements, fewer requests")
    parser.add_argument("--build-only", action="store_true", help="build the database and stop (with --keep-db)")
    parser.add_argument("--measure-only", action="store_true", help="measure the database a --build-only made")
    parser.add_argument("--db", default="fse_fad_progress_bench")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--pg", default=os.environ.get("FSE_FAD_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL without database name (default: %(default)s)")
    parser.add_argument("--build-minutes", type=float, default=0,
                        help="stop giving learners journeys after this long (0: no limit); the rest stay not started")
    parser.add_argument("--load-procs", type=int, default=2, help="processes that build the statements")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--report-requests", type=int, default=100, help="requests per report and office")
    parser.add_argument("--progress-requests", type=int, default=1000, help="learner progress GETs per office")
    parser.add_argument("--ingest-batches", type=int, default=200, help="batches of 100 per POST kind")
    parser.add_argument("--workers", type=int, default=0, help="FSE_FAD_WORKERS for the server (0: its default)")
    parser.add_argument("--log-level", default="warning", help="FSE_FAD_LOG_LEVEL for the server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--phase-time-limit", type=float, default=600.0, help="seconds, per HTTP phase")
    args = parser.parse_args()
    if args.quick:
        args.learners, args.statements = min(args.learners, 2000), min(args.statements, 200_000)
        args.report_requests, args.progress_requests = min(args.report_requests, 20), min(args.progress_requests, 100)
        args.ingest_batches = min(args.ingest_batches, 20)

    def on_term(_signum, _frame):
        raise SystemExit(143)
    signal.signal(signal.SIGTERM, on_term)

    db_url = f"{args.pg}/{args.db}"
    workdir = Path(tempfile.mkdtemp(prefix="progress-load-"))
    info = {"cpu_count": os.cpu_count(), "db": args.db, "clients": args.clients,
            "load_average_at_start": os.getloadavg()[0]}
    results: dict = {}
    rows: list = []
    try:
        if not args.measure_only:
            print(f"building {args.db}: {args.learners} learners, about {args.statements} statements", flush=True)
            create_database(args.pg, args.db)
            deadline = time.time() + 60 * args.build_minutes if args.build_minutes else math.inf
            results["build"] = build(db_url, workdir, args.learners, args.statements, args.load_procs, args.seed,
                                     deadline)
        results["dataset"] = dataset(db_url)
        print(f"  dataset: {results['dataset']}", flush=True)
        if not args.build_only:
            measured, rows = measure(db_url, workdir, args)
            results.update(measured)
            results["summary"] = summary(results)
    finally:
        clean_up(workdir, args.pg, None if args.keep_db else args.db)

    data = results["dataset"]
    print()
    print(f"fse-fad progress benchmark ({os.cpu_count()} CPUs shared by server, PostgreSQL and load generator)")
    print(f"dataset: {data['learners']} learners, {data['statements']} statements, {data['filter_keys']} filter keys, "
          f"{data['facts']} facts, {data['learner_progress']} progress rows, {data['module_progress']} module rows, "
          f"{data['database_size']}")
    if "build" in results:
        load = results["build"]["statements_load"]
        print(f"build: {load['mode']}; {load['pages_per_module']} pages per module: {load['statements_per_s']:.0f} "
              f"statements/s, {load['learners_with_journeys']} learners with journeys "
              f"({load['learners_skipped_at_deadline']} left without at the deadline), "
              f"refresh {load['refresh_ms_per_learner']} ms per learner")
    targets = {}
    if rows:
        print(fmt_table(rows))
        s = results["summary"]
        print(f"projection: {s['projection_statements_per_s']:.0f} statements/s with it, "
              f"{s['outside_catalogue_statements_per_s']:.0f} without (alone on the CPUs: about "
              f"{s['projection_alone_statements_per_s']:.0f} and {s['outside_catalogue_alone_statements_per_s']:.0f}); "
              f"its share of the server's CPU {100 * s['projection_share_of_server_cpu']:.0f}%, "
              f"of PostgreSQL's {100 * s['projection_share_of_postgres_cpu']:.0f}%")
        print("targets:")
        for name, (figure, op, bound, label) in TARGETS.items():
            value = s[figure]
            met = value >= bound if op == ">=" else value < bound
            targets[name] = {"value": value, "target": f"{op} {bound}", "met": met}
            alone = s["projection_alone_statements_per_s"] if name == "projection" else None
            if alone is not None:
                targets[name]["alone_estimate"] = alone
            print(f"  {label:<36} {value!s:>9}  target {op} {bound:<5} {'met' if met else 'MISSED'}"
                  + (f"  (worst: {s['worst_report']}; the learners list, no grouped report: "
                     f"{s['worst_learners_list_p95_ms']} at worst, {s['worst_learners_list']})"
                     if name == "reports_p95" else "")
                  + (f"  (one client alone: {s['learner_progress_1_client_p95_ms']})" if name == "progress_p95" else "")
                  + (f"  (alone on the CPUs: about {alone:.0f})" if alone is not None else ""))
    print(json.dumps({"benchmark": "progress_load", "info": info, "results": results, "targets": targets},
                     separators=(",", ":"), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
