"""The statements resource, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

from sqlalchemy import event

from tests.conftest import XAPI_HEADERS, basic_auth
from tests.xapi_data import MOODLE, VERB_ATTEMPTED, VERB_COMPLETED, VERB_VOIDED, moodle_actor, quiz_result, statement


def post(http, headers, body):
    return http.post("/xapi/statements", headers=headers, data=json.dumps(body), content_type="application/json")


def get(http, headers, **params):
    return http.get("/xapi/statements?" + urlencode(params), headers=headers)


def test_post_batch_answers_200_with_ids_in_order_and_stores_them(http, xapi):
    batch = [statement(user_id=i) for i in range(30)]
    response = post(http, xapi, batch)
    assert response.status_code == 200
    ids = response.get_json()
    assert len(ids) == 30 and len(set(ids)) == 30
    for sent_id, sent in zip(ids, batch):
        stored = get(http, xapi, statementId=sent_id).get_json()
        assert stored["actor"] == sent["actor"]
        assert stored["authority"]["account"]["homePage"] == "http://lrs.test/clients"
        assert stored["version"] == "1.0.0"
        assert stored["timestamp"] == sent["timestamp"]


def test_batch_with_one_bad_statement_stores_nothing_and_names_the_field(http, xapi):
    batch = [statement(user_id=1), statement(user_id=2)]
    batch[1]["actor"] = {"mbox": "not-an-email"}
    response = post(http, xapi, batch)
    assert response.status_code == 400
    body = response.get_json()
    assert body["errors"][0]["field"] == "statement[1].actor.mbox"
    assert "mailto" in body["errors"][0]["rule"]
    assert get(http, xapi).get_json()["statements"] == []


def test_put_then_conflicting_put_is_409_and_identical_put_is_204(http, xapi):
    statement_id = str(uuid.uuid4())
    body = statement()
    url = f"/xapi/statements?statementId={statement_id}"
    assert http.put(url, headers=xapi, json=body).status_code == 204
    assert http.put(url, headers=xapi, json=body).status_code == 204
    changed = statement(verb=VERB_ATTEMPTED)
    response = http.put(url, headers=xapi, json=changed)
    assert response.status_code == 409
    assert get(http, xapi, statementId=statement_id).get_json()["verb"]["id"] == VERB_COMPLETED


def test_duplicate_ids_within_one_request_are_refused(http, xapi):
    statement_id = str(uuid.uuid4())
    response = post(http, xapi, [statement(id=statement_id), statement(id=statement_id)])
    assert response.status_code == 400
    assert response.get_json()["errors"][0]["field"] == "statement[1].id"


def test_filters_agent_verb_activity_registration(http, xapi):
    registration = str(uuid.uuid4())
    activity = f"{MOODLE}/mod/quiz/view.php?id=9"
    target = statement(user_id=5, verb=VERB_COMPLETED, activity=activity, registration=registration)
    post(http, xapi, [target, statement(user_id=5, verb=VERB_ATTEMPTED, activity=activity),
                      statement(user_id=6, verb=VERB_COMPLETED, activity=activity),
                      statement(user_id=5, verb=VERB_COMPLETED)])
    found = get(http, xapi, agent=json.dumps(moodle_actor(5)), verb=VERB_COMPLETED, activity=activity)
    statements = found.get_json()["statements"]
    assert [s["context"]["registration"] for s in statements] == [registration]
    by_registration = get(http, xapi, registration=registration).get_json()["statements"]
    assert len(by_registration) == 1
    # The course is a context activity: found only with related_activities.
    course = "https://fad.example.toscana.it/course/view.php?id=12"
    assert get(http, xapi, activity=course).get_json()["statements"] == []
    assert len(get(http, xapi, activity=course, related_activities="true").get_json()["statements"]) == 4


def test_paging_with_more_is_stable_while_statements_arrive(http, xapi):
    ids = [post(http, xapi, [statement(user_id=i)]).get_json()[0] for i in range(7)]
    page = get(http, xapi, limit=3).get_json()
    seen = [s["id"] for s in page["statements"]]
    post(http, xapi, [statement(user_id=99)])  # arrives between pages
    while page["more"]:
        page = http.get(page["more"], headers=xapi).get_json()
        seen.extend(s["id"] for s in page["statements"])
    assert seen == list(reversed(ids))


def test_ascending_and_since_until(http, xapi):
    first = post(http, xapi, [statement(user_id=1)]).get_json()[0]
    stored_first = get(http, xapi, statementId=first).get_json()["stored"]
    second = post(http, xapi, [statement(user_id=2)]).get_json()[0]
    ascending = get(http, xapi, ascending="true").get_json()["statements"]
    assert [s["id"] for s in ascending] == [first, second]
    since = get(http, xapi, since=stored_first).get_json()["statements"]
    assert [s["id"] for s in since] == [second]
    until = get(http, xapi, until=stored_first).get_json()["statements"]
    assert [s["id"] for s in until] == [first]


def test_voiding_hides_the_statement_and_keeps_it_by_voided_id(http, xapi):
    target = post(http, xapi, [statement(user_id=3)]).get_json()[0]
    voiding = {"actor": moodle_actor(1), "verb": {"id": VERB_VOIDED},
               "object": {"objectType": "StatementRef", "id": target}}
    assert post(http, xapi, [voiding]).status_code == 200
    assert get(http, xapi, statementId=target).status_code == 404
    assert get(http, xapi, voidedStatementId=target).get_json()["id"] == target
    listed = [s["id"] for s in get(http, xapi).get_json()["statements"]]
    assert target not in listed and len(listed) == 1


def test_voiding_that_arrives_before_its_target_still_voids_it(http, xapi):
    target_id = str(uuid.uuid4())
    voiding = {"actor": moodle_actor(1), "verb": {"id": VERB_VOIDED},
               "object": {"objectType": "StatementRef", "id": target_id}}
    post(http, xapi, [voiding])
    post(http, xapi, [statement(id=target_id)])
    assert get(http, xapi, statementId=target_id).status_code == 404
    assert get(http, xapi, voidedStatementId=target_id).status_code == 200


def test_statement_ref_answers_to_its_targets_filters(http, xapi):
    target = post(http, xapi, [statement(user_id=8)]).get_json()[0]
    referring = post(http, xapi, [{"actor": moodle_actor(9), "verb": {"id": "http://example.org/verbs/commented"},
                                   "object": {"objectType": "StatementRef", "id": target}}]).get_json()[0]
    found = [s["id"] for s in get(http, xapi, agent=json.dumps(moodle_actor(8))).get_json()["statements"]]
    assert found == [referring, target]


def test_formats_ids_and_canonical(http, xapi):
    statement_id = post(http, xapi, [statement()]).get_json()[0]
    ids = get(http, xapi, statementId=statement_id, format="ids").get_json()
    assert ids["object"] == {"id": f"{MOODLE}/mod/scorm/view.php?id=41"}
    assert "name" not in ids["actor"]
    canonical = http.get(f"/xapi/statements?statementId={statement_id}&format=canonical",
                         headers={**xapi, "Accept-Language": "en"}).get_json()
    assert canonical["verb"]["display"] == {"en": "completed"}
    assert canonical["object"]["definition"]["name"] == {"en": "Module 1"}


def test_moodle_scaled_score_is_kept_as_sent(http, xapi):
    body = statement(verb=VERB_COMPLETED, result=quiz_result(50))
    statement_id = post(http, xapi, [body]).get_json()[0]
    assert get(http, xapi, statementId=statement_id).get_json()["result"]["score"]["scaled"] == 0.0


def test_headers_version_consistency_and_last_modified(http, xapi):
    post(http, xapi, [statement()])
    response = get(http, xapi)
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    assert response.headers["X-Experience-API-Consistent-Through"].endswith("Z")
    assert response.headers["Last-Modified"].endswith("GMT")
    missing_version = http.get("/xapi/statements", headers={k: v for k, v in xapi.items()
                                                            if k != "X-Experience-API-Version"})
    assert missing_version.status_code == 400
    assert missing_version.get_json()["errors"][0]["field"] == "X-Experience-API-Version"


def test_unknown_parameter_and_bad_values_are_named(http, xapi):
    response = get(http, xapi, colour="red")
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "colour"
    response = get(http, xapi, since="yesterday")
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "since"
    response = get(http, xapi, agent="{not json")
    assert response.status_code == 400 and response.get_json()["errors"][0]["field"] == "agent"


def test_request_over_the_size_limit_is_413(app, http, xapi):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = http.post("/xapi/statements", headers=xapi, data=b"[" + b" " * limit + b"]",
                         content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["errors"][0]["field"] == "body"


def test_too_many_statements_in_one_request_is_413(app, http, xapi):
    limit = app.extensions["fse_fad"].config.max_statements_per_request
    response = post(http, xapi, [statement(user_id=i) for i in range(limit + 1)])
    assert response.status_code == 413
    assert get(http, xapi).get_json()["statements"] == []


def test_read_mine_sees_only_its_own_statements(http, xapi, make_client):
    key, secret = make_client("moodle", ["statements/write", "statements/read/mine"])
    own = {**XAPI_HEADERS, **basic_auth(key, secret)}
    mine = post(http, own, [statement(user_id=1)]).get_json()[0]
    other = post(http, xapi, [statement(user_id=2)]).get_json()[0]
    assert [s["id"] for s in get(http, own).get_json()["statements"]] == [mine]
    assert get(http, own, statementId=other).status_code == 404


def test_attachments_multipart_round_trip(http, xapi):
    import hashlib

    content = "attestato di partecipazione".encode()
    sha2 = hashlib.sha256(content).hexdigest()
    body = statement()
    body["attachments"] = [{"usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
                            "display": {"it": "Attestato"}, "contentType": "text/plain",
                            "length": len(content), "sha2": sha2}]
    boundary = "frontier"
    payload = (f"--{boundary}\r\nContent-Type: application/json\r\n\r\n{json.dumps(body)}\r\n"
               f"--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n"
               f"X-Experience-API-Hash: {sha2}\r\n\r\n").encode() + content + f"\r\n--{boundary}--".encode()
    response = http.post("/xapi/statements", headers=xapi, data=payload,
                         content_type=f"multipart/mixed; boundary={boundary}")
    assert response.status_code == 200, response.get_json()
    statement_id = response.get_json()[0]
    fetched = get(http, xapi, statementId=statement_id, attachments="true")
    assert fetched.content_type.startswith("multipart/mixed")
    assert content in fetched.data and sha2.encode() in fetched.data

    wrong = payload.replace(content, b"altro contenuto!!!!!!!!!!!")
    response = http.post("/xapi/statements", headers=xapi, data=wrong,
                         content_type=f"multipart/mixed; boundary={boundary}")
    assert response.status_code == 400


def test_alternate_request_syntax(http, xapi):
    statement_id = str(uuid.uuid4())
    form = {"Authorization": xapi["Authorization"], "X-Experience-API-Version": "1.0.3",
            "Content-Type": "application/json", "statementId": statement_id, "content": json.dumps(statement())}
    response = http.post("/xapi/statements?method=PUT", data=urlencode(form),
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 204
    assert get(http, xapi, statementId=statement_id).status_code == 200


def test_cors_preflight_needs_no_credentials(http):
    response = http.options("/xapi/statements", headers={"Origin": "https://fad.example.toscana.it",
                                                        "Access-Control-Request-Method": "POST"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-Experience-API-Version" in response.headers["Access-Control-Allow-Headers"]


def test_activity_definition_becomes_canonical(http, xapi):
    post(http, xapi, [statement()])
    response = http.get("/xapi/activities?" + urlencode({"activityId": f"{MOODLE}/mod/scorm/view.php?id=41"}),
                        headers=xapi)
    assert response.get_json()["definition"]["name"] == {"it": "Modulo 1", "en": "Module 1"}


def test_listeners_run_in_the_storing_transaction(app, http, xapi):
    calls = []

    def listener(session, visible, voided):
        calls.append(([s["id"] for s in visible], set(voided)))
        if any(s["verb"]["id"] == VERB_ATTEMPTED for s in visible):
            raise RuntimeError("a downstream failure")

    app.extensions["fse_fad"].statement_listeners.append(listener)
    target = post(http, xapi, [statement()]).get_json()[0]
    voiding = {"actor": moodle_actor(1), "verb": {"id": VERB_VOIDED}, "object": {"objectType": "StatementRef", "id": target}}
    voiding_id = post(http, xapi, [voiding]).get_json()[0]
    assert calls == [([target], set()), ([voiding_id], {target})]
    # A listener that fails rolls the statements back with it: nothing half-written.
    assert post(http, xapi, [statement(verb=VERB_ATTEMPTED)]).status_code == 500
    assert [s["id"] for s in get(http, xapi).get_json()["statements"]] == [voiding_id]


def _insert_modes(app) -> list[bool]:
    """For each insert of statements, in order: whether it ran as a transaction of its own."""
    engine = app.extensions["fse_fad"].engine
    modes: list[bool] = []

    def record(conn, _cursor, sql, _parameters, _context, _executemany):
        if "lrs_statements" in sql and sql.startswith(("WITH", "INSERT")):
            modes.append(engine.dialect.name == "postgresql" and conn.connection.driver_connection.autocommit)

    event.listen(engine, "before_cursor_execute", record)
    return modes


def test_a_batch_whose_whole_work_is_its_insert_commits_in_that_one_statement(app, http, xapi):
    postgres = app.extensions["fse_fad"].engine.dialect.name == "postgresql"
    modes = _insert_modes(app)
    stored = []
    for user_id in (1, 2, 3):  # new activities written; then only the insert (definitions read first, then known)
        stored += post(http, xapi, statement(user_id=user_id)).get_json()
    stored += post(http, xapi, [statement(user_id=4), statement(user_id=5)]).get_json()
    assert modes == [False, postgres, postgres, postgres]
    # What always needs its transaction: a client-chosen id, voiding, a StatementRef, a new activity,
    # a changed definition.
    chosen = str(uuid.uuid4())
    assert post(http, xapi, statement(user_id=6, id=chosen)).get_json() == [chosen]
    post(http, xapi, {"actor": moodle_actor(1), "verb": {"id": VERB_VOIDED},
                      "object": {"objectType": "StatementRef", "id": stored[0]}})
    post(http, xapi, {"actor": moodle_actor(1), "verb": {"id": VERB_ATTEMPTED},
                      "object": {"objectType": "StatementRef", "id": stored[1]}})
    post(http, xapi, statement(user_id=7, activity=f"{MOODLE}/mod/quiz/attempt.php?attempt=9"))
    renamed = statement(user_id=8)
    renamed["object"]["definition"]["name"]["it"] = "Modulo uno"
    post(http, xapi, renamed)
    assert modes[4:] == [False] * 5
    activity = http.get("/xapi/activities?" + urlencode({"activityId": f"{MOODLE}/mod/scorm/view.php?id=41"}),
                        headers=xapi).get_json()
    assert activity["definition"]["name"] == {"it": "Modulo uno", "en": "Module 1"}
    assert [s["id"] for s in get(http, xapi, agent=json.dumps(moodle_actor(3))).get_json()["statements"]] \
        == [stored[2]]
    for statement_id, user_id in zip(stored[1:], (2, 3, 4, 5)):
        found = get(http, xapi, statementId=statement_id).get_json()
        assert found["actor"] == moodle_actor(user_id) and found["authority"]["name"] == "xapi test"
    assert get(http, xapi, statementId=stored[0]).status_code == 404


def test_a_listener_without_work_is_not_called_and_one_with_work_shares_the_transaction(app, http, xapi):
    postgres = app.extensions["fse_fad"].engine.dialect.name == "postgresql"
    calls = []

    class Listener:
        def has_work(self, visible, voided):
            return bool(voided) or any(s["verb"]["id"] == VERB_ATTEMPTED for s in visible)

        def __call__(self, session, visible, voided):
            calls.append([s["actor"]["account"]["name"] for s in visible])
            if any(s["verb"]["id"] == VERB_ATTEMPTED for s in visible):
                raise RuntimeError("a downstream failure")

    app.extensions["fse_fad"].statement_listeners.append(Listener())
    modes = _insert_modes(app)
    for user_id in (1, 2, 3):
        post(http, xapi, statement(user_id=user_id))
    assert modes == [False, postgres, postgres]
    assert calls == [["1"]] + ([] if postgres else [["2"], ["3"]])
    # Work to do: called in the storing transaction, whose failure stores nothing.
    assert post(http, xapi, statement(user_id=4, verb=VERB_ATTEMPTED)).status_code == 500
    assert modes[3:] == [False] and calls[-1] == ["4"]
    assert get(http, xapi, agent=json.dumps(moodle_actor(4))).get_json()["statements"] == []
