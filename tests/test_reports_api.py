"""The training offices' reports on SQLite and PostgreSQL: completions, assessments, targets, the
learners list, a learner's progress, unmatched agents; CSV and XLSX exports; and, for every
endpoint, a trust's training office seeing only its own trust."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from courses import counts
from courses.catalogue import default_catalogue
from courses.models import Learner, LearnerProgress, ModuleProgress
from fse_fad.db import session_scope
from tests.courses_support import csv_bytes, make_cf, row
from tests.test_courses_api import admin, auth, config  # noqa: F401  (fixtures)
from tests.test_progress_rules import assessment_statements, full_course
from tests.test_progress_tracking import as_learner, moodle_actor, post

CATALOGUE = default_catalogue()
FAD = CATALOGUE.fad_course
FSC = CATALOGUE.course("FSC-MMG-PLS")
VERB = "http://adlnet.gov/expapi/verbs/"
REPORTS = "/api/v1/reports"
MMG = {"categoria": "1.i", "professione": "1", "disciplina": "58", "rapporto": "convenzionato"}
CUP = {"categoria": "3.ii", "professione": "", "disciplina": ""}
CAREGGI = {"azienda": "AOU-CAREGGI"}


@pytest.fixture
def centro(auth):
    """The training office of USL Toscana Centro."""
    return auth("training-office", trust_code="USL-TC")


def shifted(statements: list[dict], delta: timedelta) -> list[dict]:
    for statement in statements:
        moment = datetime.fromisoformat(statement["timestamp"].replace("Z", "+00:00")) + delta
        statement["timestamp"] = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return statements


def attended(n: int, course, session_number: int) -> dict:
    return {"actor": moodle_actor(n), "verb": {"id": VERB + "attended"},
            "object": {"id": course.iri_of(f"sessione-{session_number}")}, "timestamp": "2026-10-07T09:00:00Z"}


@pytest.fixture
def world(http, admin, xapi):
    """Eight learners of two trusts; the course completed, failed, just assessed or not started.

    USL-TC: 1 nurse completed; 2 MMG not started; 3 CUP assessed; 7 nurse deactivated, not
    started (not counted); 8 nurse erased (still counted). AOU-CAREGGI: 4 nurse test failed;
    5 MMG completed at 23:30 UTC on 5 October (6 October in Italy) and attending FSC; 6 nurse not
    started. Agent 99 is no learner."""
    roster = [row(1), row(2, **MMG), row(3, **CUP), row(4, **CAREGGI), row(5, **MMG, **CAREGGI),
              row(6, **CAREGGI), row(7), row(8)]
    roster[0]["cognome"] = "=HYPERLINK(\"http://x\")"
    response = http.post("/api/v1/learners/import", headers=admin,
                         data={"file": (io.BytesIO(csv_bytes(roster)), "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    post(http, xapi, as_learner(full_course(), 1))
    post(http, xapi, as_learner(assessment_statements({"accesso": 1, "integrazione": 5, "personalizzazione": 3,
                                                       "policy": 0}), 3))
    post(http, xapi, as_learner(full_course(test_raws=(10, 20)), 4))
    post(http, xapi, shifted(as_learner(full_course(), 5), timedelta(hours=9, minutes=30)))
    post(http, xapi, [attended(5, FSC, 1), attended(5, FSC, 2)])
    post(http, xapi, as_learner(full_course(), 99))
    assert http.patch(f"/api/v1/learners/{make_cf(7)}", headers=admin, json={"active": False}).status_code == 200
    assert http.delete(f"/api/v1/learners/{make_cf(8)}", headers=admin).status_code == 200


def get(http, headers, path, **params):
    response = http.get(path, headers=headers, query_string=params)
    return response


def body(http, headers, path, **params):
    response = get(http, headers, path, **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.data[:300]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff") and text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


def xlsx_rows(response) -> list[list]:
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [list(r) for r in sheet.iter_rows(values_only=True)]


# --- completions -----------------------------------------------------------------------------------

def test_completions_by_trust_has_the_exact_shape(http, admin, world):
    assert body(http, admin, f"{REPORTS}/completions", group_by="trust") == {
        "group_by": "trust", "course": "FAD-FSE", "from": None, "to": None,
        "rows": [
            {"key": "AOU-CAREGGI", "label": "Azienda Ospedaliero-Universitaria Careggi", "learners": 3, "assessed": 2,
             "in_progress": 1, "completed": 1, "completion_rate": 0.3333},
            {"key": "USL-TC", "label": "Azienda USL Toscana Centro", "learners": 4, "assessed": 2, "in_progress": 0,
             "completed": 1, "completion_rate": 0.25}],
        "totals": {"learners": 7, "assessed": 4, "in_progress": 1, "completed": 2, "completion_rate": 0.2857}}


def test_completions_by_cluster_category_profession(http, admin, world):
    by_cluster = body(http, admin, f"{REPORTS}/completions", group_by="cluster")
    assert [(r["key"], r["learners"], r["completed"]) for r in by_cluster["rows"]] == [("1", 2, 1), ("2", 4, 1),
                                                                                        ("3", 1, 0)]
    assert by_cluster["rows"][0]["label"].startswith("Medici di Medicina Generale")
    by_category = body(http, admin, f"{REPORTS}/completions", group_by="category")
    assert [r["key"] for r in by_category["rows"]] == ["1.i", "2.vi", "3.ii"]
    by_profession = body(http, admin, f"{REPORTS}/completions", group_by="profession")
    assert [(r["key"], r["learners"]) for r in by_profession["rows"]] == [("1", 2), ("14", 4), ("none", 1)]
    assert by_profession["rows"][2]["label"] == "Nessuna professione sanitaria"
    for report in (by_cluster, by_category, by_profession):
        assert report["totals"] == {"learners": 7, "assessed": 4, "in_progress": 1, "completed": 2,
                                    "completion_rate": 0.2857}


def test_completions_by_module_and_level_count_the_modules_launched(http, admin, world):
    by_module = body(http, admin, f"{REPORTS}/completions", group_by="module")
    assert [r["key"] for r in by_module["rows"]] == [f"m0{n}" for n in range(1, 9)]
    assert by_module["rows"][0] == {"key": "m01", "label": FAD.modules[0]["title"], "learners": 3, "assessed": 3,
                                    "in_progress": 0, "completed": 3, "completion_rate": 1.0}
    assert by_module["totals"]["learners"] == 24
    by_level = body(http, admin, f"{REPORTS}/completions", group_by="level")
    assert [(r["key"], r["label"], r["learners"]) for r in by_level["rows"]] == [("base", "Base", 24)]
    centro_only = body(http, admin, f"{REPORTS}/completions", group_by="module", trust="USL-TC")
    assert centro_only["rows"][0]["learners"] == 1


def _modules_by_rows(session_factory, group_by: str, trust: str | None, start: date | None, end: date | None) -> dict:
    """The module or level report computed from the module rows themselves, as it was before the
    report read the counts the projection keeps."""
    rome = ZoneInfo("Europe/Rome")
    found: dict[str, list[int]] = {}
    with session_scope(session_factory) as session:
        assessed = {lid for lid, in session.execute(select(LearnerProgress.learner_id).where(
            LearnerProgress.course_code == FAD.code, LearnerProgress.assessment_completed_at.is_not(None)))}
        for module, learner in session.execute(select(ModuleProgress, Learner).join(
                Learner, Learner.id == ModuleProgress.learner_id).where(ModuleProgress.course_code == FAD.code)):
            if module.launched_at is None or (trust and learner.trust_code != trust):
                continue
            key = module.module_code if group_by == "module" else (module.level or "none")
            into = found.setdefault(key, [0, 0, 0, 0])
            into[0] += 1
            into[1] += learner.id in assessed
            if module.completed_at is None:
                into[2] += 1
            else:
                moment = module.completed_at.replace(tzinfo=module.completed_at.tzinfo or timezone.utc)
                day = moment.astimezone(rome).date()
                into[3] += (start is None or day >= start) and (end is None or day <= end)
    return found


def test_completions_by_module_and_level_agree_with_the_module_rows(http, admin, xapi, session_factory, world):
    post(http, xapi, as_learner(full_course()[:30], 6))  # learner 6: part of the modules, some not completed
    for group_by, trust, start, end in [("module", None, None, None), ("level", None, None, None),
                                        ("module", "AOU-CAREGGI", None, None), ("level", "USL-TC", None, None),
                                        ("module", None, date(2026, 10, 6), None),
                                        ("module", None, None, date(2026, 10, 5)),
                                        ("level", "AOU-CAREGGI", date(2026, 10, 6), date(2026, 10, 6))]:
        params = {"group_by": group_by, **({"trust": trust} if trust else {}),
                  **({"from": start.isoformat()} if start else {}), **({"to": end.isoformat()} if end else {})}
        report = body(http, admin, f"{REPORTS}/completions", **params)
        assert {r["key"]: [r["learners"], r["assessed"], r["in_progress"], r["completed"]] for r in report["rows"]} \
            == _modules_by_rows(session_factory, group_by, trust, start, end), params


def test_a_learner_moving_trust_takes_their_modules_along(http, admin, session_factory, world):
    def launched(trust):
        report = body(http, admin, f"{REPORTS}/completions", group_by="module", trust=trust)
        return {r["key"]: r["learners"] for r in report["rows"]}

    assert launched("USL-TC")["m01"] == 1 and launched("AOU-CAREGGI")["m01"] == 2
    moved = [row(1, **CAREGGI)]
    response = http.post("/api/v1/learners/import", headers=admin,
                         data={"file": (io.BytesIO(csv_bytes(moved)), "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert "m01" not in launched("USL-TC") and launched("AOU-CAREGGI")["m01"] == 3
    assessed = body(http, admin, f"{REPORTS}/assessments", group_by="trust", trust="USL-TC")
    assert {r["assessed"] for r in assessed["rows"]} == {1}  # learner 3 only
    with session_scope(session_factory) as session:
        assert counts.stored(session) == counts.recount(session)
        assert counts.stored_objectives(session) == counts.recount_objectives(session)


def test_completions_in_a_period_count_italian_days(http, admin, world):
    def completed(**period):
        report = body(http, admin, f"{REPORTS}/completions", group_by="trust", **period)
        return {r["key"]: r["completed"] for r in report["rows"]}, report

    # Learner 5 completed at 23:30 UTC on 5 October: 6 October in Italy.
    counts, report = completed(**{"from": "2026-10-05", "to": "2026-10-05"})
    assert counts == {"AOU-CAREGGI": 0, "USL-TC": 1}
    assert report["from"] == "2026-10-05" and report["to"] == "2026-10-05"
    assert report["rows"][0]["learners"] == 3 and report["rows"][0]["assessed"] == 2
    assert completed(**{"from": "2026-10-06"})[0] == {"AOU-CAREGGI": 1, "USL-TC": 0}
    assert completed(to="2026-10-04")[0] == {"AOU-CAREGGI": 0, "USL-TC": 0}


def test_completions_of_a_field_training_course(http, admin, world):
    report = body(http, admin, f"{REPORTS}/completions", group_by="trust", course="FSC-MMG-PLS")
    # Its audience: the MMG/PLS and the CUP staff; learner 5 attended two of three sessions.
    assert [(r["key"], r["learners"], r["in_progress"], r["completed"]) for r in report["rows"]] == [
        ("AOU-CAREGGI", 1, 1, 0), ("USL-TC", 2, 0, 0)]


@pytest.mark.parametrize("params, field", [
    ({}, "group_by"), ({"group_by": "colour"}, "group_by"), ({"group_by": "trust", "from": "5 ottobre"}, "from"),
    ({"group_by": "trust", "from": "2026-10-06", "to": "2026-10-05"}, "to"),
    ({"group_by": "trust", "course": "NOPE"}, "course"), ({"group_by": "module", "course": "RES-APICALI"}, "course"),
    ({"group_by": "trust", "trust": "USL-XX"}, "trust"), ({"group_by": "trust", "format": "pdf"}, "format")])
def test_completions_refuse_bad_parameters(http, admin, params, field):
    response = get(http, admin, f"{REPORTS}/completions", **params)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == field


def test_completions_trust_office_sees_only_its_trust(http, centro, world):
    for group_by in ("trust", "cluster", "category", "profession", "module", "level"):
        report = body(http, centro, f"{REPORTS}/completions", group_by=group_by)
        # Learner 1 completed the course, and its 8 modules.
        assert report["totals"]["completed"] == (8 if group_by in ("module", "level") else 1), group_by
        if group_by == "trust":
            assert [r["key"] for r in report["rows"]] == ["USL-TC"]
        if group_by in ("trust", "cluster", "category", "profession"):
            assert report["totals"]["learners"] == 4
    assert body(http, centro, f"{REPORTS}/completions", group_by="trust", trust="usl toscana centro")["rows"][0][
        "key"] == "USL-TC"
    refused = get(http, centro, f"{REPORTS}/completions", group_by="trust", trust="AOU-CAREGGI")
    assert refused.status_code == 403 and refused.get_json()["errors"][0]["field"] == "trust"
    for fmt, rows_of in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        rows = rows_of(get(http, centro, f"{REPORTS}/completions", group_by="trust", format=fmt))
        text = json.dumps(rows, default=str)
        assert "CAREGGI" not in text and "Careggi" not in text and "USL-TC" in text


# --- assessments -----------------------------------------------------------------------------------

def test_assessments_count_levels_and_scores_per_objective(http, admin, world):
    report = body(http, admin, f"{REPORTS}/assessments", group_by="trust")
    assert report["levels"] == ["base", "intermedio", "avanzato"] and report["bands"][-1] == [90, 100]
    cells = {(r["key"], r["objective"]): r for r in report["rows"]}
    assert [(r["key"], r["objective"]) for r in report["rows"]][:4] == [
        ("AOU-CAREGGI", o) for o in ("accesso", "integrazione", "personalizzazione", "policy")]
    # full_course: accesso 5/5 right (100), integrazione 2/5 (40), personalizzazione 0 (0), policy 3/5 (60).
    careggi = cells[("AOU-CAREGGI", "accesso")]
    assert careggi["assessed"] == 2 and careggi["mean_score"] == 100.0 and careggi["distribution"][9] == 2
    assert careggi["levels"]["avanzato"] == 2 and careggi["objective_title"] == "Accesso ai servizi FSE"
    # Learner 3 (CUP): accesso 1/5 = 20, integrazione 100, personalizzazione 60, policy 0.
    centro = cells[("USL-TC", "accesso")]
    assert centro["assessed"] == 2 and centro["mean_score"] == 60.0
    assert centro["distribution"][2] == 1 and centro["distribution"][9] == 1
    assert sum(centro["levels"].values()) == 2
    totals = {t["objective"]: t for t in report["totals"]}
    assert totals["accesso"]["assessed"] == 4 and sum(totals["policy"]["distribution"]) == 4
    by_cluster = body(http, admin, f"{REPORTS}/assessments", group_by="cluster")
    assert sorted({r["key"] for r in by_cluster["rows"]}) == ["1", "2", "3"]
    assert get(http, admin, f"{REPORTS}/assessments", group_by="module").status_code == 400
    assert get(http, admin, f"{REPORTS}/assessments", group_by="trust", course="FSC-MMG-PLS").status_code == 400


def test_assessments_trust_office_sees_only_its_trust(http, centro, world):
    report = body(http, centro, f"{REPORTS}/assessments", group_by="trust")
    assert {r["key"] for r in report["rows"]} == {"USL-TC"}
    assert all(t["assessed"] == 2 for t in report["totals"])
    assert {r["key"] for r in body(http, centro, f"{REPORTS}/assessments", group_by="cluster")["rows"]} == {"2", "3"}
    assert get(http, centro, f"{REPORTS}/assessments", group_by="trust", trust="AOU-CAREGGI").status_code == 403
    for fmt, rows_of in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        text = json.dumps(rows_of(get(http, centro, f"{REPORTS}/assessments", group_by="trust", format=fmt)))
        assert "CAREGGI" not in text and "USL-TC" in text


# --- targets ---------------------------------------------------------------------------------------

def test_targets_against_the_projects_and_the_milestone(http, admin, world):
    report = body(http, admin, f"{REPORTS}/targets")
    projects = {p["course"]: p for p in report["projects"]}
    fad = projects["FAD-FSE"]
    assert (fad["target"], fad["learners"], fad["completed"], fad["progress"]) == (60000, 7, 2, 0.0)
    assert [(t["key"], t["learners"], t["completed"]) for t in fad["trusts"]] == [("AOU-CAREGGI", 3, 1),
                                                                                  ("USL-TC", 4, 1)]
    assert (projects["FSC-MMG-PLS"]["target"], projects["FSC-MMG-PLS"]["learners"]) == (3800, 3)
    assert projects["RES-FORMATORI"]["target"] == 115 and projects["RES-APICALI"]["target"] == 100
    assert projects["RES-APICALI"]["learners"] == 0
    milestone = report["milestone"]
    assert (milestone["learners"], milestone["completed"], milestone["completion_rate"], milestone["target"],
            milestone["target_share"], milestone["met"]) == (2, 1, 0.5, 2, 0.85, False)
    assert [(t["key"], t["met"]) for t in milestone["trusts"]] == [("AOU-CAREGGI", True), ("USL-TC", False)]


def test_targets_count_each_course_as_its_completions_report(http, admin, centro, xapi, world):
    """Learners outside a course's audience count through their progress, once each: a nurse (1) of
    USL-TC attends the FSC course, a nurse (4) of Careggi completes the RES course for trainers."""
    res = CATALOGUE.course("RES-FORMATORI")
    post(http, xapi, [attended(1, FSC, 1), attended(4, res, 1), attended(4, res, 2)])
    for reader in (admin, centro):
        for project in body(http, reader, f"{REPORTS}/targets")["projects"]:
            completions = body(http, reader, f"{REPORTS}/completions", group_by="trust", course=project["course"])
            assert [(t["key"], t["learners"], t["completed"]) for t in project["trusts"]] == [
                (r["key"], r["learners"], r["completed"]) for r in completions["rows"]]
            assert (project["learners"], project["completed"]) == (completions["totals"]["learners"],
                                                                   completions["totals"]["completed"])
    projects = {p["course"]: p for p in body(http, admin, f"{REPORTS}/targets")["projects"]}
    assert [(t["key"], t["learners"]) for t in projects["FSC-MMG-PLS"]["trusts"]] == [("AOU-CAREGGI", 1),
                                                                                    ("USL-TC", 3)]
    assert [(t["key"], t["learners"], t["completed"]) for t in projects["RES-FORMATORI"]["trusts"]] == [
        ("AOU-CAREGGI", 1, 1)]
    assert projects["RES-APICALI"]["trusts"] == []


def test_targets_trust_office_sees_only_its_trust(http, centro, world):
    report = body(http, centro, f"{REPORTS}/targets")
    assert report["trust"] == "USL-TC"
    assert all([t["key"] for t in p["trusts"]] in ([], ["USL-TC"]) for p in report["projects"])
    assert report["projects"][0]["learners"] == 4 and report["milestone"]["learners"] == 1
    assert [t["key"] for t in report["milestone"]["trusts"]] == ["USL-TC"]
    assert get(http, centro, f"{REPORTS}/targets", trust="AOU-CAREGGI").status_code == 403
    for fmt, rows_of in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        text = json.dumps(rows_of(get(http, centro, f"{REPORTS}/targets", format=fmt)), default=str)
        assert "CAREGGI" not in text and "USL-TC" in text


# --- learners --------------------------------------------------------------------------------------

def test_learners_by_status_cluster_and_page(http, admin, world):
    everyone = body(http, admin, f"{REPORTS}/learners")
    # Erased (8) and deactivated-before-starting (7) learners are not listed.
    assert everyone["total"] == 6 and {r["codice_fiscale"] for r in everyone["rows"]} == {make_cf(n) for n in range(1, 7)}
    statuses = {r["codice_fiscale"]: r["status"] for r in everyone["rows"]}
    assert statuses == {make_cf(1): "completed", make_cf(2): "not_started", make_cf(3): "assessed",
                        make_cf(4): "test_failed", make_cf(5): "completed", make_cf(6): "not_started"}
    not_started = body(http, admin, f"{REPORTS}/learners", status="not_started")
    assert {r["codice_fiscale"] for r in not_started["rows"]} == {make_cf(2), make_cf(6)}
    completed_mmg = body(http, admin, f"{REPORTS}/learners", status="completed", cluster=1)
    assert [r["codice_fiscale"] for r in completed_mmg["rows"]] == [make_cf(5)]
    assert completed_mmg["rows"][0]["modules_completed"] == 8 and completed_mmg["rows"][0]["completed_at"]
    first = body(http, admin, f"{REPORTS}/learners", per_page=4)
    second = body(http, admin, f"{REPORTS}/learners", per_page=4, page=2)
    assert len(first["rows"]) == 4 and len(second["rows"]) == 2 and second["total"] == 6
    assert {r["codice_fiscale"] for r in first["rows"] + second["rows"]} == {make_cf(n) for n in range(1, 7)}
    fsc = body(http, admin, f"{REPORTS}/learners", course="FSC-MMG-PLS")
    assert {r["codice_fiscale"]: (r["status"], r["hours_attended"]) for r in fsc["rows"]} == {
        make_cf(2): ("not_started", 0.0), make_cf(3): ("not_started", 0.0), make_cf(5): ("in_progress", 4.0)}
    for params in ({"status": "dozing"}, {"cluster": 4}, {"per_page": 501}, {"page": 0}):
        assert get(http, admin, f"{REPORTS}/learners", **params).status_code == 400


def test_learners_trust_office_sees_only_its_trust(http, centro, world):
    listed = body(http, centro, f"{REPORTS}/learners")
    assert {r["trust"] for r in listed["rows"]} == {"USL-TC"} and listed["total"] == 3
    assert body(http, centro, f"{REPORTS}/learners", status="completed", trust="USL-TC")["total"] == 1
    assert get(http, centro, f"{REPORTS}/learners", trust="AOU-CAREGGI").status_code == 403
    for fmt, rows_of in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        rows = rows_of(get(http, centro, f"{REPORTS}/learners", format=fmt))
        text = json.dumps(rows, default=str)
        assert len(rows) == 4 and make_cf(4) not in text and "CAREGGI" not in text and make_cf(1) in text


def test_learner_progress(http, admin, world):
    progress = body(http, admin, f"/api/v1/learners/{make_cf(4)}/progress")
    assert progress["status"] == "test_failed" and progress["course"] == "FAD-FSE"
    assert progress["assessment"]["scores"]["accesso"] == 100.0 and progress["assessment"]["levels"]["m01"] == "avanzato"
    assert [m["code"] for m in progress["modules"]] == [f"m0{n}" for n in range(1, 9)]
    assert progress["modules"][0]["level"] == "base" and progress["modules"][0]["seconds"] == 26 * 60
    assert progress["modules_completed"] == 8 and progress["seconds"] == 8 * 26 * 60
    assert [(a["number"], a["percent"], a["passed"]) for a in progress["final_test"]["attempts"]] == [
        (1, 10.0, False), (2, 20.0, False)]
    assert progress["final_test"]["attempts"][0]["at"].endswith("Z")
    assert progress["final_test"]["max_attempts"] == 5 and progress["questionnaire"]["submitted_at"]
    assessed = body(http, admin, f"/api/v1/learners/{make_cf(3)}/progress")
    assert assessed["status"] == "assessed" and assessed["modules"][0]["level"] == "base"
    assert assessed["modules"][2]["level"] == "avanzato" and assessed["modules"][2]["launched_at"] is None
    idle = body(http, admin, f"/api/v1/learners/{make_cf(6)}/progress")
    assert idle["status"] == "not_started" and idle["assessment"] is None and idle["final_test"]["attempts"] == []
    fsc = body(http, admin, f"/api/v1/learners/{make_cf(5)}/progress", course="FSC-MMG-PLS")
    assert fsc["status"] == "in_progress" and fsc["hours_attended"] == 4.0 and fsc["hours"] == 5.0
    assert [s["attended_at"] is not None for s in fsc["sessions"]] == [True, True, False]
    assert get(http, admin, f"/api/v1/learners/{make_cf(5)}/progress", course="NOPE").status_code == 400
    assert get(http, admin, f"/api/v1/learners/{make_cf(77)}/progress").status_code == 404


def test_learner_progress_trust_office_sees_only_its_trust(http, centro, world):
    assert body(http, centro, f"/api/v1/learners/{make_cf(1)}/progress")["status"] == "completed"
    response = get(http, centro, f"/api/v1/learners/{make_cf(5)}/progress")
    assert response.status_code == 404


# --- unmatched -------------------------------------------------------------------------------------

def test_unmatched_agents(http, admin, auth, world):
    report = body(http, admin, f"{REPORTS}/unmatched")
    assert report["total"] == 1 and report["rows"][0]["agent"].endswith("|1099")
    assert report["rows"][0]["statements"] > 20 and report["rows"][0]["first"].endswith("Z")
    regional = auth("training-office", regional=True)
    assert body(http, regional, f"{REPORTS}/unmatched")["total"] == 1
    rows = csv_rows(get(http, regional, f"{REPORTS}/unmatched", format="csv"))
    assert rows[0] == ["Agente", "Dichiarazioni", "Prima", "Ultima"] and len(rows) == 2


def test_unmatched_trust_office_is_refused(http, centro, world):
    response = get(http, centro, f"{REPORTS}/unmatched")
    assert response.status_code == 403 and response.get_json()["errors"][0]["field"] == "Authorization"
    assert get(http, centro, f"{REPORTS}/unmatched", format="csv").status_code == 403


# --- files and access ------------------------------------------------------------------------------

def test_csv_is_for_italian_excel(http, admin, world):
    response = get(http, admin, f"{REPORTS}/completions", group_by="trust", format="csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="completamenti-trust-FAD-FSE.csv"'
    rows = csv_rows(response)
    assert rows[0] == ["Azienda", "Descrizione", "Discenti", "Valutati", "In corso", "Completati",
                       "Tasso di completamento"]
    assert rows[1] == ["AOU-CAREGGI", "Azienda Ospedaliero-Universitaria Careggi", "3", "2", "1", "1", "0,3333"]
    assert rows[-1] == ["", "Totale", "7", "4", "1", "2", "0,2857"]
    english = csv_rows(get(http, admin, f"{REPORTS}/completions", group_by="trust", format="csv", lang="en"))
    assert english[0][:3] == ["Trust", "Description", "Learners"] and english[1][-1] == "0.3333"
    accepted = http.get(f"{REPORTS}/completions?group_by=cluster&format=csv",
                        headers={**admin, "Accept-Language": "en-GB,en;q=0.8"})
    assert csv_rows(accepted)[0][0] == "Cluster" and csv_rows(accepted)[-1][1] == "Total"
    assert "completions-cluster" in accepted.headers["Content-Disposition"]


def test_xlsx_and_formula_cells_are_neutralised(http, admin, world):
    response = get(http, admin, f"{REPORTS}/learners", format="xlsx", trust="USL-TC", status="completed")
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="discenti-FAD-FSE-completed-USL-TC.xlsx"'
    rows = xlsx_rows(response)
    assert rows[0][:3] == ["Codice fiscale", "Cognome", "Nome"]
    assert rows[1][0] == make_cf(1) and rows[1][1] == "'=HYPERLINK(\"http://x\")"
    assert rows[1][8] == "completato" and rows[1][10] == 8
    text = csv_rows(get(http, admin, f"{REPORTS}/learners", format="csv", status="completed"))
    assert [r[1] for r in text if r[0] == make_cf(1)] == ["'=HYPERLINK(\"http://x\")"]
    workbook = xlsx_rows(get(http, admin, f"{REPORTS}/assessments", group_by="cluster", format="xlsx"))
    assert workbook[0][:4] == ["Cluster", "Descrizione", "Obiettivo", "Valutati"] and workbook[0][-1] == "Punteggio 90-100"
    targets = xlsx_rows(get(http, admin, f"{REPORTS}/targets", format="xlsx"))
    assert targets[1][:6] == ["FAD-FSE", FAD.title, None, "Tutte le aziende", 60000, 7]
    assert targets[-3][1].startswith("MMG/PLS che hanno completato il corso FAD")


@pytest.mark.parametrize("path", [f"{REPORTS}/completions?group_by=trust", f"{REPORTS}/assessments?group_by=trust",
                                  f"{REPORTS}/targets", f"{REPORTS}/learners", f"{REPORTS}/unmatched",
                                  f"/api/v1/learners/{make_cf(1)}/progress"])
def test_who_may_read_reports(http, auth, path):
    assert http.get(path).status_code == 401
    for role in ("ecm-provider", "fad-platform", None):
        response = http.get(path, headers=auth(role))
        assert response.status_code == 403, role
        assert response.get_json()["errors"][0]["field"] == "Authorization"
    assert http.get(path, headers=auth("training-office", regional=True)).status_code in (200, 404)
