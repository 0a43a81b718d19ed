"""Concurrency: many clients post overlapping batches to ``fse-fad serve`` at once. The batches share
actors, activities and registrations, and carry the same statement ids (with the same content); now
and then a client sends a different statement under a taken id, which must be a 409.

    python bench/concurrency.py                         # SQLite and PostgreSQL, 16 clients
    python bench/concurrency.py --clients 32 --rounds 40 --databases postgresql

Prints requests, statements/s, answers by status (5xx must be 0; 409 exactly for the conflicting
statements sent), duplicates found in the database (must be 0), statements stored against those
expected, p50/p99 of the batch POSTs. Loopback only; bounded by --clients and --rounds. Exit status 1
on any 5xx, duplicate, unexpected 409 or missing statement.
"""
from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid

from servers import DEFAULT_PG, scratch_database, table  # first: puts the repository on sys.path

from sqlalchemy import func, select

from fse_fad.db import make_engine
from lrs.models import Statement
from tests.load import Connection, Outcome, run_clients
from tests.server import ServerProcess
from tests.xapi_data import MOODLE, statement

ACTORS = 8
ACTIVITIES = [f"{MOODLE}/mod/scorm/view.php?id={n}" for n in range(41, 47)]


def _contested(count: int, registrations: list[str]) -> dict[str, dict]:
    """Statements that every client sends, identical in content, under the same ids."""
    out = {}
    for n in range(count):
        statement_id = str(uuid.uuid4())
        out[statement_id] = statement(user_id=n % ACTORS, activity=ACTIVITIES[n % len(ACTIVITIES)],
                                      registration=registrations[n % len(registrations)], id=statement_id)
    return out


def concurrency_run(url: str, workdir, args) -> dict:
    server = ServerProcess(url, workdir, workers=args.workers)
    try:
        credentials = server.create_client("concurrency-bench", "--scope", "all")
        registrations = [str(uuid.uuid4()) for _ in range(3)]
        contested = _contested(args.contested, registrations)
        contested_ids = list(contested)
        batches = Outcome()
        conflicts = Outcome()
        own_acknowledged = [0]
        contested_sent: set[str] = set()
        lock = threading.Lock()

        def writer(index: int, stop: threading.Event):
            rng = random.Random(args.seed * 1000 + index)
            connection = Connection(server.url, *credentials)
            for round_number in range(args.rounds):
                picks = rng.sample(contested_ids, args.shared_per_batch)
                own = [statement(user_id=rng.randrange(ACTORS), activity=rng.choice(ACTIVITIES),
                                 registration=rng.choice(registrations))
                       for _ in range(args.batch - args.shared_per_batch)]
                batch = [contested[i] for i in picks] + own
                rng.shuffle(batch)
                started = time.perf_counter()
                status, _body = connection.request("POST", "/xapi/statements", batch)
                batches.record(status, time.perf_counter() - started)
                if status == 200:
                    with lock:
                        own_acknowledged[0] += len(own)
                        contested_sent.update(picks)
                if status == 200 and round_number % 10 == index % 10:
                    # A different statement under an id another client may be storing right now.
                    taken = rng.choice(picks)
                    different = statement(user_id=ACTORS + 1, id=taken)
                    started = time.perf_counter()
                    status, _body = connection.request("POST", "/xapi/statements", [different])
                    conflicts.record(status, time.perf_counter() - started)

        started = time.perf_counter()
        run_clients(args.clients, writer)
        elapsed = time.perf_counter() - started
    finally:
        server.stop()
    # The server's account of any 5xx, before its working directory goes.
    server_errors = [line for line in (workdir / f"server-{server.port}.log").read_text().splitlines()
                     if '"level": "error"' in line]

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            duplicates = conn.execute(select(func.count()).select_from(
                select(Statement.statement_id).group_by(Statement.statement_id).having(func.count() > 1).subquery()
            )).scalar()
            stored = conn.execute(select(func.count()).select_from(Statement)).scalar()
            contested_stored = conn.execute(select(func.count()).where(
                Statement.statement_id.in_(contested_ids))).scalar()
    finally:
        engine.dispose()

    acknowledged_statements = batches.statuses.get(200, 0) * args.batch
    statuses = {**{str(k): v for k, v in batches.statuses.items()}}
    for status, count in conflicts.statuses.items():
        statuses[f"conflict {status}"] = count
    return {
        "requests": sum(batches.statuses.values()) + sum(conflicts.statuses.values()),
        "seconds": round(elapsed, 2),
        "statements_per_s": round(acknowledged_statements / elapsed),
        "statuses": dict(sorted(statuses.items())),
        "errors_5xx": sum(v for k, v in {**batches.statuses, **conflicts.statuses}.items() if k >= 500),
        "conflicts_sent": sum(conflicts.statuses.values()),
        "conflicts_409": conflicts.statuses.get(409, 0),
        "unexpected_409": batches.statuses.get(409, 0),
        "duplicates": duplicates,
        "stored": stored,
        "expected": own_acknowledged[0] + len(contested_sent),
        "contested_stored": contested_stored,
        "p50_ms": round(batches.percentile(0.50) * 1000, 1),
        "p99_ms": round(batches.p99() * 1000, 1),
        "server_errors": server_errors[:5],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=20, help="batches per client")
    parser.add_argument("--batch", type=int, default=30, help="statements per batch")
    parser.add_argument("--shared-per-batch", type=int, default=10, help="contested ids in each batch")
    parser.add_argument("--contested", type=int, default=60, help="ids that every client may send")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg", default=DEFAULT_PG, help="administrative URL of a PostgreSQL server")
    args = parser.parse_args()

    results = {}
    for kind in args.databases.split(","):
        with scratch_database(kind, args.pg) as (url, workdir):
            results[kind] = concurrency_run(url, workdir, args)

    headers = ["database", "requests", "s", "statements/s", "statuses", "5xx", "409 of conflicts sent",
               "duplicates", "stored / expected", "p50 ms", "p99 ms"]
    rows = [[kind, r["requests"], r["seconds"], r["statements_per_s"],
             " ".join(f"{k}:{v}" for k, v in r["statuses"].items()), r["errors_5xx"],
             f"{r['conflicts_409']} of {r['conflicts_sent']}", r["duplicates"], f"{r['stored']} / {r['expected']}",
             r["p50_ms"], r["p99_ms"]] for kind, r in results.items()]
    print(table(headers, rows))
    for kind, r in results.items():
        for line in r["server_errors"]:
            print(f"{kind} server error: {line[:4000]}")
    failed = [kind for kind, r in results.items()
              if r["errors_5xx"] or r["duplicates"] or r["unexpected_409"] or r["stored"] != r["expected"]
              or r["conflicts_409"] != r["conflicts_sent"]]
    print(json.dumps({"benchmark": "concurrency", "clients": args.clients, "rounds": args.rounds, "batch": args.batch,
                      "workers": args.workers, "results": results, "ok": not failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
