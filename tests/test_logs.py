"""The whole log of a real ``fse-fad serve``, at debug level, through a realistic day: clients and
tokens, Moodle and content statements whose actors, names and extensions carry codici fiscali and
e-mail addresses, rosters (good and bad), learner look-ups by codice fiscale, a launch token, failed
logins until the throttle answers 429. Not one codice fiscale, e-mail address, secret, token or
Basic credential may appear in it; the requests themselves must (JSON lines with a request id)."""
from __future__ import annotations

import base64
import json
import logging
import sys
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fse_fad.logs import (AUTH_RE, CODICE_FISCALE_RE, EMAIL_RE, JWT_RE, SECRET_FIELD_RE, JsonFormatter, needs_masking,
                          redact)
from tests.courses_support import MOODLE_WWWROOT, csv_bytes, make_cf, moodle_mapping_file, row, upload_roster
from tests.load import Connection
from tests.server import ServerProcess

pytestmark = pytest.mark.slow

# Codici fiscali that are no learner's: they appear only in statements and requests.
STRANGERS = ["RSSMRA85T10A562S", "BNCLRA90A41D612X", "VRDGPP80A01H50LQ"]
EMAIL = "mario.rossi@usl.toscana.it"


def _basic(key: str, secret: str) -> str:
    return base64.b64encode(f"{key}:{secret}".encode()).decode()


def _statement(actor: dict, codice_fiscale: str) -> dict:
    return {"actor": actor, "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
            "object": {"id": "https://fad.example.toscana.it/mod/scorm/view.php?id=41",
                       "definition": {"name": {"it": f"Modulo di {codice_fiscale}"}}},
            "context": {"extensions": {"https://fse-fad.test/ext/codice-fiscale": codice_fiscale}},
            "result": {"response": f"{codice_fiscale} {EMAIL}"}}


def test_the_server_log_holds_no_personal_data_or_credentials(engine, database_url, tmp_path):
    mapping = moodle_mapping_file(tmp_path / "moodle.json")
    server = ServerProcess(database_url, tmp_path, workers=1,
                           env={"FSE_FAD_MOODLE_MAPPING": mapping, "FSE_FAD_LOG_LEVEL": "debug"})
    try:
        writer_key, writer_secret = server.create_client("moodle", "--scope", "all")
        admin_key, admin_secret = server.create_client("office", "--role", "admin")
        platform_key, platform_secret = server.create_client("platform", "--role", "fad-platform", "--scope", "state",
                                                             "--scope", "statements/write")
        writer = Connection(server.url, writer_key, writer_secret)
        admin = Connection(server.url, admin_key, admin_secret)
        platform = Connection(server.url, platform_key, platform_secret)

        status, _headers, body = writer.exchange("POST", "/api/v1/auth/token", b"{}")
        assert status == 200
        token = json.loads(body)["access_token"]
        bearer = Connection(server.url, writer_key, writer_secret)
        bearer.headers["Authorization"] = f"Bearer {token}"

        actors = [{"mbox": f"mailto:{EMAIL}", "name": f"Mario Rossi {STRANGERS[0]}"},
                  {"account": {"homePage": MOODLE_WWWROOT, "name": STRANGERS[1]}},
                  {"account": {"homePage": MOODLE_WWWROOT, "name": "1001"}, "name": STRANGERS[2].lower()}]
        batch = [_statement(actor, cf) for actor, cf in zip(actors, STRANGERS)]
        assert bearer.request("POST", "/xapi/statements", batch)[0] == 200
        invalid = [{**batch[0], "actor": {"mbox": f"{STRANGERS[0]}@usl.toscana.it"}}]
        assert writer.request("POST", "/xapi/statements", invalid)[0] == 400
        query = urlencode({"agent": json.dumps(actors[0]), "activityId": "https://fse-fad.test/a",
                           "stateId": STRANGERS[0]})
        assert writer.exchange("PUT", f"/xapi/activities/state?{query}", b'{"cf": "%s"}' % STRANGERS[1].encode(),
                               {"Content-Type": "application/json"})[0] == 204
        assert writer.exchange("GET", "/xapi/statements?" + urlencode({"agent": json.dumps(actors[1])}),
                               headers={"X-Request-ID": STRANGERS[1]})[0] == 200

        learners = list(range(1, 6))
        status, report = upload_roster(admin, learners)
        assert status == 200 and report["created"] == 5
        status, report = upload_roster(admin, [7, 8])  # fine; now a roster with a bad codice fiscale
        bad = csv_bytes([row(9, codice_fiscale=make_cf(9)[:-1] + "Z")])
        status, _headers, _body = admin.exchange("POST", "/api/v1/learners/import?" + urlencode(
            {"moodle_site": MOODLE_WWWROOT}), bad, {"Content-Type": "text/csv"})
        assert status == 400
        assert admin.exchange("GET", f"/api/v1/learners/{make_cf(1)}")[0] == 200
        assert admin.exchange("GET", f"/api/v1/learners/{STRANGERS[0]}")[0] == 404
        assert admin.exchange("GET", f"/api/v1/learners/{make_cf(2).lower()}/progress")[0] == 200

        status, _headers, body = platform.exchange("POST", "/api/v1/launch", json.dumps(
            {"actor": {"account": {"homePage": MOODLE_WWWROOT, "name": make_cf(3)}}}).encode())
        assert status == 200
        launch_token = json.loads(body)["auth"].split()[1]

        guesser = Connection(server.url, writer_key, "guessed-" + writer_secret[:10])
        statuses = [guesser.request("GET", "/xapi/statements")[0] for _ in range(22)]
        assert statuses[0] == 401 and statuses[-1] == 429
    finally:
        server.stop()

    log = (tmp_path / f"server-{server.port}.log").read_text(encoding="utf-8")
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [e for e in entries if e.get("logger") == "fse_fad.access"]
    assert len(requests) >= 35 and all(e["request_id"] for e in requests)
    assert {401, 429, 400, 404, 200, 204} <= {e["status"] for e in requests}

    forbidden = {
        "codice fiscale": STRANGERS + [make_cf(n) for n in (*learners, 7, 8, 9)],
        "e-mail": [EMAIL, "learner1@example.it"],
        "secret": [writer_secret, admin_secret, platform_secret],
        "Basic credentials": [_basic(k, s) for k, s in ((writer_key, writer_secret), (admin_key, admin_secret),
                                                          (platform_key, platform_secret))],
        "token": [token, launch_token, token.split(".")[1], launch_token.split(".")[2]],
    }
    assert not [line for line in log.splitlines() if line.startswith("[")], "a log line that is not JSON"
    lowered = log.lower()
    for kind, values in forbidden.items():
        for value in values:
            assert value.lower() not in lowered, f"a {kind} is in the server log"


