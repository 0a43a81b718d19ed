"""The access walk: every endpoint of the application, called by every kind of caller, answers
exactly what the caller's credentials allow, and a trust's training office never sees another
trust's learners.

``ACCESS`` below is the one table of who may do what. Every rule of ``app.url_map`` (each method)
must have at least one row: a new endpoint without a row makes ``test_every_endpoint_has_a_row``
fail and say which row to add. A row names the callers that succeed (``may``) and their status
(``ok``); every other caller gets 401 when it is not authenticated and 403 when it is, unless
``others`` says otherwise (for instance 404 for another trust's learner).
"""
from __future__ import annotations

import base64
import io
import json
import re
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Callable

import jwt
from courses import operations
from courses.catalogue import default_catalogue
from courses.importing import import_roster
from fse_fad.auth import XAPI_SCOPES, FailureThrottle, revoke_client
from fse_fad.db import session_scope
from tests.conftest import XAPI_HEADERS, basic_auth
from tests.ecm_support import EVENT_CODE, create_event, entries, event_input, issue
from tests.courses_support import MOODLE_WWWROOT, csv_bytes, make_cf, row
from tests.test_courses_api import config  # noqa: F401  (fixture: a configuration with a Moodle mapping)
from tests.test_progress_rules import full_course
from tests.test_progress_tracking import as_learner

FAD = default_catalogue().fad_course
TRUST_A, TRUST_B = "USL-TC", "AOU-CAREGGI"

# --- callers --------------------------------------------------------------------------------------

UNAUTHENTICATED = frozenset({"anonymous", "wrong-secret", "expired-jwt", "tampered-jwt", "revoked-client"})
SCOPE_CALLERS = frozenset(f"scope:{s}" for s in XAPI_SCOPES)
ROLE_CALLERS = frozenset({"admin", "admin-bearer", "fad-platform", "office-A", "office-regional", "ecm-provider"})
CALLERS = UNAUTHENTICATED | SCOPE_CALLERS | ROLE_CALLERS | {"launch-token"}
AUTHENTICATED = CALLERS - UNAUTHENTICATED


def scopes(*names: str) -> frozenset[str]:
    return frozenset(f"scope:{n}" for n in names)


ADMIN = frozenset({"admin", "admin-bearer"})
OFFICES = frozenset({"office-A", "office-regional"})
# Roles of the /api/v1 endpoints (admin may do everything there).
READERS = ADMIN | OFFICES | {"fad-platform", "ecm-provider"}
TRAINING_OFFICE = ADMIN | OFFICES
PLATFORM = ADMIN | {"fad-platform"}
# The FAD platform's client holds the content's scopes (it issues launch tokens that carry them).
PLATFORM_SCOPES = {"fad-platform": ("state", "statements/write")}
XAPI_ANY_READ = scopes("all", "all/read", "statements/read", "statements/read/mine", "state", "profile", "define")


@dataclass(frozen=True)
class Access:
    """Who may call ``method rule``. ``path``, ``query``, ``body`` and ``headers`` build the request:
    strings are formatted with the world's names ({learner_a}, {launch_agent}, ...), callables get
    the world (for requests that need something new each time, like a learner to erase)."""

    method: str
    rule: str
    may: frozenset[str]
    ok: int
    path: str | Callable | None = None
    query: dict | Callable | None = None
    body: object = None
    content_type: str | None = None
    headers: dict = field(default_factory=dict)
    others: dict = field(default_factory=dict)
    label: str = ""

    def expected(self, caller: str) -> int:
        if caller in self.others:
            return self.others[caller]
        if caller in self.may:
            return self.ok
        return 401 if caller in UNAUTHENTICATED else 403


def _statement(world) -> dict:
    """A statement the launch token may write: its learner, its course."""
    return {"actor": world.launch_actor, "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": FAD.iri + "/m01/base"}}


def _state_query(world, **extra) -> dict:
    return {"activityId": FAD.iri + "/m01/base", "agent": json.dumps(world.launch_actor), "stateId": "bookmark",
            **extra}


def _fresh_learner(trust: str, suffix: str = "") -> Callable:
    return lambda world: f"/api/v1/learners/{world.new_learner(trust)}{suffix}"


