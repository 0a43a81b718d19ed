"""Crash under load: clients post statement batches to ``fse-fad serve``, the server's whole process
group is killed with SIGKILL at a random moment, the server is restarted, and the database is
counted. Every statement whose POST was answered 200 must be there, and no batch may be half there.

    python bench/crash_under_load.py                       # 3 rounds on SQLite and on PostgreSQL
    python bench/crash_under_load.py --rounds 10 --databases postgresql

Per round it prints: statements acknowledged, acknowledged and found, acknowledged but missing (must
be 0), batches half stored (must be 0), unanswered batches that were stored whole (the ones in
flight when the server died: stored or not, never in part), answers by status, connection errors
(requests cut by the kill), p50/p99 of the POSTs before the kill, and the restart time. Loopback
only; bounded by --rounds, --clients and --max-seconds. Exit status 1 if anything acknowledged is
missing, a batch is half stored or a POST got a 5xx.
"""
from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
import uuid

from servers import DEFAULT_PG, scratch_database, table  # first: puts the repository on sys.path

from sqlalchemy import select

from fse_fad.db import make_engine
from lrs.models import Statement
from tests.load import Connection, Outcome, run_clients
from tests.server import ServerProcess
from tests.xapi_data import statement


def _stored_ids(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(Statement.statement_id)).scalars())
    finally:
        engine.dispose()


def crash_round(url: str, workdir, credentials, args, rng: random.Random) -> tuple[dict, tuple[str, str]]:
    server = ServerProcess(url, workdir, workers=args.workers)
    credentials = credentials or server.create_client("crash-bench", "--scope", "all")
    outcome = Outcome()
    sent: list[list[str]] = []
    cut = [0]

    def writer(index: int, stop: threading.Event):
        connection = Connection(server.url, *credentials)
        while not stop.is_set():
            registration = str(uuid.uuid4())
            batch = [statement(user_id=index * 100_000 + n, registration=registration, id=str(uuid.uuid4()))
                     for n in range(args.batch)]
            ids = [s["id"] for s in batch]
            sent.append(ids)
            started = time.perf_counter()
            try:
                status, body = connection.request("POST", "/xapi/statements", batch)
            except (OSError, http.client.HTTPException):
                cut[0] += 1
                return
            outcome.record(status, time.perf_counter() - started, ids if status == 200 else None)
            if status == 200:
                assert json.loads(body) == ids

    stop = threading.Event()
    clients = threading.Thread(target=run_clients, args=(args.clients, writer), kwargs={"stop": stop})
    kill_after = rng.uniform(args.min_seconds, args.max_seconds)
    clients.start()
    time.sleep(kill_after)
    server.kill()
    stop.set()
    clients.join(timeout=120)

    started = time.perf_counter()
    restarted = ServerProcess(url, workdir, workers=1)
    restart_seconds = time.perf_counter() - started
    try:
        stored = _stored_ids(url)
    finally:
        restarted.stop()
    acknowledged = {i for ids in outcome.acknowledged for i in ids}
    acknowledged_batches = {ids[0] for ids in outcome.acknowledged}
    present = [sum(i in stored for i in ids) for ids in sent]
    result = {
        "kill_after_s": round(kill_after, 2),
        "acknowledged": len(acknowledged),
        "found": len(acknowledged & stored),
        "missing": len(acknowledged - stored),
        "half_batches": sum(0 < p < args.batch for p in present),
        "in_flight_stored": sum(p == args.batch and ids[0] not in acknowledged_batches
                                for p, ids in zip(present, sent)),
        "statuses": {str(k): v for k, v in sorted(outcome.statuses.items())},
        "connection_errors": cut[0],
        "p50_ms": round(outcome.percentile(0.50) * 1000, 1),
        "p99_ms": round(outcome.p99() * 1000, 1),
        "restart_s": round(restart_seconds, 2),
    }
    return result, credentials


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=30, help="statements per POST (Moodle's default: 30)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--min-seconds", type=float, default=2.0, help="earliest kill after the load starts")
    parser.add_argument("--max-seconds", type=float, default=6.0, help="latest kill after the load starts")
    parser.add_argument("--seed", type=int, default=20251231)
    parser.add_argument("--pg", default=DEFAULT_PG, help="administrative URL of a PostgreSQL server")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    results: dict[str, list[dict]] = {}
    for kind in args.databases.split(","):
        with scratch_database(kind, args.pg) as (url, workdir):
            credentials = None
            for _ in range(args.rounds):
                result, credentials = crash_round(url, workdir, credentials, args, rng)
                results.setdefault(kind, []).append(result)

    headers = ["database", "round", "kill s", "acknowledged", "found", "missing", "half batches",
               "in flight, stored", "statuses", "cut", "p50 ms", "p99 ms", "restart s"]
    rows = [[kind, n + 1, r["kill_after_s"], r["acknowledged"], r["found"], r["missing"], r["half_batches"],
             r["in_flight_stored"], " ".join(f"{k}:{v}" for k, v in r["statuses"].items()), r["connection_errors"],
             r["p50_ms"], r["p99_ms"], r["restart_s"]] for kind, rounds in results.items() for n, r in enumerate(rounds)]
    print(table(headers, rows))
    failed = [r for rounds in results.values() for r in rounds
              if r["missing"] or r["half_batches"] or any(int(s) >= 500 for s in r["statuses"])]
    summary = {"benchmark": "crash_under_load", "clients": args.clients, "batch": args.batch,
               "workers": args.workers, "rounds": results, "ok": not failed}
    print(json.dumps(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
