"""Hostile roster files through the HTTP API, on SQLite and PostgreSQL: XLSX zip bombs, oversized
uploads, formulas in cells, wrong encodings and files that are no roster. Each is a clear 400 (or
413) naming the file and what was wrong, and nothing is stored; formulas are kept as text and come
out of every export neutralised. (SCORM zips: tests/test_scorm_import.py.)"""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from courses import xlsx
from courses.importing import validate_roster
from courses.models import Learner
from fse_fad.config import Config
from fse_fad.errors import BadRequest
from tests.courses_support import HEADER, MOODLE_WWWROOT, csv_bytes, make_cf, moodle_mapping_file, row, xlsx_bytes
from tests.test_courses_api import admin, auth, upload  # noqa: F401,F811  (fixtures)
from tests.test_courses_xlsx import NS, workbook

MAX_REQUEST_BYTES = 256 * 1024


@pytest.fixture
def config(database_url, tmp_path) -> Config:
    return Config(database_url=database_url, secret_key="test-secret-key-" + "x" * 32, public_url="http://lrs.test",
                  moodle_mapping=moodle_mapping_file(tmp_path / "moodle.json"), max_request_bytes=MAX_REQUEST_BYTES)


def learners(session_factory) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(Learner))


def refused(http, admin, content: bytes, filename: str = "roster.csv", status: int = 400) -> dict:
    response = upload(http, admin, content, filename, moodle_site=MOODLE_WWWROOT)
    assert response.status_code == status, response.get_data()[:300]
    body = response.get_json()
    assert body["message"] and body["errors"][0]["field"] in ("file", "body") and body["errors"][0]["rule"]
    return body


def _header_cells() -> str:
    return "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>' for i, name in enumerate(HEADER))


def _bomb(part: str) -> bytes:
    """A small workbook whose sheet or shared strings expand to 40 MB of nothing."""
    padding = " " * (40 * 1024 * 1024)
    sheet = f'<row r="1">{_header_cells()}</row>'
    stored = workbook(sheet + padding) if part == "sheet" else workbook(sheet, f'<sst {NS}><si><t>{padding}</t></si></sst>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(stored)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            target.writestr(name, source.read(name))
    return out.getvalue()


@pytest.mark.parametrize("part", ["sheet", "shared strings"])
def test_an_xlsx_zip_bomb_is_refused_before_it_is_read(http, admin, session_factory, part):
    content = _bomb(part)
    assert len(content) < MAX_REQUEST_BYTES
    body = refused(http, admin, content, "roster.xlsx")
    assert "zip bomb" in body["message"]
    assert learners(session_factory) == 0


def test_a_real_roster_is_far_from_the_bomb_ratio():
    content = xlsx_bytes([row(n) for n in range(1, 3001)])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
    assert sheet.file_size > 1024 * 1024 and sheet.file_size < xlsx.MAX_RATIO / 4 * sheet.compress_size
    rows, report = validate_roster(content)
    assert len(rows) == 3000 and not report.problems


def test_an_oversized_roster_is_413_and_stores_nothing(http, admin, session_factory):
    content = csv_bytes([row(n) for n in range(1, 3001)])
    assert len(content) > MAX_REQUEST_BYTES
    refused(http, admin, content, status=413)
    raw = http.post(f"/api/v1/learners/import?moodle_site={MOODLE_WWWROOT}", headers=admin, data=content,
                    content_type="text/csv")
    assert raw.status_code == 413 and raw.get_json()["errors"][0]["field"] == "body"
    assert learners(session_factory) == 0


@pytest.mark.parametrize("content,reason", [
    pytest.param(csv_bytes([row(1)]).decode().encode("utf-16-le"), "neither UTF-8", id="utf-16 without BOM"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "", id="png"),
    pytest.param(b"%PDF-1.7\n" + bytes(range(128, 256)) * 8, "", id="pdf"),
    pytest.param(b"PK\x03\x04" + b"\x00" * 200, "XLSX", id="broken zip"),
])
def test_files_in_the_wrong_encoding_or_no_roster_at_all(http, admin, session_factory, content, reason):
    body = refused(http, admin, content)
    assert reason in body["message"]
    assert learners(session_factory) == 0


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_excel_unicode_text_is_utf16_with_a_bom_and_tabs(http, admin, session_factory, encoding):
    text = "\ufeff" + csv_bytes([row(1, cognome="Müller"), row(2)], delimiter="\t").decode()
    content = text.encode(encoding) if encoding == "utf-16-be" else text[1:].encode(encoding)
    response = upload(http, admin, content, "roster.txt", moodle_site=MOODLE_WWWROOT)
    assert response.status_code == 200 and response.get_json()["created"] == 2, response.get_json()
    assert http.get(f"/api/v1/learners/{make_cf(1)}", headers=admin).get_json()["surname"] == "Müller"


def test_a_zip_that_is_no_workbook_and_a_workbook_without_sheets(http, admin, session_factory):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("imsmanifest.xml", "<manifest/>")
    assert "no part xl/workbook.xml" in refused(http, admin, out.getvalue(), "roster.xlsx")["message"]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", f"<workbook {NS}><sheets/></workbook>")
    assert "no sheet" in refused(http, admin, out.getvalue(), "roster.xlsx")["message"]
    assert learners(session_factory) == 0


FORMULAS = {"cognome": ["=HYPERLINK(\"http://x\",\"y\")", "+39 055 123", "-2+3", "@SUM(A1:A9)"],
            "nome": ["=cmd|' /C calc'!A0", "@x", "+x", "-x"]}


def test_formulas_in_cells_are_text_and_every_export_neutralises_them(http, admin, session_factory):
    rows = [row(n + 1, cognome=FORMULAS["cognome"][n], nome=FORMULAS["nome"][n]) for n in range(4)]
    response = upload(http, admin, csv_bytes(rows), moodle_site=MOODLE_WWWROOT)
    assert response.status_code == 200 and response.get_json()["created"] == 4
    shown = http.get(f"/api/v1/learners/{make_cf(1)}", headers=admin).get_json()
    assert shown["surname"] == FORMULAS["cognome"][0]  # stored as given: the data is the person's

    text = http.get("/api/v1/reports/learners", headers=admin, query_string={"format": "csv"}).data.decode("utf-8")
    table = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))
    sheet = load_workbook(io.BytesIO(http.get("/api/v1/reports/learners", headers=admin,
                                              query_string={"format": "xlsx"}).data)).active
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    for exported in (table, cells):
        names = {value for line in exported[1:] for value in line[1:3]}
        assert names == {"'" + value for values in FORMULAS.values() for value in values}
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)


def test_an_xlsx_formula_cell_gives_its_value_never_its_formula():
    values = row(1)
    cells = "".join(f'<c r="{chr(65 + i)}2" t="inlineStr"><is><t>{values[name]}</t></is></c>'
                    for i, name in enumerate(HEADER) if name != "cognome")
    formula = '<c r="B2" t="str"><f>HYPERLINK("http://evil.example","Rossi")</f><v>Rossi</v></c>'
    content = workbook(f'<row r="1">{_header_cells()}</row><row r="2">{formula}{cells}</row>')
    rows, report = validate_roster(content)
    assert not report.problems and rows[0].surname == "Rossi"


def test_a_cell_larger_than_the_csv_limit_is_a_file_error():
    with pytest.raises(BadRequest) as info:
        validate_roster(csv_bytes([row(1, cognome="R" * 200_000)]))
    assert info.value.problems[0].field == "file"