STATEMENT_READERS = scopes("all", "all/read", "statements/read", "statements/read/mine")
STATEMENT_WRITERS = scopes("all", "statements/write") | {"fad-platform", "launch-token"}
STATE_WRITERS = scopes("all", "state") | {"fad-platform", "launch-token"}
STATE_READERS = STATE_WRITERS | scopes("all/read")
PROFILE_WRITERS = scopes("all", "profile")
PROFILE_READERS = PROFILE_WRITERS | scopes("all/read")
ACTIVITY_PROFILE = {"activityId": FAD.iri + "/m01/base", "profileId": "p"}
ANOTHER_TRUST = {"office-A": 404}
ECM_PROVIDER = ADMIN | {"ecm-provider"}
ECM_READERS = ECM_PROVIDER | OFFICES
ECM = f"/api/v1/ecm/events/{EVENT_CODE}"

ACCESS: list[Access] = [
    Access("GET", "/health", CALLERS, 200),
    Access("GET", "/ready", CALLERS, 200),
    Access("GET", "/static/<path:filename>", CALLERS, 404, path="/static/nothing-here.css"),
    Access("GET", "/xapi/about", CALLERS, 200),
    # xAPI: scopes. The launch token speaks for its learner about its course only.
    Access("GET", "/xapi/statements", STATEMENT_READERS, 200),
    Access("GET", "/xapi/statements/more/<token>", STATEMENT_READERS, 200, path="{more_path}"),
    Access("POST", "/xapi/statements", STATEMENT_WRITERS, 200, body=_statement),
    Access("PUT", "/xapi/statements", STATEMENT_WRITERS, 204, body=_statement,
           query=lambda world: {"statementId": str(uuid.uuid4())}),
    Access("GET", "/xapi/activities", XAPI_ANY_READ | {"fad-platform", "launch-token"}, 200,
           query={"activityId": FAD.iri + "/m01/base"}),
    Access("GET", "/xapi/agents", XAPI_ANY_READ | {"fad-platform", "launch-token"}, 200,
           query=lambda world: {"agent": json.dumps(world.launch_actor)}),
    Access("GET", "/xapi/activities/state", STATE_READERS, 200, query=lambda world: {k: v for k, v in _state_query(world).items() if k != "stateId"}),
    Access("PUT", "/xapi/activities/state", STATE_WRITERS, 204, query=_state_query, body=b'{"page": 3}',
           content_type="application/json"),
    Access("POST", "/xapi/activities/state", STATE_WRITERS, 204, query=_state_query, body=b'{"seen": true}',
           content_type="application/json"),
    Access("DELETE", "/xapi/activities/state", STATE_WRITERS, 204, query=_state_query),
    Access("GET", "/xapi/activities/profile", PROFILE_READERS, 200, query={"activityId": FAD.iri + "/m01/base"}),
    Access("PUT", "/xapi/activities/profile", PROFILE_WRITERS, 204, body=b"{}", content_type="application/json",
           query=lambda world: {**ACTIVITY_PROFILE, "profileId": str(uuid.uuid4())}, headers={"If-None-Match": "*"}),
    Access("POST", "/xapi/activities/profile", PROFILE_WRITERS, 204, query=ACTIVITY_PROFILE, body=b'{"a": 1}',
           content_type="application/json"),
    Access("DELETE", "/xapi/activities/profile", PROFILE_WRITERS, 204, query=ACTIVITY_PROFILE),
    Access("GET", "/xapi/agents/profile", PROFILE_READERS, 200,
           query=lambda world: {"agent": json.dumps(world.launch_actor)}),
    Access("PUT", "/xapi/agents/profile", PROFILE_WRITERS, 204, body=b"{}", content_type="application/json",
           query=lambda world: {"agent": json.dumps(world.launch_actor), "profileId": str(uuid.uuid4())},
           headers={"If-None-Match": "*"}),
    Access("POST", "/xapi/agents/profile", PROFILE_WRITERS, 204, body=b'{"a": 1}', content_type="application/json",
           query=lambda world: {"agent": json.dumps(world.launch_actor), "profileId": "p"}),
    Access("DELETE", "/xapi/agents/profile", PROFILE_WRITERS, 204,
           query=lambda world: {"agent": json.dumps(world.launch_actor), "profileId": "p"}),
    # /api/v1: roles, and a trust's office limited to its trust. A token cannot buy another token.
    Access("POST", "/api/v1/auth/token", AUTHENTICATED - {"admin-bearer", "launch-token"}, 200, body={},
           others={"admin-bearer": 403}),
    Access("POST", "/api/v1/launch", frozenset({"fad-platform"}), 200,
           body=lambda world: {"actor": world.launch_actor}),
    Access("GET", "/api/v1/courses", READERS, 200),
    Access("GET", "/api/v1/courses/<code>", READERS, 200, path="/api/v1/courses/FAD-FSE"),
    Access("GET", "/api/v1/learners/<codice_fiscale>", READERS, 200, path="/api/v1/learners/{learner_a}"),
    Access("GET", "/api/v1/learners/<codice_fiscale>", READERS, 200, path="/api/v1/learners/{learner_b}",
           others=ANOTHER_TRUST, label="another trust's learner"),
    Access("PATCH", "/api/v1/learners/<codice_fiscale>", TRAINING_OFFICE, 200, path="/api/v1/learners/{learner_a}",
           body={"active": True}),
    Access("PATCH", "/api/v1/learners/<codice_fiscale>", TRAINING_OFFICE, 200, path="/api/v1/learners/{learner_b}",
           body={"active": True}, others=ANOTHER_TRUST, label="another trust's learner"),
    Access("DELETE", "/api/v1/learners/<codice_fiscale>", TRAINING_OFFICE, 200, path=_fresh_learner(TRUST_A)),
    Access("DELETE", "/api/v1/learners/<codice_fiscale>", TRAINING_OFFICE, 200, path=_fresh_learner(TRUST_B),
           others=ANOTHER_TRUST, label="another trust's learner"),
    Access("POST", "/api/v1/learners/import", TRAINING_OFFICE, 200, query={"moodle_site": MOODLE_WWWROOT},
           body=lambda world: {"file": (io.BytesIO(world.roster(TRUST_A)), "roster.csv")},
           content_type="multipart/form-data"),
    Access("POST", "/api/v1/learners/import", TRAINING_OFFICE, 200, query={"moodle_site": MOODLE_WWWROOT},
           body=lambda world: {"file": (io.BytesIO(world.roster(TRUST_B)), "roster.csv")},
           content_type="multipart/form-data", others={"office-A": 400}, label="another trust's roster"),
    Access("POST", "/api/v1/learners/<codice_fiscale>/assessment", PLATFORM, 201,
           path=_fresh_learner(TRUST_A, "/assessment"),
           body={"scores": {"accesso": 90, "integrazione": 40, "personalizzazione": 60, "policy": 10}}),
    Access("GET", "/api/v1/learners/<codice_fiscale>/path", PLATFORM | OFFICES, 200,
           path="/api/v1/learners/{learner_a}/path"),
    Access("GET", "/api/v1/learners/<codice_fiscale>/path", PLATFORM | OFFICES, 200,
           path="/api/v1/learners/{learner_b}/path", others=ANOTHER_TRUST, label="another trust's learner"),
    Access("GET", "/api/v1/learners/<codice_fiscale>/progress", TRAINING_OFFICE, 200,
           path="/api/v1/learners/{learner_a}/progress"),
    Access("GET", "/api/v1/learners/<codice_fiscale>/progress", TRAINING_OFFICE, 200,
           path="/api/v1/learners/{learner_b}/progress", others=ANOTHER_TRUST, label="another trust's learner"),
    Access("GET", "/api/v1/reports/completions", TRAINING_OFFICE, 200, query={"group_by": "trust"}),
    Access("GET", "/api/v1/reports/completions", TRAINING_OFFICE, 200, query={"group_by": "trust", "trust": TRUST_B},
           others={"office-A": 403}, label="another trust named"),
    Access("GET", "/api/v1/reports/assessments", TRAINING_OFFICE, 200, query={"group_by": "trust"}),
    Access("GET", "/api/v1/reports/targets", TRAINING_OFFICE, 200),
    Access("GET", "/api/v1/reports/learners", TRAINING_OFFICE, 200),
    Access("GET", "/api/v1/reports/learners", TRAINING_OFFICE, 200, query={"format": "csv"}, label="CSV"),
    Access("GET", "/api/v1/reports/learners", TRAINING_OFFICE, 200, query={"format": "xlsx"}, label="XLSX"),
    Access("GET", "/api/v1/reports/learners", TRAINING_OFFICE, 200, query={"trust": TRUST_B, "format": "csv"},
           others={"office-A": 403}, label="another trust named"),
    Access("GET", "/api/v1/reports/unmatched", ADMIN | {"office-regional"}, 200),
    # ECM: the provider issues and exports; an office reads its trust's credits and certificates.
    Access("GET", "/api/v1/ecm/events", ECM_READERS, 200),
    Access("POST", "/api/v1/ecm/events", ECM_PROVIDER, 201,
           body=lambda world: event_input(code=f"E-{uuid.uuid4().hex[:8]}")),
    Access("GET", "/api/v1/ecm/events/<code>", ECM_READERS, 200, path=ECM),
    Access("POST", "/api/v1/ecm/events/<code>/credits", ECM_PROVIDER, 200, path=f"{ECM}/credits"),
    Access("GET", "/api/v1/ecm/events/<code>/credits", ECM_READERS, 200, path=f"{ECM}/credits"),
    Access("GET", "/api/v1/ecm/events/<code>/report.xml", ECM_PROVIDER, 200, path=f"{ECM}/report.xml"),
    Access("GET", "/api/v1/ecm/events/<code>/report.csv", ECM_PROVIDER, 200, path=f"{ECM}/report.csv"),
    Access("GET", "/api/v1/ecm/events/<code>/certificates/<codice_fiscale>", ECM_READERS, 200,
           path=ECM + "/certificates/{learner_a}"),
    Access("GET", "/api/v1/ecm/events/<code>/certificates/<codice_fiscale>", ECM_READERS, 200,
           path=ECM + "/certificates/{learner_b}", others=ANOTHER_TRUST, label="another trust's learner"),
    Access("GET", "/api/v1/ecm/certificates/<code>", ECM_READERS, 200,
           path="/api/v1/ecm/certificates/{certificate_a}"),
    Access("GET", "/api/v1/ecm/reports/due", ECM_PROVIDER, 200),
    # The dashboard's pages take no API credentials: to them every caller is a visitor without a
    # session, sent to the login page; POSTs without the form's CSRF token are refused. Its users,
    # roles and trusts are walked in tests/test_dashboard.py.
    Access("GET", "/dashboard/login", CALLERS, 200),
    Access("GET", "/dashboard/static/<path:filename>", CALLERS, 200, path="/dashboard/static/dashboard.css"),
    Access("GET", "/dashboard/", CALLERS, 302),
    Access("GET", "/dashboard/learners", CALLERS, 302),
    Access("GET", "/dashboard/learners/<codice_fiscale>", CALLERS, 302, path="/dashboard/learners/{learner_b}"),
    Access("GET", "/dashboard/learners/export.<fmt>", CALLERS, 302, path="/dashboard/learners/export.csv"),
    Access("GET", "/dashboard/export/<name>.<fmt>", CALLERS, 302, path="/dashboard/export/funnel.csv"),
    Access("GET", "/dashboard/ecm/", CALLERS, 302),
    Access("GET", "/dashboard/ecm/events/<code>", CALLERS, 302, path=f"/dashboard/ecm/events/{EVENT_CODE}"),
    Access("GET", "/dashboard/ecm/flagged", CALLERS, 302),
    Access("GET", "/dashboard/ecm/due", CALLERS, 302),
    Access("GET", "/dashboard/ecm/events/<code>/report.<fmt>", CALLERS, 302,
           path=f"/dashboard/ecm/events/{EVENT_CODE}/report.xml"),
    Access("GET", "/dashboard/ecm/events/<code>/certificates/<codice_fiscale>", CALLERS, 302,
           path=f"/dashboard/ecm/events/{EVENT_CODE}/certificates/{{learner_b}}"),
    Access("POST", "/dashboard/login", CALLERS, 400, body={"email": "a@b.it", "password": "x"}),
    Access("POST", "/dashboard/language", CALLERS, 400, body={"lang": "en"}),
    Access("POST", "/dashboard/logout", CALLERS, 400),
]


