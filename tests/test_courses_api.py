"""The /api/v1 endpoints of courses on SQLite and PostgreSQL: roles and trusts, catalogue, roster
import, learners, deactivation and GDPR erasure, initial assessment, adaptive path per cluster and
the levels State document read back through the xAPI State API."""
import io
import json

import pytest
from sqlalchemy import func, select

from courses.catalogue import default_catalogue
from courses.models import Assessment, Learner
from courses.operations import LEVELS_STATE_ID
from fse_fad.config import Config
from fse_fad.db import session_scope
from tests.conftest import XAPI_HEADERS, basic_auth
from tests.courses_support import MOODLE_WWWROOT, csv_bytes, make_cf, moodle_mapping_file, row, xlsx_bytes

FAD = default_catalogue().course("FAD-FSE")
COURSE_IRI = FAD.iri


@pytest.fixture
def config(database_url, tmp_path) -> Config:
    return Config(database_url=database_url, secret_key="test-secret-key-" + "x" * 32, public_url="http://lrs.test",
                  moodle_mapping=moodle_mapping_file(tmp_path / "moodle.json"))


@pytest.fixture
def auth(make_client):
    """Headers of an /api/v1 client: auth(role, trust_code=..., regional=...)."""

    def headers(role, **kwargs):
        key, secret = make_client(f"{role} client", [], role=role, **kwargs)
        return basic_auth(key, secret)

    return headers


@pytest.fixture
def admin(auth):
    return auth("admin")


@pytest.fixture
def platform(auth):
    return auth("fad-platform")