@pytest.mark.parametrize("text, hidden", [
    ("learner RSSMRA85T10A562S enrolled", "RSSMRA85T10A562S"),
    ("learner rssmra85t10a562s enrolled", "rssmra85t10a562s"),
    ("omocodia RSSMRA85TMLA562S", "RSSMRA85TMLA562S"),
    ("/xapi/agents?agent=mario.rossi%40asl.toscana.it", "mario.rossi%40asl.toscana.it"),
    ("mailto:mario.rossi@asl.toscana.it", "mario.rossi@asl.toscana.it"),
    ("Authorization: Basic a2V5OnNlY3JldA==", "a2V5OnNlY3JldA=="),
    ("Authorization: BEARER abc.def.ghi", "abc.def.ghi"),
    ("token eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"),
    ('{"secret": "s3cr3t-value"}', "s3cr3t-value"),
])
def test_every_kind_of_personal_data_and_secret_is_masked(text, hidden):
    assert hidden not in redact(text)


@pytest.mark.parametrize("text", ["request", "/xapi/statements", "POST", "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"])
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def _mask_always(text: str) -> str:
    """redact() without its quick test: every pattern applied."""
    text = JWT_RE.sub("[token]", text)
    text = AUTH_RE.sub(r"\1 [credentials]", text)
    text = SECRET_FIELD_RE.sub(r'\1"[secret]"', text)
    text = CODICE_FISCALE_RE.sub("[codice fiscale]", text)
    return EMAIL_RE.sub("[email]", text)


_FRAGMENTS = ["RSSMRA85T10A562S", "rssmra85tmla562s", "BASIC ", "bearer\t", "Token", "access_token", "SECRET",
              "passWord", "eyJ", "@", "%40", "mailto:", "/xapi/statements", ":", "=", '"', " ", "\0", ".", "-",
              "ſ", "ı", "İ", "K", "baſic ", "ſecret=", "paſſword:", "tokın", "a2V5OnNlY3JldA==", "é", "x"]


@given(st.lists(st.sampled_from(_FRAGMENTS) | st.text(max_size=6), max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
def test_the_quick_test_never_lets_through_what_a_pattern_masks(text):
    assert redact(text) == _mask_always(text)


@pytest.mark.parametrize("text", ["baſic a2V5OnNlY3JldA==", "ſecret=abc", "the TOKEN: abc", "RSSMRA85T10A562S",
                                  "x%40y.it", "eyJa.b.c"])
def test_texts_the_quick_test_sends_on_to_the_patterns(text):
    assert needs_masking(text) and redact(text) != text


def test_a_log_line_masks_each_field_and_keeps_the_others():
    record = logging.LogRecord("fse_fad.access", logging.INFO, "", 0, "request", (), None)
    record.__dict__.update(request_id="RSSMRA85T10A562S", method="GET", path=f"/api/v1/learners/{STRANGERS[1]}",
                           status=404, duration_ms=1.25, client="9f2a9c0d4e5b6a7f")
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == "[codice fiscale]" and entry["path"] == "/api/v1/learners/[codice fiscale]"
    assert entry["method"] == "GET" and entry["client"] == "9f2a9c0d4e5b6a7f" and entry["status"] == 404
    assert entry["duration_ms"] == 1.25 and entry["message"] == "request" and entry["logger"] == "fse_fad.access"
    assert entry["level"] == "info" and entry["time"].endswith("Z")

    plain = logging.LogRecord("fse_fad.access", logging.INFO, "", 0, "request", (), None)
    plain.__dict__.update(request_id="3f2a9c0d", method="POST", path="/xapi/statements", status=200,
                          duration_ms=3.5, client=None)
    entry = json.loads(JsonFormatter().format(plain))
    assert {k: entry[k] for k in ("request_id", "method", "path", "status", "duration_ms")} == {
        "request_id": "3f2a9c0d", "method": "POST", "path": "/xapi/statements", "status": 200, "duration_ms": 3.5}
    assert "client" not in entry


def test_a_log_line_masks_what_an_exception_holds():
    try:
        raise ValueError(f"learner {STRANGERS[0]} with {EMAIL}")
    except ValueError:
        record = logging.LogRecord("fse_fad", logging.ERROR, "", 0, "failed for %s", (EMAIL,), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert EMAIL not in json.dumps(entry) and STRANGERS[0] not in entry["exception"]
    assert entry["message"] == "failed for [email]" and "ValueError" in entry["exception"]
