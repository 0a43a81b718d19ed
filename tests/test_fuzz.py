"""Hostile input on every endpoint: broken JSON, wrong types, huge strings and arrays, deep
nesting, invalid IRIs, language maps, UUIDs and timestamps, non-UTF-8, oversized and malformed
multipart, wrong content types, bad credentials. Every answer must be a clear 4xx (or a success
for what happens to be valid), never a 5xx, and a refused request must store nothing.
"""
from __future__ import annotations

import copy
import json
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from lrs.models import Document, Statement
from tests.conftest import basic_auth
from tests.xapi_data import statement

pytestmark = pytest.mark.slow

# Requests: 100,000 on SQLite, 10,000 on PostgreSQL (the same code paths, a slower round trip).
# Each generated example is sent twice: with valid credentials, and with bad ones.
REQUESTS = {"sqlite": int(os.environ.get("FSE_FAD_FUZZ_REQUESTS", "100000")),
            "postgresql": int(os.environ.get("FSE_FAD_FUZZ_REQUESTS_PG", "10000"))}

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "null", "true", "[]", "{}", "{", "not an iri", "http://", "mailto:", "urn:x",
                     "javascript:alert(1)", "../../etc/passwd", "%00", "\x00", "=cmd|' /C calc'!A0", "+1", "@SUM(1)",
                     "2026-13-45T25:61:61Z", "2026-10-05T09:30:00-00:00", "P1Y2W", "PT", "not-a-uuid",
                     "00000000-0000-0000-0000-000000000000", "RSSMRA85T10A562S", "rssmra85t10a562x",
                     "en-US-", "xx_YY", "☃" * 50, "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")]),
    st.integers(min_value=1, max_value=20_000).map(lambda n: "x" * n),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), HOSTILE_TEXT)
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(HOSTILE_TEXT, inner, max_size=6)), max_leaves=15)


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _mutated_statement(draw) -> object:
    base = statement()
    path_choices = [("actor",), ("actor", "account"), ("actor", "account", "homePage"), ("verb",), ("verb", "id"),
                    ("verb", "display"), ("object",), ("object", "id"), ("object", "definition"),
                    ("object", "definition", "name"), ("context",), ("context", "registration"),
                    ("context", "contextActivities"), ("timestamp",), ("result",), ("id",), ("version",),
                    ("object", "objectType"), ("context", "language"), ("attachments",), ("authority",)]
    path = draw(st.sampled_from(path_choices))
    target = base
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target
    if isinstance(target, dict):
        target[path[-1]] = draw(JSON_VALUES)
    if draw(st.booleans()):
        return [copy.deepcopy(base), base] if draw(st.booleans()) else [statement(), base]
    return base


@st.composite
def bodies(draw) -> tuple[bytes, str | None]:
    kind = draw(st.sampled_from(["json", "statement", "bytes", "deep", "huge-array", "multipart", "form", "empty"]))
    content_type = draw(st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain",
                                         "multipart/mixed; boundary=b", "multipart/mixed",
                                         "application/x-www-form-urlencoded", "multipart/form-data; boundary=b",
                                         "application/octet-stream", "garbage/", None]))
    if kind == "json":
        return json.dumps(draw(JSON_VALUES)).encode(), content_type
    if kind == "statement":
        return json.dumps(_mutated_statement(draw)).encode(), "application/json"
    if kind == "bytes":
        return draw(st.binary(max_size=300)) + b"\xff\xfe\xc3\x28", content_type
    if kind == "deep":
        return _deep(draw(st.sampled_from([100, 1_000, 10_000, 200_000]))), "application/json"
    if kind == "huge-array":
        return json.dumps([{"a": "b"}] * draw(st.integers(min_value=1_001, max_value=3_000))).encode(), "application/json"
    if kind == "multipart":
        parts = draw(st.lists(st.tuples(st.sampled_from(["application/json", "text/plain", ""]),
                                        st.one_of(st.sampled_from(["", "X-Experience-API-Hash: abc"]), HOSTILE_TEXT),
                                        st.binary(max_size=200)), max_size=4))
        body = b"".join(b"--b\r\nContent-Type: " + t.encode() + b"\r\n" + h.encode("utf-8", "replace")
                        + b"\r\n\r\n" + c + b"\r\n" for t, h, c in parts)
        if draw(st.booleans()):
            body += b"--b--"
        return body, "multipart/mixed; boundary=b"
    if kind == "form":
        return ("method=" + draw(st.sampled_from(["PUT", "GET", "DELETE", "TRACE", ""])) + "&content="
                + draw(HOSTILE_TEXT)).encode("utf-8", "replace"), "application/x-www-form-urlencoded"
    return b"", content_type


