"""POST /api/v1/launch: short-lived launch tokens for xAPI content, bound to one learner's actor
and to the course's activities, issued only to the FAD platform."""
from __future__ import annotations

import json
import uuid
from urllib.parse import parse_qs, urlencode

import jwt
import pytest

from scorm_packages.course import load_course
from tests.conftest import XAPI_HEADERS, basic_auth

COURSE = load_course()
LEARNER = {"objectType": "Agent", "account": {"homePage": "https://fad.example.org", "name": "1001"}}
OTHER = {"objectType": "Agent", "account": {"homePage": "https://fad.example.org", "name": "1002"}}


@pytest.fixture
def platform(make_client):
    key, secret = make_client("moodle", ["statements/write", "state"], role="fad-platform")
    return basic_auth(key, secret)


def _statement(actor: dict, activity: str) -> dict:
    return {"actor": actor, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"objectType": "Activity", "id": activity}}


def test_a_launch_token_writes_only_as_its_learner_about_its_course(http, platform):
    registration = str(uuid.uuid4())
    response = http.post("/api/v1/launch", headers=platform, json={
        "actor": {"account": LEARNER["account"]}, "registration": registration, "expires_in": 600,
        "activity_id": COURSE.iri_of("m03")})
    assert response.status_code == 200, response.get_json()
    launch = response.get_json()
    assert launch["endpoint"] == "http://lrs.test/xapi/"
    assert launch["registration"] == registration and launch["actor"] == LEARNER
    assert launch["expires_in"] == 600 and launch["scope"] == "state statements/write"
    query = parse_qs(launch["launch_query"])
    assert query["endpoint"] == [launch["endpoint"]] and query["auth"] == [launch["auth"]]
    assert json.loads(query["actor"][0]) == LEARNER and query["activity_id"] == [COURSE.iri_of("m03")]
    claims = jwt.decode(launch["auth"].split()[1], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600
    assert claims["act"] == LEARNER and claims["acts"] == [COURSE.iri + "/"]

    token = {**XAPI_HEADERS, "Authorization": launch["auth"]}
    assert http.post("/xapi/statements", headers=token, json=_statement(LEARNER, COURSE.iri_of("m03"))).status_code == 200
    assert http.post("/xapi/statements", headers=token, json=_statement(OTHER, COURSE.iri_of("m03"))).status_code == 403
    outside = http.post("/xapi/statements", headers=token, json=_statement(LEARNER, "https://example.org/other"))
    assert outside.status_code == 403
    near = http.post("/xapi/statements", headers=token, json=_statement(LEARNER, COURSE.iri + "-copy/m03"))
    assert near.status_code == 403

    state = {"activityId": COURSE.iri, "stateId": COURSE.levels_state_id}
    own = http.get("/xapi/activities/state?" + urlencode({**state, "agent": json.dumps(LEARNER)}), headers=token)
    assert own.status_code == 404  # allowed: no levels yet
    other = http.get("/xapi/activities/state?" + urlencode({**state, "agent": json.dumps(OTHER)}), headers=token)
    assert other.status_code == 403
    assert http.get("/xapi/statements", headers=token).status_code == 403  # it cannot read statements
    # the token carries the platform's client, but opens nothing of /api/v1
    again = http.post("/api/v1/launch", headers={"Authorization": launch["auth"]}, json={"actor": OTHER})
    assert again.status_code == 403
    for path in ("/api/v1/courses", "/api/v1/learners/RSSMRA80A01H501U", f"/api/v1/courses/{COURSE.code}"):
        refused = http.get(path, headers={"Authorization": launch["auth"]})
        assert refused.status_code == 403 and "xAPI resources only" in refused.get_json()["message"], path
    assert http.get("/api/v1/courses", headers=platform).status_code == 200


def test_defaults(http, platform):
    response = http.post("/api/v1/launch", headers=platform, json={"actor": LEARNER})
    assert response.status_code == 200
    launch = response.get_json()
    uuid.UUID(launch["registration"])
    assert launch["course"] == COURSE.code and launch["activity_prefix"] == COURSE.iri + "/"
    assert launch["expires_in"] == 3600 and "activity_id" not in parse_qs(launch["launch_query"])


@pytest.mark.parametrize("body, status, field", [
    ({}, 400, "actor"),
    ({"actor": {"objectType": "Group", "mbox": "mailto:team@example.org"}}, 400, "actor.objectType"),
    ({"actor": {"name": "Maria"}}, 400, "actor"),
    ({"actor": LEARNER, "course": "NESSUNO"}, 404, "course"),
    ({"actor": LEARNER, "registration": "not-a-uuid"}, 400, "registration"),
    ({"actor": LEARNER, "activity_id": "https://example.org/x"}, 400, "activity_id"),
    ({"actor": LEARNER, "expires_in": 10}, 400, "expires_in"),
    ({"actor": LEARNER, "expires_in": 10**6}, 400, "expires_in"),
    ({"actor": LEARNER, "scope": "all"}, 400, "scope"),
])
def test_bad_requests_name_the_field(http, platform, body, status, field):
    response = http.post("/api/v1/launch", headers=platform, json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["errors"][0]["field"] == field


def test_only_the_fad_platform_with_the_content_scopes(http, make_client):
    assert http.post("/api/v1/launch", json={"actor": LEARNER}).status_code == 401
    office = basic_auth(*make_client("office", ["statements/write", "state"], role="training-office", regional=True))
    assert http.post("/api/v1/launch", headers=office, json={"actor": LEARNER}).status_code == 403
    narrow = basic_auth(*make_client("narrow", ["statements/write"], role="fad-platform"))
    response = http.post("/api/v1/launch", headers=narrow, json={"actor": LEARNER})
    assert response.status_code == 403 and "state" in response.get_json()["errors"][0]["rule"]
