"""Load benchmark of the xAPI LRS on PostgreSQL: ingest, single POSTs, filtered GETs over 1M statements, RSS.

Self-contained: creates a fresh PostgreSQL database, starts ``fse-fad serve`` on a loopback port,
creates a client, drives the HTTP API from threads with keep-alive ``http.client`` connections,
prints a table and a final JSON line, then stops the server and drops the database.

    python bench/lrs_load.py --quick          # smoke run, under a minute
    python bench/lrs_load.py                  # full run: 1,000,000 statements

See bench/README.md for what each phase measures.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lrs_traffic  # noqa: E402

XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}
TARGETS = {
    # name: (result section, figure, comparison, bound, description)
    "ingest_batch100": ("post_batch100", "statements_per_s", ">=", 4000, "statements/s, batches of 100"),
    "single_p99": ("post_single", "p99_ms", "<", 50, "single POST p99 ms at 16 clients"),
    "get_target_p95": ("get_agent_verb_activity", "p95_ms", "<", 30, "GET agent+verb+activity p95 ms"),
    "worker_rss": ("rss", "max_worker_peak_mb", "<", 200, "peak RSS per worker MB"),
}


# --- PostgreSQL --------------------------------------------------------------------------------

def _libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def admin(base_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_libpq_url(f"{base_url}/postgres"), autocommit=True) as conn:
        conn.execute(sql)


def create_database(base_url: str, name: str) -> None:
    admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(base_url, f'CREATE DATABASE "{name}"')


def db_execute(url: str, *sql: str) -> list:
    import psycopg

    out = []
    with psycopg.connect(_libpq_url(url), autocommit=True) as conn:
        for statement in sql:
            cur = conn.execute(statement)
            out.append(cur.fetchall() if cur.description else None)
    return out


# --- the server --------------------------------------------------------------------------------

class ServerProcess:
    """``fse-fad serve`` in its own process group, with its environment and log in a temp dir."""

    def __init__(self, db_url: str, port: int, workdir: Path, workers: int | None,
                 log_level: str | None = None) -> None:
        self.port = port
        self.public_url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.env = dict(os.environ)
        self.env.update({
            "FSE_FAD_DATABASE_URL": db_url,
            "FSE_FAD_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(36)).decode(),
            "FSE_FAD_PUBLIC_URL": self.public_url,
        })
        if workers:
            self.env["FSE_FAD_WORKERS"] = str(workers)
        if log_level:
            self.env["FSE_FAD_LOG_LEVEL"] = log_level
        self.log_path = workdir / "server.log"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def cli(*args: str) -> list[str]:
        # The ``fse-fad`` console script, run by this interpreter so that the same environment serves.
        return [sys.executable, "-m", "fse_fad.cli", *args]

    def start(self, timeout: float = 90.0) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.cli("serve", "--host", "127.0.0.1", "--port", str(self.port)),
                                         env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    time.sleep(1.0)  # let the other workers finish booting
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /health within {timeout:.0f}s:\n{self.log_tail()}")

    def create_client(self) -> tuple[str, str]:
        out = subprocess.run(self.cli("clients", "create", "bench-lrs-load", "--scope", "all", "--json"),
                             env=self.env, cwd=self.workdir, capture_output=True, text=True, check=True)
        creds = json.loads(out.stdout.strip().splitlines()[-1])
        return creds["key"], creds["secret"]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # gunicorn: graceful shutdown of master and workers
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


def stop_server(server: ServerProcess, monitor: "RssMonitor | None") -> None:
    """At the end of a run (in a ``finally``): stop sampling and the server; after an error, show
    the end of the server's log."""
    if monitor is not None:
        monitor.stop()
    server.stop()
    if sys.exc_info()[0] is not None:
        print(f"server log (tail):\n{server.log_tail()}", file=sys.stderr)


