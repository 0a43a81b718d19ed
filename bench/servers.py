"""What the reliability benchmarks share: a scratch database of each kind, migrated, and a plain
table. The server process and the HTTP load generator are the test suite's own (``tests/server.py``,
``tests/load.py``), so that the benchmarks measure exactly what the tests assert."""
from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fse_fad.db import create_scratch_database, upgrade  # noqa: E402

DEFAULT_PG = os.environ.get("FSE_FAD_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database(kind: str, pg_admin_url: str = DEFAULT_PG):
    """A migrated empty database (``sqlite`` or ``postgresql``) and a working directory; both gone after."""
    with tempfile.TemporaryDirectory(prefix="fse-fad-bench-") as workdir:
        if kind == "sqlite":
            url, drop = f"sqlite:///{Path(workdir) / 'bench.db'}", None
        else:
            url, drop = create_scratch_database(pg_admin_url, "fse_fad_bench")
        try:
            upgrade(url)
            yield url, Path(workdir)
        finally:
            if drop:
                drop()


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