def upload(http, headers, content, filename="roster.csv", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return http.post(f"/api/v1/learners/import?{query}", headers=headers,
                     data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def answers(right_per_objective: dict[str, int]) -> dict[str, int]:
    """Answers with the given number of right answers per objective (the rest wrong)."""
    out, given = {}, {o: 0 for o in right_per_objective}
    for question in FAD.assessment["questions"]:
        objective = question["objective"]
        right = given[objective] < right_per_objective[objective]
        given[objective] += right
        out[question["id"]] = question["correct"] if right else (question["correct"] + 1) % 4
    return out


# --- catalogue ---------------------------------------------------------------------------------------

def test_courses(http, platform):
    response = http.get("/api/v1/courses", headers=platform)
    assert response.status_code == 200
    codes = [c["code"] for c in response.get_json()["courses"]]
    assert sorted(codes) == ["FAD-FSE", "FSC-MMG-PLS", "RES-APICALI", "RES-FORMATORI"]


def test_course_elements(http, platform):
    body = http.get("/api/v1/courses/FAD-FSE", headers=platform).get_json()
    elements = {e["key"]: e for e in body["elements"]}
    assert elements["m05/intermedio"] == {
        "key": "m05/intermedio", "iri": COURSE_IRI + "/m05/intermedio", "kind": "module-level",
        "type": "http://adlnet.gov/expapi/activities/lesson", "title": FAD.element("m05/intermedio").title,
        "objective": "personalizzazione", "module": 5, "level": "intermedio", "minutes": 30,
        "moodle_url": f"{MOODLE_WWWROOT}/mod/scorm/view.php?id=324"}
    assert elements["course"]["iri"] == COURSE_IRI and elements["course"]["minutes"] == 240
    assert "correct" not in json.dumps(body)  # the answers stay out of the API
    assert http.get("/api/v1/courses/fsc-mmg-pls", headers=platform).get_json()["elements"][1]["kind"] == "session"
    assert http.get("/api/v1/courses/NOPE", headers=platform).status_code == 404


# --- authentication, roles, trusts --------------------------------------------------------------------

def test_credentials_are_required(http):
    assert http.get("/api/v1/courses").status_code == 401


def test_roles(http, auth):
    roster = csv_bytes([row(1)])
    ecm = auth("ecm-provider")
    response = upload(http, ecm, roster)
    assert response.status_code == 403
    assert response.get_json()["errors"][0]["field"] == "Authorization"
    assert upload(http, auth("admin"), roster).status_code == 200
    assert http.get(f"/api/v1/learners/{make_cf(1)}", headers=ecm).status_code == 200
    assert http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=ecm,
                     json={"scores": {}}).status_code == 403
    no_role = auth(None)
    assert http.get("/api/v1/courses", headers=no_role).status_code == 403


def test_bearer_tokens(http, make_client):
    key, secret = make_client("platform", [], role="fad-platform")
    token = http.post("/api/v1/auth/token", headers=basic_auth(key, secret), json={}).get_json()["access_token"]
    response = http.get("/api/v1/courses", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert http.get("/api/v1/courses", headers={"Authorization": "Bearer not-a-token"}).status_code == 401


def test_training_offices_see_only_their_trust(http, admin, auth):
    assert upload(http, admin, csv_bytes([row(1), row(2, azienda="AOU-CAREGGI")])).status_code == 200
    centro = auth("training-office", trust_code="USL-TC")
    regional = auth("training-office", regional=True)
    assert http.get(f"/api/v1/learners/{make_cf(1)}", headers=centro).status_code == 200
    hidden = http.get(f"/api/v1/learners/{make_cf(2)}", headers=centro)
    assert hidden.status_code == 404
    assert http.get(f"/api/v1/learners/{make_cf(2)}", headers=regional).status_code == 200
    assert http.patch(f"/api/v1/learners/{make_cf(2)}", headers=centro, json={"active": False}).status_code == 404
    assert http.delete(f"/api/v1/learners/{make_cf(2)}", headers=centro).status_code == 404
    unbound = auth("training-office")
    assert http.get(f"/api/v1/learners/{make_cf(1)}", headers=unbound).status_code == 403


def test_training_office_import_is_limited_to_its_trust(http, auth):
    centro = auth("training-office", trust_code="USL-TC")
    response = upload(http, centro, csv_bytes([row(1), row(2, azienda="AOU-CAREGGI")]))
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["line"] == 3
    assert upload(http, centro, csv_bytes([row(1)])).get_json()["created"] == 1


# --- import and learners --------------------------------------------------------------------------

def test_import_reports_bad_rows_and_imports_nothing(http, admin, session_factory):
    content = csv_bytes([row(1), row(2, categoria="9.ix"), row(3, codice_fiscale="RSSMRA79B11C566X")], ",", "cp1252")
    response = upload(http, admin, content)
    assert response.status_code == 400
    body = response.get_json()
    assert body["errors"] == [
        {"line": 3, "column": "categoria", "reason": "unknown category '9.ix': a code such as 1.i, 2.x, 3.xiv or S",
         "field": "categoria", "rule": "unknown category '9.ix': a code such as 1.i, 2.x, 3.xiv or S"},
        {"line": 4, "column": "codice_fiscale", "reason": "wrong check character", "field": "codice_fiscale",
         "rule": "wrong check character"}]
    assert body["skipped"] == 2 and body["rows"] == 3
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Learner)) == 0
    response = upload(http, admin, content, skip_invalid="true")
    assert response.status_code == 200
    assert (response.get_json()["created"], response.get_json()["skipped"]) == (1, 2)


def test_import_raw_xlsx_body(http, admin):
    response = http.post("/api/v1/learners/import", headers=admin, data=xlsx_bytes([row(1), row(2)]),
                         content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert response.status_code == 200
    assert response.get_json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "skipped": 0, "errors": []}


def test_unknown_moodle_site(http, admin):
    response = upload(http, admin, csv_bytes([row(1)]), moodle_site="https://elsewhere.example.it")
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "moodle_site"


def test_get_learner(http, admin):
    upload(http, admin, csv_bytes([row(1, categoria="1.ii", professione="1", disciplina="60", rapporto="convenzionato")]))
    response = http.get(f"/api/v1/learners/{make_cf(1).lower()}", headers=admin)
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("codice_fiscale", "surname", "name", "email", "trust", "category", "cluster",
                                 "profession", "disciplines", "ecm_eligible", "employment", "active")} == {
        "codice_fiscale": make_cf(1), "surname": "RossiB", "name": "Niccolò", "email": "learner1@example.it",
        "trust": "USL-TC", "category": "1.ii", "cluster": 1, "profession": 1, "disciplines": [60],
        "ecm_eligible": True, "employment": "convenzionato", "active": True}
    assert {"objectType": "Agent", "account": {"homePage": MOODLE_WWWROOT, "name": "1001"}} in body["identities"]
    assert body["trust_history"][0]["trust"] == "USL-TC" and body["trust_history"][0]["until"] is None
    assert body["created_at"].endswith("Z")
    assert http.get("/api/v1/learners/RSSMRA79B11C566X", headers=admin).status_code == 400
    assert http.get("/api/v1/learners/RSSMRA79B11C566R", headers=admin).status_code == 404


