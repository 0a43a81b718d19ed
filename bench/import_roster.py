"""Benchmark of the roster import on PostgreSQL: 60,000 rows must import in under 30 s.

Generates a valid roster (valid codici fiscali, every trust and category, professions with their
disciplines, Moodle ids and usernames, emails) as a ``;``-separated UTF-8 CSV, creates a fresh
PostgreSQL database, brings it up to date with the migrations, imports the roster with
``courses.importing.import_roster`` in one transaction, then imports it again (every row
unchanged) and a third time with 10% of the rows changed; prints rows/s and elapsed time for each
pass; then imports the same roster as an XLSX workbook into another empty database; prints a final
JSON line and drops the databases.

    python bench/import_roster.py                 # 60,000 rows
    python bench/import_roster.py --rows 5000     # smaller run

``FSE_FAD_BENCH_POSTGRES_URL`` is the administrative URL (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). Not a timed test: a benchmark to run
by hand or in CI.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402

from courses.codice_fiscale import MONTHS, check_character  # noqa: E402
from courses.importing import COLUMNS, import_roster  # noqa: E402
from courses.models import Learner  # noqa: E402
from courses.reference import default_reference  # noqa: E402
from fse_fad.db import create_scratch_database, make_engine, make_session_factory, session_scope, upgrade  # noqa: E402

ADMIN_URL = os.environ.get("FSE_FAD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TARGET_SECONDS = 30.0
MOODLE_WWWROOT = "https://fad.formas.example.it"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SURNAMES = ["Rossi", "Bianchi", "Esposito", "Ricci", "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca",
            "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani"]
NAMES = ["Maria", "Giuseppe", "Anna", "Giovanni", "Francesca", "Antonio", "Sara", "Marco", "Chiara", "Niccolò",
         "Lucia", "Andrea", "Elena", "Matteo", "Giulia", "Lorenzo", "Martina", "Davide", "Alessia", "Simone"]
EMPLOYMENT = ["dipendente", "convenzionato", "libero professionista", "privo di occupazione"]


def codice_fiscale(n: int, rng: random.Random) -> str:
    """A valid and distinct codice fiscale for each ``n`` (the surname part encodes n)."""
    surname = "".join(LETTERS[(n // 26 ** i) % 26] for i in range(3))
    name = "".join(LETTERS[(n // 26 ** (i + 3)) % 26] for i in range(3))
    day = rng.randint(1, 28) + (40 if rng.random() < 0.6 else 0)
    first15 = f"{surname}{name}{rng.randint(40, 99):02d}{rng.choice(MONTHS)}{day:02d}{rng.choice('ABDGHLMZ')}{rng.randint(0, 999):03d}"
    return first15 + check_character(first15)


def generate(rows: int, seed: int = 20251231) -> list[dict]:
    reference = default_reference()
    rng = random.Random(seed)
    trusts = list(reference.trusts)
    categories = list(reference.categories.values())
    health = [p for p in reference.professions.values()]
    out = []
    for n in range(rows):
        category = rng.choice(categories)
        if category.professions:
            profession = reference.professions[rng.choice(category.professions)]
        elif category.cluster == 3:
            profession = None
        else:
            profession = rng.choice(health)
        discipline = rng.choice(profession.disciplines).code if profession else ""
        out.append({
            "codice_fiscale": codice_fiscale(n, rng),
            "cognome": rng.choice(SURNAMES), "nome": rng.choice(NAMES),
            "email": f"operatore{n}@aziende.example.it",
            "azienda": rng.choice(trusts), "categoria": category.code,
            "professione": str(profession.code) if profession else "", "disciplina": str(discipline),
            "rapporto": rng.choice(EMPLOYMENT), "moodle_id": str(100000 + n), "moodle_username": f"op{n:06d}",
        })
    return out


def to_csv(rows: list[dict]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def to_xlsx(rows: list[dict]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(list(COLUMNS))
    for values in rows:
        sheet.append([int(values[c]) if c == "moodle_id" else (values[c] or None) for c in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def timed_import(factory, content: bytes) -> tuple[float, object]:
    started = time.perf_counter()
    with session_scope(factory) as session:
        report = import_roster(session, content, moodle_home_page=MOODLE_WWWROOT)
    return time.perf_counter() - started, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=60_000)
    args = parser.parse_args()

    rows = generate(args.rows)
    content = to_csv(rows)
    print(f"roster: {len(rows)} rows, {len(content) / 1e6:.1f} MB CSV")
    url, drop = create_scratch_database(ADMIN_URL, "fse_fad_bench_import")
    results = {}
    try:
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)

        elapsed, report = timed_import(factory, content)
        assert report.created == len(rows) and not report.problems, report.as_dict()
        results["first_import"] = {"seconds": round(elapsed, 2), "rows_per_s": round(len(rows) / elapsed)}

        elapsed, report = timed_import(factory, content)
        assert report.unchanged == len(rows), report.as_dict()
        results["reimport_unchanged"] = {"seconds": round(elapsed, 2), "rows_per_s": round(len(rows) / elapsed)}

        rng = random.Random(7)
        trusts = list(default_reference().trusts)
        for values in rng.sample(rows, len(rows) // 10):
            values["azienda"] = rng.choice([t for t in trusts if t != values["azienda"]])
            values["email"] = values["email"].replace("@", ".nuovo@")
        elapsed, report = timed_import(factory, to_csv(rows))
        assert report.updated == len(rows) // 10, report.as_dict()
        results["reimport_10pct_changed"] = {"seconds": round(elapsed, 2), "rows_per_s": round(len(rows) / elapsed)}

        with session_scope(factory) as session:
            assert session.scalar(select(func.count()).select_from(Learner)) == len(rows)
        engine.dispose()
    finally:
        drop()

    # The same roster as an XLSX workbook, into an empty database.
    workbook = to_xlsx(rows)
    url, drop = create_scratch_database(ADMIN_URL, "fse_fad_bench_import")
    try:
        upgrade(url)
        engine = make_engine(url)
        elapsed, report = timed_import(make_session_factory(engine), workbook)
        assert report.created == len(rows) and not report.problems, report.as_dict()
        results["first_import_xlsx"] = {"seconds": round(elapsed, 2), "rows_per_s": round(len(rows) / elapsed)}
        engine.dispose()
    finally:
        drop()

    for name, figures in results.items():
        print(f"{name:<24} {figures['seconds']:>7.2f} s  {figures['rows_per_s']:>8} rows/s")
    first = max(results["first_import"]["seconds"], results["first_import_xlsx"]["seconds"])
    verdict = "PASS" if first < TARGET_SECONDS * len(rows) / 60_000 else "FAIL"
    print(f"{verdict}: {len(rows)} rows imported in at most {first:.2f} s, CSV or XLSX "
          f"(target: 60,000 rows in under {TARGET_SECONDS:.0f} s)")
    print(json.dumps({"rows": len(rows), **results, "verdict": verdict}))
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
