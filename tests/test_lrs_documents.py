"""State, activity profile and agent profile documents, with their concurrency rules."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from tests.xapi_data import MOODLE, moodle_actor

ACTIVITY = f"{MOODLE}/mod/scorm/view.php?id=41"


def state_url(**extra):
    params = {"activityId": ACTIVITY, "agent": json.dumps(moodle_actor(7)), "stateId": "livelli", **extra}
    return "/xapi/activities/state?" + urlencode(params)


def test_state_put_get_merge_delete(http, xapi):
    assert http.put(state_url(), headers=xapi, json={"m01": "base"}).status_code == 204
    response = http.get(state_url(), headers=xapi)
    assert response.get_json() == {"m01": "base"}
    etag = response.headers["ETag"]
    assert etag.startswith('"') and response.headers["Last-Modified"].endswith("GMT")
    assert http.post(state_url(), headers=xapi, json={"m02": "avanzato"}).status_code == 204
    assert http.get(state_url(), headers=xapi).get_json() == {"m01": "base", "m02": "avanzato"}
    listing = http.get("/xapi/activities/state?" + urlencode({"activityId": ACTIVITY,
                                                                 "agent": json.dumps(moodle_actor(7))}), headers=xapi)
    assert listing.get_json() == ["livelli"]
    assert http.delete(state_url(), headers=xapi).status_code == 204
    assert http.get(state_url(), headers=xapi).status_code == 404


def test_state_is_kept_per_registration(http, xapi):
    first = "3f0c2c2e-1c1e-4b8f-9a57-5d2f0a6b7c01"
    second = "3f0c2c2e-1c1e-4b8f-9a57-5d2f0a6b7c02"
    http.put(state_url(registration=first), headers=xapi, json={"page": 3})
    http.put(state_url(registration=second), headers=xapi, json={"page": 9})
    assert http.get(state_url(registration=first), headers=xapi).get_json() == {"page": 3}
    assert http.get(state_url(), headers=xapi).status_code == 404


def test_merge_refuses_non_json(http, xapi):
    http.put(state_url(), headers=xapi, data=b"testo libero", content_type="text/plain")
    response = http.post(state_url(), headers=xapi, json={"a": 1})
    assert response.status_code == 400
    assert http.get(state_url(), headers=xapi).data == b"testo libero"


def profile_url(profile_id="preferenze"):
    return "/xapi/agents/profile?" + urlencode({"agent": json.dumps(moodle_actor(7)), "profileId": profile_id})


def test_profile_concurrency_if_match_if_none_match(http, xapi):
    # Creating needs If-None-Match: *; writing without a precondition is refused.
    assert http.put(profile_url(), headers=xapi, json={"lingua": "it"}).status_code == 400
    assert http.put(profile_url(), headers={**xapi, "If-None-Match": "*"}, json={"lingua": "it"}).status_code == 204
    etag = http.get(profile_url(), headers=xapi).headers["ETag"]
    assert http.put(profile_url(), headers=xapi, json={"lingua": "en"}).status_code == 409
    assert http.put(profile_url(), headers={**xapi, "If-None-Match": "*"}, json={"x": 1}).status_code == 412
    assert http.put(profile_url(), headers={**xapi, "If-Match": '"0000"'}, json={"x": 1}).status_code == 412
    assert http.put(profile_url(), headers={**xapi, "If-Match": etag}, json={"lingua": "en"}).status_code == 204
    assert http.get(profile_url(), headers=xapi).get_json() == {"lingua": "en"}
    assert http.delete(profile_url(), headers={**xapi, "If-Match": etag}).status_code == 412
    assert http.get(profile_url(), headers=xapi).status_code == 200


def test_activity_profile_and_missing_parameters(http, xapi):
    url = "/xapi/activities/profile?" + urlencode({"activityId": ACTIVITY, "profileId": "p"})
    assert http.put(url, headers={**xapi, "If-None-Match": "*"}, json={"a": 1}).status_code == 204
    assert http.get(url, headers=xapi).get_json() == {"a": 1}
    response = http.get("/xapi/activities/profile?profileId=p", headers=xapi)
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "activityId"


def test_document_size_limit(app, http, xapi):
    limit = app.extensions["fse_fad"].config.max_document_bytes
    response = http.put(state_url(), headers=xapi, data=b"x" * (limit + 1), content_type="text/plain")
    assert response.status_code == 413
    assert http.get(state_url(), headers=xapi).status_code == 404


def test_agents_resource_returns_a_person(http, xapi):
    response = http.get("/xapi/agents?" + urlencode({"agent": json.dumps(moodle_actor(7))}), headers=xapi)
    person = response.get_json()
    assert person["objectType"] == "Person"
    assert person["account"] == [moodle_actor(7)["account"]]