def test_deactivate_and_reactivate(http, admin, platform):
    upload(http, admin, csv_bytes([row(1)]))
    response = http.patch(f"/api/v1/learners/{make_cf(1)}", headers=admin, json={"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
    assert response.get_json()["deactivated_at"] is not None
    refused = http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=platform,
                        json={"answers": answers({"accesso": 5, "integrazione": 5, "personalizzazione": 5, "policy": 5})})
    assert refused.status_code == 409
    assert http.patch(f"/api/v1/learners/{make_cf(1)}", headers=admin, json={"active": "no"}).status_code == 400
    response = http.patch(f"/api/v1/learners/{make_cf(1)}", headers=admin, json={"active": True})
    assert response.get_json()["active"] is True and response.get_json()["deactivated_at"] is None


# --- assessment, path, State document ------------------------------------------------------------------

def read_state(http, xapi, agent):
    return http.get("/xapi/activities/state", headers=xapi,
                    query_string={"activityId": COURSE_IRI, "agent": json.dumps(agent), "stateId": LEVELS_STATE_ID})


def test_path_needs_the_assessment_then_follows_it(http, admin, platform, xapi):
    upload(http, admin, csv_bytes([row(1)]))
    before = http.get(f"/api/v1/learners/{make_cf(1)}/path", headers=platform)
    assert before.status_code == 409
    assert before.get_json()["errors"][0] == {"field": "assessment",
                                              "rule": "the initial assessment comes before the path"}
    agent = {"account": {"homePage": MOODLE_WWWROOT, "name": "1001"}}
    assert read_state(http, xapi, agent).status_code == 404

    given = answers({"accesso": 5, "integrazione": 3, "personalizzazione": 1, "policy": 4})
    response = http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=platform, json={"answers": given})
    assert response.status_code == 201
    assert response.get_json()["scores"] == {"accesso": 100, "integrazione": 60, "personalizzazione": 20, "policy": 80}

    path = http.get(f"/api/v1/learners/{make_cf(1)}/path", headers=platform).get_json()
    assert [(m["code"], m["level"]) for m in path["modules"]] == [
        ("m01", "avanzato"), ("m02", "avanzato"), ("m03", "intermedio"), ("m04", "intermedio"),
        ("m05", "base"), ("m06", "base"), ("m07", "avanzato"), ("m08", "avanzato")]
    first = path["modules"][0]
    assert first["activity"]["iri"] == COURSE_IRI + "/m01/avanzato"
    assert first["activity"]["moodle_url"] == f"{MOODLE_WWWROOT}/mod/scorm/view.php?id=313"
    assert path["state"] == {"activityId": COURSE_IRI, "stateId": LEVELS_STATE_ID}

    # The same levels reach xAPI content through the State API, under every identity of the learner.
    for agent in (agent, {"mbox": "mailto:learner1@example.it"},
                  {"account": {"homePage": MOODLE_WWWROOT, "name": "user1"}}):
        state = read_state(http, xapi, agent)
        assert state.status_code == 200
        document = state.get_json()
        assert document["levels"]["m05"] == "base"
        assert document["modules"][COURSE_IRI + "/m01"] == {"level": "avanzato", "launch": COURSE_IRI + "/m01/avanzato"}

    # A retried POST changes nothing; another result is a conflict.
    again = http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=platform, json={"answers": given})
    assert again.status_code == 200
    other = http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=platform,
                      json={"scores": {"accesso": 0, "integrazione": 0, "personalizzazione": 0, "policy": 0}})
    assert other.status_code == 409


def test_levels_follow_a_change_of_identity(http, admin, platform, xapi):
    upload(http, admin, csv_bytes([row(1)]))
    http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=platform, json={"scores": SCORES})
    old = {"account": {"homePage": MOODLE_WWWROOT, "name": "1001"}}
    new = {"account": {"homePage": MOODLE_WWWROOT, "name": "9001"}}
    assert read_state(http, xapi, old).status_code == 200
    assert upload(http, admin, csv_bytes([row(1, moodle_id="9001")])).get_json()["updated"] == 1
    assert read_state(http, xapi, old).status_code == 404
    assert read_state(http, xapi, new).get_json()["levels"]["m07"] == "avanzato"