# --- the world the walk runs in -------------------------------------------------------------------

class World:
    """Learners of two trusts with progress, one client per kind of caller, and the names the rows use."""

    def __init__(self, app, http, session_factory, make_client):
        self.http = http
        self.session_factory = session_factory
        self.next_number = 1000
        app_config = app.extensions["fse_fad"].config
        self.headers: dict[str, dict] = {"anonymous": {}}
        for scope in XAPI_SCOPES:
            self.headers[f"scope:{scope}"] = basic_auth(*make_client(f"scope {scope}", [scope]))
        roles = {"admin": {"role": "admin"}, "fad-platform": {"role": "fad-platform"},
                 "office-A": {"role": "training-office", "trust_code": TRUST_A},
                 "office-regional": {"role": "training-office", "regional": True},
                 "ecm-provider": {"role": "ecm-provider"}}
        for caller, kwargs in roles.items():
            self.headers[caller] = basic_auth(*make_client(caller, PLATFORM_SCOPES.get(caller, ()), **kwargs))
        admin_key = base64.b64decode(self.headers["admin"]["Authorization"].split()[1]).decode().split(":")[0]
        self.headers["wrong-secret"] = basic_auth(admin_key, "not-the-secret")
        token = self._ok(http.post("/api/v1/auth/token", headers=self.headers["admin"], json={}))["access_token"]
        self.headers["admin-bearer"] = {"Authorization": f"Bearer {token}"}
        claims = jwt.decode(token, app_config.secret_key, algorithms=["HS256"], issuer="fse-fad")
        expired = jwt.encode({**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
                             app_config.secret_key, algorithm="HS256")
        self.headers["expired-jwt"] = {"Authorization": f"Bearer {expired}"}
        header, _payload, signature = token.split(".")
        widened = base64.urlsafe_b64encode(json.dumps({**claims, "scope": "all"}).encode()).rstrip(b"=").decode()
        self.headers["tampered-jwt"] = {"Authorization": f"Bearer {header}.{widened}.{signature}"}
        revoked_key, revoked_secret = make_client("revoked", ["all"], role="admin")
        with session_scope(session_factory) as session:
            revoke_client(session, revoked_key)
        self.headers["revoked-client"] = basic_auth(revoked_key, revoked_secret)

        # Trust A: learners 1-3; trust B: learners 101-103, with names that must never reach office A.
        self.trust_b_secrets = [make_cf(n) for n in (101, 102, 103)] + ["Careggiano", "Beatrice"]
        rows = [row(n) for n in (1, 2, 3)] + [row(n, azienda=TRUST_B, cognome="Careggiano", nome="Beatrice")
                                             for n in (101, 102, 103)]
        self._import(rows)
        self.learner_a, self.learner_b = make_cf(1), make_cf(101)
        with session_scope(session_factory) as session:
            for code in (self.learner_a, self.learner_b):
                operations.record_assessment(session, code, scores={"accesso": 80, "integrazione": 50,
                                                                    "personalizzazione": 20, "policy": 100})
        writer = self.headers["scope:all"]
        for n in (1, 101, 102):
            self._ok(http.post("/xapi/statements", headers={**XAPI_HEADERS, **writer}, json=as_learner(full_course(), n)))
        # Statements of an agent who is no learner: the unmatched report has a row.
        self._ok(http.post("/xapi/statements", headers={**XAPI_HEADERS, **writer}, json=as_learner(full_course(), 999)))
        page = self._ok(http.get("/xapi/statements", headers={**XAPI_HEADERS, **writer}, query_string={"limit": 1}))
        self.more_path = page["more"]
        assert self.more_path

        create_event(session_factory)
        issue(session_factory)
        self.certificate_a = entries(session_factory, 1)[-1].verification_code

        self.launch_actor = {"objectType": "Agent", "account": {"homePage": MOODLE_WWWROOT, "name": "1001"}}
        launch = self._ok(http.post("/api/v1/launch", headers=self.headers["fad-platform"],
                                    json={"actor": self.launch_actor}))
        self.headers["launch-token"] = {"Authorization": launch["auth"]}
        self.launch_actor = launch["actor"]
        assert set(self.headers) == CALLERS

    @staticmethod
    def _ok(response):
        assert response.status_code == 200, response.get_data()[:500]
        return response.get_json()

    def _import(self, rows: list[dict]) -> None:
        with session_scope(self.session_factory) as session:
            import_roster(session, csv_bytes(rows), moodle_home_page=MOODLE_WWWROOT)

    def new_learner(self, trust: str) -> str:
        self.next_number += 1
        self._import([row(self.next_number, azienda=trust)])
        return make_cf(self.next_number)

    def roster(self, trust: str) -> bytes:
        number = 1 if trust == TRUST_A else 101
        return csv_bytes([row(number, azienda=trust, **({} if trust == TRUST_A else
                                                         {"cognome": "Careggiano", "nome": "Beatrice"}))])

    def names(self) -> dict:
        return {"learner_a": self.learner_a, "learner_b": self.learner_b, "more_path": self.more_path,
                "certificate_a": self.certificate_a}

    def call(self, access: Access, caller: str):
        def build(value):
            if callable(value):
                return value(self)
            if isinstance(value, str):
                return value.format_map(self.names())
            return value

        path = self.last_path = build(access.path or access.rule)
        query = build(access.query) or {}
        body = build(access.body)
        headers = {**access.headers, **self.headers[caller]}
        if path.startswith("/xapi/"):
            headers.update(XAPI_HEADERS)
        kwargs = {"headers": headers, "query_string": query}
        if isinstance(body, (bytes, str)):
            kwargs["data"] = body
        elif access.content_type == "multipart/form-data":
            kwargs["data"] = body
        elif body is not None:
            kwargs["json"] = body
        if access.content_type:
            kwargs["content_type"] = access.content_type
        return self.http.open(path, method=access.method, **kwargs)


def _text_of(response) -> str:
    """Everything a response says, an XLSX workbook's sheets and strings included."""
    data = response.get_data()
    if data.startswith(b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return data.decode("utf-8", "replace")


# --- the tests ------------------------------------------------------------------------------------

def _endpoints(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_endpoint_has_a_row(app):
    covered = {(a.method, a.rule) for a in ACCESS}
    missing = sorted(_endpoints(app) - covered)
    assert not missing, ("endpoints without an access expectation; add to ACCESS in tests/test_access.py:\n"
                         + "\n".join(f'    Access("{m}", "{r}", <callers that succeed>, <their status>),'
                                     for m, r in missing))
    stale = sorted(covered - _endpoints(app))
    assert not stale, f"rows of ACCESS for endpoints that no longer exist: {stale}"


def test_every_caller_gets_exactly_what_its_role_allows(app, http, session_factory, make_client):
    # Every request must reach the credential checks, not the failed-login throttle.
    app.extensions["fse_fad"].auth_failures = FailureThrottle(limit=10**9)
    world = World(app, http, session_factory, make_client)
    wrong: list[str] = []
    leaks: list[str] = []
    for access in ACCESS:
        for caller in sorted(CALLERS):
            response = world.call(access, caller)
            expected = access.expected(caller)
            where = f"{access.method} {access.rule} {access.label}".strip()
            if response.status_code != expected:
                wrong.append(f"{where} as {caller}: {response.status_code}, expected {expected}: "
                             f"{response.get_data()[:200]!r}")
                continue
            if response.status_code >= 400:
                body = response.get_json(silent=True)
                html_page = access.rule == "/static/<path:filename>" or access.rule.startswith("/dashboard/")
                if not (isinstance(body, dict) and body.get("message")) and not html_page:
                    wrong.append(f"{where} as {caller}: a {response.status_code} without a JSON message")
                elif response.status_code in (401, 403) and body["errors"][0]["field"] not in ("Authorization", "trust"):
                    wrong.append(f"{where} as {caller}: a {response.status_code} naming {body['errors'][0]}")
            if caller == "office-A":
                # A refusal may repeat the codice fiscale the caller itself sent, nothing more.
                text = _text_of(response)
                for sent in world.last_path.split("/"):
                    text = text.replace(sent, "") if len(sent) == 16 else text
                leaks += [f"{where}: {secret}" for secret in world.trust_b_secrets if secret in text]
    assert not wrong, f"{len(wrong)} answers differ from ACCESS:\n" + "\n".join(wrong)
    assert not leaks, "trust B's learners reached trust A's office:\n" + "\n".join(leaks)


def test_an_office_sees_its_own_learners_in_every_report(app, http, session_factory, make_client):
    """The leak check above could pass on empty answers: office A does see trust A's learners."""
    world = World(app, http, session_factory, make_client)
    office = world.headers["office-A"]
    for query in ({}, {"format": "csv"}):
        text = _text_of(http.get("/api/v1/reports/learners", headers=office, query_string=query))
        assert world.learner_a in text and world.learner_b not in text
    regional = _text_of(http.get("/api/v1/reports/learners", headers=world.headers["office-regional"]))
    assert world.learner_a in regional and world.learner_b in regional
    completions = http.get("/api/v1/reports/completions", headers=office, query_string={"group_by": "trust"}).get_json()
    assert [r["key"] for r in completions["rows"]] == [TRUST_A] and completions["totals"]["completed"] == 1
    # Another trust's learner is refused exactly like a learner who does not exist.
    unknown = make_cf(77777)
    for suffix in ("", "/path", "/progress"):
        hidden = http.get(f"/api/v1/learners/{world.learner_b}{suffix}", headers=office)
        missing = http.get(f"/api/v1/learners/{unknown}{suffix}", headers=office)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.get_json() == json.loads(missing.get_data(as_text=True).replace(unknown, world.learner_b))
    assert re.search(r"\bCareggiano\b", _text_of(http.get(f"/api/v1/learners/{world.learner_b}",
                                                          headers=world.headers["office-regional"])))
