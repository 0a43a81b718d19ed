"""Credentials: Basic and JWT, scopes, revocation, hashed secrets."""
from __future__ import annotations

import time

import jwt
from sqlalchemy import select

from fse_fad.auth import revoke_client
from fse_fad.db import session_scope
from fse_fad.models import Client
from tests.conftest import XAPI_HEADERS, basic_auth
from tests.xapi_data import statement


def test_every_xapi_resource_but_about_needs_credentials(http):
    for method, path in [("get", "/xapi/statements"), ("post", "/xapi/statements"),
                         ("get", "/xapi/activities/state"), ("get", "/xapi/agents"), ("get", "/xapi/activities")]:
        response = getattr(http, method)(path, headers=XAPI_HEADERS)
        assert response.status_code == 401, path
        assert response.get_json()["errors"][0]["field"] == "Authorization"


def test_wrong_secret_and_unknown_key_are_401(http, make_client):
    key, _secret = make_client()
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth(key, "wrong")}).status_code == 401
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth("nobody", "x")}).status_code == 401


def test_secret_is_stored_hashed(session_factory, make_client):
    key, secret = make_client()
    with session_scope(session_factory) as session:
        stored = session.scalar(select(Client).where(Client.key == key))
        assert secret not in stored.secret_hash and stored.secret_hash.startswith("sha256$")


def test_scope_is_enforced(http, make_client):
    key, secret = make_client("writer", ["statements/write"])
    headers = {**XAPI_HEADERS, **basic_auth(key, secret)}
    assert http.post("/xapi/statements", headers=headers, json=statement()).status_code == 200
    response = http.get("/xapi/statements", headers=headers)
    assert response.status_code == 403
    assert "statements/read" in response.get_json()["errors"][0]["rule"]


def test_jwt_bearer_token_carries_scopes_and_expires(http, make_client, config):
    key, secret = make_client("moodle", ["statements/write", "statements/read"])
    response = http.post("/api/v1/auth/token", headers=basic_auth(key, secret), json={"scope": ["statements/read"]})
    assert response.status_code == 200
    token = response.get_json()["access_token"]
    bearer = {**XAPI_HEADERS, "Authorization": f"Bearer {token}"}
    assert http.get("/xapi/statements", headers=bearer).status_code == 200
    assert http.post("/xapi/statements", headers=bearer, json=statement()).status_code == 403

    claims = jwt.decode(token, config.secret_key, algorithms=["HS256"], issuer="fse-fad")
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, config.secret_key, algorithm="HS256")
    response = http.get("/xapi/statements", headers={**XAPI_HEADERS, "Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    tampered = jwt.encode({**claims, "scope": "all"}, "a different signing key of enough length!!", algorithm="HS256")
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, "Authorization": f"Bearer {tampered}"}).status_code == 401


def test_token_cannot_widen_scopes(http, make_client):
    key, secret = make_client("reader", ["statements/read"])
    response = http.post("/api/v1/auth/token", headers=basic_auth(key, secret), json={"scope": ["all"]})
    assert response.status_code == 403


def test_revoked_client_and_its_tokens_stop_working_within_the_documented_bound(app, http, make_client,
                                                                                session_factory):
    clients = app.extensions["fse_fad"].active_clients
    assert clients.ttl_seconds == 5
    now = [1000.0]
    clients.clock = lambda: now[0]
    key, secret = make_client()
    token = http.post("/api/v1/auth/token", headers=basic_auth(key, secret)).get_json()["access_token"]
    with session_scope(session_factory) as session:
        revoke_client(session, key)
    now[0] += 5
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth(key, secret)}).status_code == 401
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, "Authorization": f"Bearer {token}"}).status_code == 401


def test_a_kept_client_still_needs_its_secret(app, http, make_client):
    key, secret = make_client()
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth(key, secret)}).status_code == 200
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth(key, "guess")}).status_code == 401


def test_a_kept_client_is_authenticated_without_opening_a_session(app, http, make_client):
    runtime = app.extensions["fse_fad"]
    key, secret = make_client()
    opened = []
    factory = runtime.session_factory
    runtime.session_factory = lambda: opened.append(1) or factory()
    assert http.post("/api/v1/auth/token", headers=basic_auth(key, secret)).status_code == 200
    assert len(opened) == 1  # the client read from the database, then kept
    assert http.post("/api/v1/auth/token", headers=basic_auth(key, secret)).status_code == 200
    assert http.post("/api/v1/auth/token", headers=basic_auth(key, "guess")).status_code == 401
    assert len(opened) == 1


def test_with_no_cache_a_revocation_acts_at_once(app, http, make_client, session_factory):
    app.extensions["fse_fad"].active_clients.ttl_seconds = 0
    key, secret = make_client()
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth(key, secret)}).status_code == 200
    with session_scope(session_factory) as session:
        revoke_client(session, key)
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth(key, secret)}).status_code == 401


def test_health_and_readiness_need_no_credentials(http):
    assert http.get("/health").get_json() == {"status": "ok"}
    assert http.get("/ready").get_json() == {"status": "ready"}


def test_repeated_failures_are_throttled_then_forgiven(app, http, make_client):
    from fse_fad.auth import FailureThrottle

    key, secret = make_client()
    throttle = app.extensions["fse_fad"].auth_failures = FailureThrottle(limit=5, window_seconds=60)
    wrong = {**XAPI_HEADERS, **basic_auth(key, "guess")}
    assert [http.get("/xapi/statements", headers=wrong).status_code for _ in range(5)] == [401] * 5
    refused = http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth(key, secret)})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["errors"][0]["field"] == "Authorization"
    # Past the window the source may try again, and the right secret works.
    for source in list(throttle._failures):
        throttle._failures[source] = type(throttle._failures[source])(t - 61 for t in throttle._failures[source])
    assert http.get("/xapi/statements", headers={**XAPI_HEADERS, **basic_auth(key, secret)}).status_code == 200