def clean_up(workdir: Path, base_url: str, database: str | None) -> None:
    """Remove the run's directory and drop ``database`` (None keeps it)."""
    shutil.rmtree(workdir, ignore_errors=True)
    if database:
        try:
            admin(base_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        except Exception as exc:  # reported, not fatal
            print(f"could not drop database {database}: {exc}", file=sys.stderr)


class RssMonitor(threading.Thread):
    """Samples VmRSS of the server's process tree; keeps each process's peak (VmHWM as well)."""

    def __init__(self, root_pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.interval = interval
        self.peak_kb: dict[int, int] = {}
        self.pss_kb: dict[int, int] = {}
        self._stop_event = threading.Event()

    def tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        out, todo = [], [self.root_pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo.extend(children.get(pid, ()))
        return out

    @staticmethod
    def _status(pid: int) -> dict[str, int]:
        values = {}
        try:
            with open(f"/proc/{pid}/status") as fh:
                for line in fh:
                    if line.startswith(("VmRSS:", "VmHWM:")):
                        name, value = line.split(":", 1)
                        values[name] = int(value.split()[0])
        except OSError:
            pass
        return values

    def sample(self) -> None:
        for pid in self.tree():
            status = self._status(pid)
            if "VmRSS" in status:
                self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), status["VmRSS"], status.get("VmHWM", 0))

    def final_sample(self) -> None:
        self.sample()
        for pid in self.tree():
            try:
                with open(f"/proc/{pid}/smaps_rollup") as fh:
                    for line in fh:
                        if line.startswith("Pss:"):
                            self.pss_kb[pid] = int(line.split()[1])
            except OSError:
                pass

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()

    def report(self) -> dict:
        workers = {pid: kb for pid, kb in self.peak_kb.items() if pid != self.root_pid}
        mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
        return {
            "master_peak_mb": mb(self.peak_kb.get(self.root_pid, 0)),
            "worker_peak_mb": {str(pid): mb(kb) for pid, kb in sorted(workers.items())},
            "max_worker_peak_mb": mb(max(workers.values(), default=0)),
            "total_peak_mb": mb(sum(self.peak_kb.values())),
            "final_pss_mb": {str(pid): mb(kb) for pid, kb in sorted(self.pss_kb.items())},
            "worker_processes_seen": len(workers),
        }


class CpuMeter:
    """CPU time of the server tree, of PostgreSQL (this database's backends and the shared background
    processes), of this load generator (this process and the client processes it reaped), and of
    everything else on the machine, over a phase."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, monitor: RssMonitor, db_url: str) -> None:
        self.monitor = monitor
        self.db_url = db_url

    @staticmethod
    def _jiffies(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                stat = fh.read()
        except OSError:
            return -1
        fields = stat[stat.rindex(")") + 2:].split()
        return int(fields[11]) + int(fields[12])

    def _pg_pids(self) -> list[int]:
        rows = db_execute(self.db_url, "SELECT pid FROM pg_stat_activity "
                                       "WHERE datname = current_database() OR datname IS NULL")[0]
        return [pid for (pid,) in rows]

    def snapshot(self) -> dict:
        with open("/proc/stat") as fh:
            cpu = [int(v) for v in fh.readline().split()[1:]]
        times = os.times()
        return {"busy": sum(cpu) - cpu[3] - cpu[4], "all": sum(cpu),
                "server": {pid: self._jiffies(pid) for pid in self.monitor.tree()},
                "pg": {pid: self._jiffies(pid) for pid in self._pg_pids()},
                # The generator's client processes are reaped at the end of each phase: children times.
                "self": times.user + times.system + times.children_user + times.children_system}

    def between(self, start: dict, end: dict) -> dict:
        def tree_seconds(name: str) -> float:
            total = 0
            for pid, jiffies in end[name].items():
                if jiffies >= 0:
                    total += jiffies - max(0, start[name].get(pid, 0))
            return total / self.TICK

        server, pg = tree_seconds("server"), tree_seconds("pg")
        generator = end["self"] - start["self"]
        busy = (end["busy"] - start["busy"]) / self.TICK
        capacity = (end["all"] - start["all"]) / self.TICK
        return {"server_s": round(server, 2), "postgres_s": round(pg, 2), "generator_s": round(generator, 2),
                "other_s": round(max(0.0, busy - server - pg - generator), 2),
                "idle_s": round(max(0.0, capacity - busy), 2)}


# --- the load generator ------------------------------------------------------------------------

@dataclass
class PhaseResult:
    name: str
    concurrency: int
    requests: int = 0
    errors: int = 0
    statements: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    empty: int = 0
    note: str = ""
    cpu: dict | None = None

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))
        return ordered[int(index)] * 1000

    def as_dict(self) -> dict:
        out = {"concurrency": self.concurrency, "requests": self.requests, "errors": self.errors,
               "seconds": round(self.seconds, 2),
               "requests_per_s": round(self.requests / self.seconds, 1) if self.seconds else 0.0,
               "p50_ms": round(self.percentile(50), 1), "p95_ms": round(self.percentile(95), 1),
               "p99_ms": round(self.percentile(99), 1),
               "max_ms": round(max(self.latencies, default=0) * 1000, 1)}
        if self.statements:
            out["statements"] = self.statements
            out["statements_per_s"] = round(self.statements / self.seconds, 1) if self.seconds else 0.0
        if self.empty:
            out["empty_results"] = self.empty
        if self.error_samples:
            out["error_samples"] = self.error_samples[:3]
        if self.note:
            out["note"] = self.note
        if self.cpu is not None:
            out["cpu"] = dict(self.cpu)
            if self.requests:
                out["cpu"]["server_ms_per_request"] = round(1000 * self.cpu["server_s"] / self.requests, 2)
                out["cpu"]["postgres_ms_per_request"] = round(1000 * self.cpu["postgres_s"] / self.requests, 2)
                # What the CPUs could serve were the benchmark alone on the machine: requests per
                # CPU-second of server, PostgreSQL and generator, times the CPUs. An upper bound.
                used = self.cpu["server_s"] + self.cpu["postgres_s"] + self.cpu["generator_s"]
                if used > 0:
                    out["cpu"]["alone_requests_per_s"] = round(self.requests * (os.cpu_count() or 1) / used, 1)
                    if self.statements:
                        out["cpu"]["alone_statements_per_s"] = round(
                            self.statements * (os.cpu_count() or 1) / used, 1)
        return out


class Client:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, port: int, auth: str) -> None:
        self.port = port
        self.headers = {**XAPI_HEADERS, "Authorization": auth}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, float]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
                if response.will_close:
                    self.close()
                return response.status, data, elapsed
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive connection the server closed: reconnect, once.
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_phase(name: str, port: int, auth: str, tasks: list, concurrency: int, time_limit: float,
              rate: float | None = None, processes: bool = True) -> PhaseResult:
    """Run ``tasks`` (callables ``task(client, result)``) from ``concurrency`` clients, each with
    its own connection, taking the next task as it finishes one. Without ``rate``, no think time
    (a closed loop). With ``rate``, task i is due at i / rate seconds (an open loop): its latency
    counts from when it was due, so a server that falls behind is charged for the wait.

    Each client is a process of its own (forked, so ``tasks`` need not be picklable), as the
    clients of an LRS are separate programs: threads of one process would share its interpreter
    lock, and a reply would wait for another client's bookkeeping before its clock stops, on a
    machine whose CPUs the server keeps busy. ``processes=False`` runs them as threads of this
    process."""
    if not processes:
        return _run_phase_threads(name, port, auth, tasks, concurrency, time_limit, rate)
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("q", 0)
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    clock = ctx.Array("d", 2)  # perf_counter at the start, monotonic deadline
    results = ctx.Queue()

    def take() -> int:
        with counter.get_lock():
            index = counter.value
            counter.value = index + 1
        return index

    def child() -> None:
        ready.release()
        go.wait()
        try:
            local = _client_loop(name, port, auth, tasks, concurrency, take, rate, clock[0], clock[1])
        except BaseException as exc:  # reported to the parent, which counts it
            local = PhaseResult(name, concurrency, errors=1, error_samples=[f"{type(exc).__name__}: {exc}"])
        results.put(local)

    procs = [ctx.Process(target=child, daemon=True) for _ in range(concurrency)]
    for proc in procs:
        proc.start()
    for _ in procs:
        if not ready.acquire(timeout=60):
            raise RuntimeError(f"{name}: the client processes did not start")
    result = PhaseResult(name, concurrency)
    clock[0], clock[1] = time.perf_counter(), time.monotonic() + time_limit
    go.set()
    for _ in procs:
        _merge(result, _next_result(results, procs, name))
    result.seconds = time.perf_counter() - clock[0]
    for proc in procs:
        proc.join()  # reaped: their CPU time counts in this process's children times (CpuMeter)
    if time.monotonic() >= clock[1] and counter.value < len(tasks):
        result.note = f"stopped at the {time_limit:.0f}s time limit"
    return result


def _next_result(results, procs: list, name: str) -> PhaseResult:
    """The next client's result; an error if every client process is gone without one."""
    import queue

    while True:
        try:
            return results.get(timeout=1.0)
        except queue.Empty:
            if not any(proc.is_alive() for proc in procs):
                try:
                    return results.get(timeout=5.0)
                except queue.Empty:
                    raise RuntimeError(f"{name}: a client process ended without its result") from None


def _client_loop(name: str, port: int, auth: str, tasks: list, concurrency: int, take, rate: float | None,
                 started: float, deadline: float) -> PhaseResult:
    """One client of a phase: runs the tasks whose index ``take()`` gives until none is left."""
    client = Client(port, auth)
    local = PhaseResult(name, concurrency)
    try:
        while time.monotonic() < deadline:
            index = take()
            if index >= len(tasks):
                break
            late = 0.0
            if rate:
                due = started + index / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                late = max(0.0, time.perf_counter() - due)
            done = len(local.latencies)
            try:
                tasks[index](client, local)
                if late and len(local.latencies) > done:
                    local.latencies[-1] += late
            except Exception as exc:  # counted, the phase goes on
                local.errors += 1
                local.error_samples.append(f"{type(exc).__name__}: {exc}")
                client.close()
    finally:
        client.close()
    return local


def _merge(result: PhaseResult, local: PhaseResult) -> None:
    result.requests += local.requests
    result.errors += local.errors
    result.statements += local.statements
    result.latencies += local.latencies
    result.error_samples += local.error_samples
    result.empty += local.empty


def _run_phase_threads(name: str, port: int, auth: str, tasks: list, concurrency: int, time_limit: float,
                       rate: float | None = None) -> PhaseResult:
    """``run_phase`` with the clients as threads of this process."""
    result = PhaseResult(name, concurrency)
    lock = threading.Lock()
    counter = itertools.count()
    deadline = time.monotonic() + time_limit
    started = time.perf_counter()

    def worker():
        local = _client_loop(name, port, auth, tasks, concurrency, lambda: next(counter), rate, started, deadline)
        with lock:
            _merge(result, local)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    if time.monotonic() >= deadline and next(counter) < len(tasks):
        result.note = f"stopped at the {time_limit:.0f}s time limit"
    return result


def post_task(body: bytes, count: int):
    def task(client: Client, result: PhaseResult) -> None:
        status, data, elapsed = client.request("POST", "/xapi/statements", body)
        result.requests += 1
        result.latencies.append(elapsed)
        if status != 200:
            result.errors += 1
            result.error_samples.append(f"{status}: {data[:300]!r}")
        else:
            result.statements += count
    return task


def get_task(path: str):
    def task(client: Client, result: PhaseResult) -> None:
        status, data, elapsed = client.request("GET", path)
        result.requests += 1
        result.latencies.append(elapsed)
        if status != 200:
            result.errors += 1
            result.error_samples.append(f"{status}: {data[:300]!r}")
        elif data.startswith(b'{"statements":[]'):
            result.empty += 1
    return task


def paging_task(first_path: str, pages: int):
    """Follow ``more`` links; only the follow-up pages are timed (the first is a plain filter GET)."""
    def task(client: Client, result: PhaseResult) -> None:
        status, data, _elapsed = client.request("GET", first_path)
        for _ in range(pages):
            if status != 200:
                result.errors += 1
                result.error_samples.append(f"{status}: {data[:300]!r}")
                return
            more = json.loads(data).get("more")
            if not more:
                result.empty += 1
                return
            status, data, elapsed = client.request("GET", more)
            result.requests += 1
            result.latencies.append(elapsed)
    return task


def statements_path(**params) -> str:
    return "/xapi/statements?" + urlencode({k: json.dumps(v, separators=(",", ":")) if isinstance(v, dict) else v
                                            for k, v in params.items()}, quote_via=quote)


# --- bulk load ----------------------------------------------------------------------------------

def _direct_load_worker(args: tuple) -> tuple[int, list[dict], float]:
    """Store ``count`` statements through ``lrs.statements.store_statements`` in batches, in the
    transaction wrapper the POST endpoint uses (minus HTTP, JSON parsing and validation)."""
    db_url, authority, count, seed, batch_size, stored_from_us, stored_to_us, sample_every, offset = args
    from fse_fad.db import make_engine, make_session_factory, run_in_transaction
    from lrs.statements import Writer, store_statements

    engine = make_engine(db_url, pool_size=1, max_overflow=0)
    factory = make_session_factory(engine)
    writer = Writer(authority=authority, may_define=True)
    generator = lrs_traffic.TrafficGenerator(seed=seed)
    samples: list[dict] = []
    done = 0
    started = time.perf_counter()
    for batch in lrs_traffic.batches(generator, batch_size):
        if done >= count:
            break
        batch = batch[: count - done]
        # Stored times spread over the span and interleaved between processes: the table grows
        # in stored order, as it does under live traffic.
        stored_us = stored_from_us + int((stored_to_us - stored_from_us) * done / count) + offset
        run_in_transaction(factory, lambda s, b=batch, t=stored_us: store_statements(s, b, writer, t),
                           retry_on_conflict=True)
        samples += [lrs_traffic.TrafficGenerator.describe(st) for st in batch[::sample_every]]
        done += len(batch)
    engine.dispose()
    return done, samples, time.perf_counter() - started


def direct_load(db_url: str, authority: dict, total: int, procs: int, seed: int, batch_size: int,
                samples_wanted: int) -> tuple[float, list[dict]]:
    import multiprocessing

    now_us = int(time.time() * 1_000_000)
    span_us = 120 * 86400 * 1_000_000
    hour_us = 3600 * 1_000_000
    per = [total // procs + (1 if i < total % procs else 0) for i in range(procs)]
    sample_every = max(1, total // max(1, samples_wanted))
    jobs = [(db_url, authority, n, seed + 1000 + i, batch_size, now_us - span_us - hour_us, now_us - hour_us,
             sample_every, i) for i, n in enumerate(per) if n]
    if not jobs:
        return 0.0, []
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        results = pool.map(_direct_load_worker, jobs)
    elapsed = time.perf_counter() - started
    return elapsed, [s for _done, samples, _t in results for s in samples]


def http_load(port: int, auth: str, total: int, concurrency: int, seed: int, samples_wanted: int,
              time_limit: float) -> tuple[PhaseResult, list[dict]]:
    """POST batches of 100 at full concurrency; a feeder thread serializes the bodies ahead."""
    import queue

    generator = lrs_traffic.TrafficGenerator(seed=seed + 1000)
    sample_every = max(1, total // max(1, samples_wanted))
    samples: list[dict] = []
    bodies: queue.Queue = queue.Queue(maxsize=concurrency * 8)
    batches = lrs_traffic.batches(generator, 100)
    n_batches = (total + 99) // 100

    def feeder():
        for i in range(n_batches):
            batch = next(batches)
            if i == n_batches - 1 and total % 100:
                batch = batch[: total % 100]
            samples.extend(lrs_traffic.TrafficGenerator.describe(st) for st in batch[::sample_every])
            bodies.put((json.dumps(batch, separators=(",", ":")).encode(), len(batch)))

    threading.Thread(target=feeder, daemon=True).start()

    def task(client, result):
        body, count = bodies.get()
        post_task(body, count)(client, result)

    # Threads: the tasks take their bodies from the feeder thread of this process.
    result = run_phase("bulk_load_http", port, auth, [task] * n_batches, concurrency, time_limit, processes=False)
    return result, samples


# --- output -------------------------------------------------------------------------------------

def fmt_table(rows: list[tuple[str, dict]]) -> str:
    head = (f"{'phase':<26}{'conc':>5}{'reqs':>7}{'err':>5}{'req/s':>8}{'stmt/s':>8}"
            f"{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}")
    lines = [head, "-" * len(head)]
    for name, r in rows:
        lines.append(f"{name:<26}{r['concurrency']:>5}{r['requests']:>7}{r['errors']:>5}{r['requests_per_s']:>8.1f}"
                     f"{r.get('statements_per_s', 0):>8.0f}{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}"
                     f"{r['p99_ms']:>8.1f}{r['max_ms']:>8.1f}")
    lines += ["(latencies in ms)", ""]
    head = (f"{'CPU seconds in the phase':<26}{'server':>8}{'postgres':>9}{'loadgen':>8}{'other':>7}{'idle':>7}"
            f"{'server ms/req':>15}{'pg ms/req':>11}{'alone req/s':>13}")
    lines += [head, "-" * len(head)]
    for name, r in rows:
        c = r.get("cpu")
        if c:
            lines.append(f"{name:<26}{c['server_s']:>8.1f}{c['postgres_s']:>9.1f}{c['generator_s']:>8.1f}"
                         f"{c['other_s']:>7.1f}{c['idle_s']:>7.1f}{c.get('server_ms_per_request', 0):>15.2f}"
                         f"{c.get('postgres_ms_per_request', 0):>11.2f}{c.get('alone_requests_per_s', 0):>13.1f}")
    lines.append("(other: processes outside this benchmark; when it is high, the figures above are pessimistic.\n"
                 " alone req/s: requests x CPUs / CPU seconds of server + PostgreSQL + generator, the rate the\n"
                 " CPUs could sustain with the machine to themselves: an upper bound)")
    return "\n".join(lines)


# --- the run ------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=1_000_000, help="statements stored before the GETs")
    parser.add_argument("--quick", action="store_true", help="small sizes (20,000 statements): a smoke run")
    parser.add_argument("--db", default="fse_fad_bench", help="database to (re)create; dropped at the end")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pg", default=os.environ.get("FSE_FAD_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432"),
                        help="PostgreSQL server URL without database name (default: %(default)s)")
    parser.add_argument("--load", choices=("direct", "http"), default="direct",
                        help="bulk load through lrs.statements.store_statements (direct, default) or HTTP POSTs")
    parser.add_argument("--load-procs", type=int, default=2, help="processes for the direct bulk load")
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent clients posting batches")
    parser.add_argument("--single-clients", type=int, default=16)
    parser.add_argument("--single-rate", type=float, default=100.0,
                        help="single POSTs per second of the paced (open-loop) phase; 0 skips it")
    parser.add_argument("--get-clients", type=int, default=4)
    parser.add_argument("--client-threads", action="store_true",
                        help="run each phase's clients as threads of this process instead of processes")
    parser.add_argument("--workers", type=int, default=0, help="FSE_FAD_WORKERS for the server (0: its default)")
    parser.add_argument("--log-level", default=None,
                        help="FSE_FAD_LOG_LEVEL for the server (default: its own, info: one access line per request)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--phase-time-limit", type=float, default=600.0, help="seconds, per HTTP phase")
    args = parser.parse_args()

    if args.quick:
        sizes = dict(batch30=40, batch100=20, single=400, paced_seconds=5, total=min(args.statements, 20_000),
                     gets=60, paging=15)
    else:
        sizes = dict(batch30=400, batch100=200, single=6000, paced_seconds=40, total=args.statements, gets=1000,
                     paging=150)

    def on_term(_signum, _frame):
        raise SystemExit(143)
    signal.signal(signal.SIGTERM, on_term)

    db_url = f"{args.pg}/{args.db}"
    workdir = Path(tempfile.mkdtemp(prefix="lrs-load-"))
    server = ServerProcess(db_url, args.port, workdir, args.workers or None, args.log_level)
    monitor: RssMonitor | None = None
    results: dict[str, dict] = {}
    rows: list[tuple[str, dict]] = []
    info: dict = {"quick": args.quick, "db": args.db, "port": args.port, "cpu_count": os.cpu_count(),
                  "load_mode": args.load, "batch_clients": args.batch_clients,
                  "single_clients": args.single_clients, "get_clients": args.get_clients,
                  "clients_as": "threads" if args.client_threads else "processes",
                  "load_average_at_start": os.getloadavg()[0]}
    rng = random.Random(args.seed)

    def record(result: PhaseResult) -> None:
        r = results[result.name] = result.as_dict()
        rows.append((result.name, r))
        extra = f", {r['statements_per_s']:.0f} statements/s" if "statements_per_s" in r else ""
        print(f"  {result.name}: {r['requests']} requests in {r['seconds']}s, {r['requests_per_s']} req/s{extra}, "
              f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors']}"
              + (f", empty results {r['empty_results']}" if r.get("empty_results") else "")
              + (f" ({r['note']})" if r.get("note") else ""), flush=True)
        for sample in r.get("error_samples", ()):
            print(f"    error: {sample}", flush=True)

    try:
        print(f"creating database {args.db}", flush=True)
        create_database(args.pg, args.db)
        pg_settings = db_execute(db_url, "SELECT name, setting, unit FROM pg_settings WHERE name IN "
                                         "('shared_buffers','work_mem','synchronous_commit','max_wal_size')",
                                 "SHOW server_version")
        info["postgresql"] = {n: f"{s}{' x ' + u if u else ''}" for n, s, u in pg_settings[0]}
        info["postgresql"]["version"] = pg_settings[1][0][0]
        print(f"starting fse-fad serve on 127.0.0.1:{args.port}", flush=True)
        server.start()
        monitor = RssMonitor(server.proc.pid)
        monitor.start()
        info["server_processes"] = len(monitor.tree())
        meter = CpuMeter(monitor, db_url)
        key, secret = server.create_client()
        auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
        authority = {"objectType": "Agent", "name": "bench-lrs-load",
                     "account": {"homePage": f"{server.public_url}/clients", "name": key}}

        def phase(name: str, tasks: list, concurrency: int, rate: float | None = None) -> PhaseResult:
            before = meter.snapshot()
            result = run_phase(name, args.port, auth, tasks, concurrency, args.phase_time_limit, rate,
                               processes=not args.client_threads)
            result.cpu = meter.between(before, meter.snapshot())
            return result

        live = lrs_traffic.TrafficGenerator(seed=args.seed)
        live_batches = {size: lrs_traffic.batches(live, size) for size in (1, 30, 100)}
        live_samples: list[dict] = []

        def bodies(size: int, count: int, single: bool = False) -> list:
            """Request bodies serialized before the phase starts, so the generator only sends."""
            out = []
            for _ in range(count):
                batch = next(live_batches[size])
                live_samples.append(lrs_traffic.TrafficGenerator.describe(batch[0]))
                payload = batch[0] if single else batch
                out.append(post_task(json.dumps(payload, separators=(",", ":")).encode(), len(batch)))
            return out

        # Warm-up: connections, caches, the activity definitions.
        phase("warmup", bodies(30, 20), args.batch_clients)

        print("POST batches", flush=True)
        record(phase("post_batch30", bodies(30, sizes["batch30"]), args.batch_clients))
        record(phase("post_batch100", bodies(100, sizes["batch100"]), args.batch_clients))
        print("POST single statements", flush=True)
        record(phase("post_single", bodies(1, sizes["single"], single=True), args.single_clients))
        if args.single_rate > 0:
            # The same 16 clients at a steady rate below saturation: latency without the queue.
            count = max(1, int(args.single_rate * sizes["paced_seconds"]))
            record(phase(f"post_single_at_{args.single_rate:g}_per_s", bodies(1, count, single=True),
                         args.single_clients, args.single_rate))

        stored = db_execute(db_url, "SELECT count(*) FROM lrs_statements")[0][0][0]
        to_load = max(0, sizes["total"] - stored)
        print(f"bulk load of {to_load} statements ({args.load}) on top of {stored}", flush=True)
        if args.load == "direct":
            seconds, samples = direct_load(db_url, authority, to_load, args.load_procs, args.seed, 500, 5000)
            results["bulk_load"] = {"mode": "direct: lrs.statements.store_statements, batches of 500, "
                                            f"{args.load_procs} processes", "statements": to_load,
                                    "seconds": round(seconds, 1),
                                    "statements_per_s": round(to_load / seconds, 1) if seconds else 0.0}
        else:
            load, samples = http_load(args.port, auth, to_load, max(args.batch_clients, 8), args.seed, 5000,
                                      max(args.phase_time_limit, 7200))
            record(load)
            results["bulk_load"] = {"mode": "http: POST /xapi/statements, batches of 100, "
                                            f"{load.concurrency} clients", "statements": load.statements,
                                    "seconds": round(load.seconds, 1),
                                    "statements_per_s": results[load.name].get("statements_per_s", 0.0)}
        print(f"  loaded {results['bulk_load']['statements']} statements in {results['bulk_load']['seconds']}s "
              f"({results['bulk_load']['statements_per_s']:.0f}/s)", flush=True)
        samples += live_samples[:: max(1, len(live_samples) // 100)]
        # What autovacuum would have done by then on a live system: statistics for the planner.
        started = time.perf_counter()
        db_execute(db_url, "VACUUM ANALYZE lrs_statements", "VACUUM ANALYZE lrs_statement_keys",
                   "VACUUM ANALYZE lrs_activities")
        counts = db_execute(db_url, "SELECT count(*) FROM lrs_statements", "SELECT count(*) FROM lrs_statement_keys",
                            "SELECT count(*) FROM lrs_activities",
                            "SELECT pg_size_pretty(pg_database_size(current_database()))")
        results["dataset"] = {"statements": counts[0][0][0], "filter_keys": counts[1][0][0],
                              "activities": counts[2][0][0], "database_size": counts[3][0][0],
                              "learners": lrs_traffic.LEARNERS, "verbs": len(lrs_traffic.VERBS),
                              "vacuum_analyze_s": round(time.perf_counter() - started, 1)}
        print(f"  dataset: {results['dataset']}", flush=True)

        print("filtered GETs", flush=True)
        rng.shuffle(samples)
        n = sizes["gets"]
        pick = lambda i: samples[i % len(samples)]  # noqa: E731
        queries = {
            "get_agent_verb_activity": [statements_path(agent=pick(i)["agent"], verb=pick(i)["verb"],
                                                        activity=pick(i)["activity"]) for i in range(n)],
            "get_agent": [statements_path(agent=pick(i + n)["agent"]) for i in range(n)],
            "get_activity_related": [statements_path(activity=pick(i + 2 * n)["activity"], related_activities="true")
                                     for i in range(n)],
            "get_registration": [statements_path(registration=pick(i + 3 * n)["registration"]) for i in range(n)],
        }
        for name, paths in queries.items():
            record(phase(name, [get_task(p) for p in paths], args.get_clients))
        paging = [paging_task(statements_path(activity=pick(i)["course"], related_activities="true", limit=100), 4)
                  for i in range(sizes["paging"])]
        record(phase("get_more_pages", paging, args.get_clients))

        print(f"POST batches of 100 with {results['dataset']['statements']} statements stored", flush=True)
        record(phase("post_batch100_at_scale", bodies(100, sizes["batch100"]), args.batch_clients))

        monitor.final_sample()
        results["rss"] = monitor.report()
    finally:
        stop_server(server, monitor)
        clean_up(workdir, args.pg, None if args.keep_db else args.db)

    dataset, load, rss = results["dataset"], results["bulk_load"], results["rss"]
    print()
    print(f"fse-fad LRS load benchmark ({'quick' if args.quick else 'full'}; {os.cpu_count()} CPUs shared by "
          f"server ({info['server_processes']} processes), PostgreSQL and load generator)")
    print(f"dataset: {dataset['statements']} statements, {dataset['filter_keys']} filter keys, "
          f"{dataset['activities']} activities, {dataset['database_size']}; "
          f"bulk load {load['mode']}: {load['statements_per_s']:.0f} statements/s")
    print(fmt_table(rows))
    print(f"RSS peak: master {rss['master_peak_mb']} MB; workers "
          + ", ".join(f"{v} MB" for v in rss["worker_peak_mb"].values())
          + f" (PSS at the end: {', '.join(f'{v} MB' for v in rss['final_pss_mb'].values())})")
    targets = {}
    print("targets:")
    for name, (section, figure, op, bound, label) in TARGETS.items():
        value = results.get(section, {}).get(figure)
        met = value is not None and (value >= bound if op == ">=" else value < bound)
        targets[name] = {"value": value, "target": f"{op} {bound}", "met": met}
        alone = results.get(section, {}).get("cpu", {}).get("alone_statements_per_s") if op == ">=" else None
        if alone is not None:
            targets[name]["alone_estimate"] = alone
        print(f"  {label:<36} {value!s:>9}  target {op} {bound:<5} {'met' if met else 'MISSED'}"
              + (f"  (alone on the CPUs: about {alone:.0f})" if alone is not None else ""))
    print(json.dumps({"benchmark": "lrs_load", "info": info, "results": results, "targets": targets},
                     separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
