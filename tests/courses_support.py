"""Rosters and codici fiscali for the tests of ``courses``."""
from __future__ import annotations

import csv
import io
import json

from courses.codice_fiscale import MONTHS, check_character

HEADER = ["codice_fiscale", "cognome", "nome", "email", "azienda", "categoria", "professione", "disciplina",
          "rapporto", "moodle_id", "moodle_username"]
MOODLE_WWWROOT = "https://fad.formas.example.it"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def make_cf(n: int) -> str:
    """A valid codice fiscale, different for every ``n`` below 26**3 * 100 * 12 * 28."""
    surname = "".join(LETTERS[(n // 26 ** i) % 26] for i in range(3))
    rest = n // 26 ** 3
    year, rest = rest % 100, rest // 100
    month, rest = MONTHS[rest % 12], rest // 12
    day = 1 + rest % 28
    first15 = f"{surname}MRA{year:02d}{month}{day:02d}H501"
    return first15 + check_character(first15)


def row(n: int, **overrides) -> dict:
    """A valid roster row: a nurse of USL Toscana Centro unless overridden."""
    values = {
        "codice_fiscale": make_cf(n), "cognome": f"Rossi{LETTERS[n % 26]}", "nome": "Niccolò",
        "email": f"learner{n}@example.it", "azienda": "USL-TC", "categoria": "2.vi", "professione": "14",
        "disciplina": "85", "rapporto": "dipendente", "moodle_id": str(1000 + n), "moodle_username": f"user{n}",
    }
    values.update(overrides)
    return values


def csv_bytes(rows: list[dict], delimiter: str = ";", encoding: str = "utf-8", header: list[str] | None = None) -> bytes:
    header = header or HEADER
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for values in rows:
        writer.writerow([values.get(column, "") for column in HEADER][:len(header)])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[dict], header: list[str] | None = None, numeric_ids: bool = True) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header or HEADER)
    for values in rows:
        cells = [values.get(column, "") for column in HEADER]
        if numeric_ids and cells[9].isdigit():
            cells[9] = int(cells[9])  # Excel keeps Moodle ids as numbers
        sheet.append([c if c != "" else None for c in cells])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def moodle_mapping_file(path, course_code: str = "FAD-FSE") -> str:
    """A Moodle mapping with one SCORM activity per module level, the quizzes and the questionnaire."""
    activities = {"course/view.php?id=12": "course", "mod/quiz/view.php?id=301": "valutazione-iniziale",
                  "mod/quiz/view.php?id=340": "test-finale", "mod/feedback/view.php?id=341": "questionario-qualita"}
    cmid = 311
    for module in range(1, 9):
        for level in ("base", "intermedio", "avanzato"):
            activities[f"mod/scorm/view.php?id={cmid}"] = f"m{module:02d}/{level}"
            cmid += 1
    path.write_text(json.dumps({"sites": [{"wwwroot": MOODLE_WWWROOT, "default": True,
                                           "courses": {course_code: activities}}]}), encoding="utf-8")
    return str(path)


def upload_roster(connection, numbers: list[int]) -> tuple[int, dict]:
    """POST the roster of learners ``numbers`` (see ``row``) to a server through a
    ``tests.load.Connection``; the status and the JSON answer."""
    from urllib.parse import urlencode

    status, _headers, body = connection.upload("/api/v1/learners/import?" + urlencode({"moodle_site": MOODLE_WWWROOT}),
                                               "file", "roster.csv", csv_bytes([row(n) for n in numbers]))
    return status, json.loads(body)