def test_incomplete_assessment_is_refused(http, admin, platform):
    upload(http, admin, csv_bytes([row(1)]))
    given = answers({"accesso": 5, "integrazione": 5, "personalizzazione": 5, "policy": 5})
    given.pop("vi-07")
    response = http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=platform, json={"answers": given})
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "answers.vi-07"
    response = http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=platform,
                         json={"scores": {"accesso": 10}})
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "scores.integrazione"


# The same result of the initial assessment gives each cluster its own path (path-rules.json).
SCORES = {"accesso": 40, "integrazione": 60, "personalizzazione": 20, "policy": 80}
PATHS = {
    # cluster 1: the default thresholds (40/80), lower ones (20/60) for integrazione and personalizzazione
    ("1.i", "1", "58"): ["intermedio", "intermedio", "avanzato", "avanzato", "intermedio", "intermedio", "avanzato", "avanzato"],
    # cluster 2: the default thresholds 40/80
    ("2.ix", "12", ""): ["intermedio", "intermedio", "intermedio", "intermedio", "base", "base", "avanzato", "avanzato"],
    # specialisation students are cluster 2
    ("S", "1", "113"): ["intermedio", "intermedio", "intermedio", "intermedio", "base", "base", "avanzato", "avanzato"],
    # cluster 3: 60/80, and 60/100 for integrazione
    ("3.iv", "", ""): ["base", "base", "intermedio", "intermedio", "base", "base", "avanzato", "avanzato"],
}


def test_path_rules_for_each_cluster(http, admin, platform, session_factory):
    rows = [row(n, categoria=c, professione=p, disciplina=d) for n, (c, p, d) in enumerate(PATHS, start=1)]
    assert upload(http, admin, csv_bytes(rows)).get_json()["created"] == 4
    for n, ((category, _p, _d), levels) in enumerate(PATHS.items(), start=1):
        response = http.post(f"/api/v1/learners/{make_cf(n)}/assessment", headers=platform, json={"scores": SCORES})
        assert response.status_code == 201
        path = http.get(f"/api/v1/learners/{make_cf(n)}/path", headers=platform).get_json()
        assert [m["level"] for m in path["modules"]] == levels, category
        assert path["cluster"] == {"1": 1, "2": 2, "S": 2, "3": 3}[category[0]]
    with session_scope(session_factory) as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 4


# --- GDPR erasure --------------------------------------------------------------------------------------

def test_erasure_keeps_the_counts_and_forgets_the_person(http, admin, platform, xapi, session_factory):
    upload(http, admin, csv_bytes([row(1), row(2)]))
    http.post(f"/api/v1/learners/{make_cf(1)}/assessment", headers=platform, json={"scores": SCORES})
    agent = {"account": {"homePage": MOODLE_WWWROOT, "name": "1001"}}
    assert read_state(http, xapi, agent).status_code == 200

    response = http.delete(f"/api/v1/learners/{make_cf(1)}", headers=admin)
    assert response.status_code == 200
    assert http.get(f"/api/v1/learners/{make_cf(1)}", headers=admin).status_code == 404
    assert read_state(http, xapi, agent).status_code == 404
    with session_scope(session_factory) as session:
        learners = session.scalars(select(Learner).order_by(Learner.id)).all()
        assert len(learners) == 2
        erased = learners[0]
        assert (erased.codice_fiscale, erased.surname, erased.name, erased.email) == (None, None, None, None)
        assert erased.erased_at is not None and erased.active is False
        assert (erased.trust_code, erased.cluster, erased.profession_code) == ("USL-TC", 2, 14)
        by_trust = session.scalar(select(func.count()).select_from(Learner).where(Learner.trust_code == "USL-TC"))
        assert by_trust == 2
        assessment = session.scalar(select(Assessment))
        assert assessment.learner_id == erased.id and assessment.levels["m07"] == "avanzato"
    # The identities are free again: a new roster row may use them.
    assert upload(http, admin, csv_bytes([row(3, moodle_id="1001")])).get_json()["created"] == 1