def _endpoints(app) -> list[tuple[str, str, list[str]]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, rule.rule, sorted(rule.arguments)))
    return sorted(out)


QUERY_NAMES = ["statementId", "voidedStatementId", "agent", "verb", "activity", "registration", "related_agents",
               "related_activities", "since", "until", "limit", "format", "attachments", "ascending", "activityId",
               "stateId", "profileId", "method", "course", "group_by", "from", "to", "status", "trust", "cluster",
               "page", "skip_invalid", "moodle_site", "lang", "edition", "flagged", "per_page"]


@st.composite
def requests(draw, endpoints):
    method, rule, arguments = draw(st.sampled_from(endpoints))
    path = rule
    for name in arguments:
        value = draw(st.one_of(HOSTILE_TEXT, st.sampled_from(["RSSMRA85T10A562S", "FAD-FSE", "x" * 3000])))
        path = path.replace(f"<{name}>", value.replace("/", "%2F").replace("?", "%3F").replace("#", "%23") or "x")
        path = path.replace(f"<path:{name}>", "x")
    query = draw(st.dictionaries(st.sampled_from(QUERY_NAMES) | HOSTILE_TEXT,
                                 st.one_of(HOSTILE_TEXT, JSON_VALUES.map(json.dumps)), max_size=4))
    body, content_type = draw(bodies())
    headers = {"X-Experience-API-Version": draw(st.sampled_from(["1.0.3", "1.0.3", "1.0.0", "2.0.0", "", "1.0"]))}
    if draw(st.booleans()):
        headers["If-Match"] = draw(st.sampled_from(['"x"', "*", ""]))
    if draw(st.integers(0, 9)) == 0:
        headers["If-None-Match"] = "*"
    return method, path, query, headers, body, content_type


def _count(session_factory) -> tuple[int, int]:
    with session_factory() as session:
        return (session.scalar(select(func.count()).select_from(Statement)),
                session.scalar(select(func.count()).select_from(Document)))


def test_hostile_requests_get_clear_4xx_and_store_nothing(app, http, make_client, session_factory, database_url):
    from fse_fad.auth import FailureThrottle

    # The throttle would soon answer 429 to everything; here every request must reach the checks.
    app.extensions["fse_fad"].auth_failures = FailureThrottle(limit=10**9)
    key, secret = make_client("fuzz", ["all"], role="admin")
    credentials = [basic_auth(key, secret), basic_auth(key, "wrong"), {"Authorization": "Bearer x.y.z"},
                   {"Authorization": "Basic !!!"}, basic_auth("no-such-client", "x"), {}]
    endpoints = _endpoints(app)
    kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    seen_statuses: dict[int, int] = {}

    def send(method, path, query, headers, body, content_type, auth):
        before = _count(session_factory)
        kwargs = {"headers": {**headers, **auth}, "query_string": query, "data": body}
        if content_type:
            kwargs["content_type"] = content_type
        response = http.open(path, method=method, **kwargs)
        seen_statuses[response.status_code] = seen_statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (method, path, query, body[:300], response.get_data()[:500])
        if response.status_code >= 400 and path.startswith("/dashboard/") and response.content_type.startswith("text/html"):
            # The dashboard's pages answer people: a refusal is a page of its own, with its heading.
            assert b"<h1" in response.get_data(), (method, path, response.get_data()[:300])
            assert _count(session_factory) == before, "a refused request stored something"
        elif response.status_code >= 400:
            payload = response.get_json(silent=True)
            assert isinstance(payload, dict) and payload.get("message"), (method, path, response.get_data()[:300])
            if response.status_code in (400, 413):
                assert payload.get("errors") and payload["errors"][0]["field"], (method, path, payload)
            assert _count(session_factory) == before, "a refused request stored something"

    @settings(max_examples=REQUESTS[kind] // 2, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(request=requests(endpoints), bad=st.sampled_from(credentials[1:]))
    def hostile(request, bad):
        send(*request, credentials[0])
        send(*request, bad)

    hostile()
    assert sum(seen_statuses.values()) >= REQUESTS[kind]
    assert any(400 <= s < 500 for s in seen_statuses)
