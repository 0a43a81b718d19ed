"""The dashboard through Flask's test client, on SQLite and PostgreSQL: login and lock-out, CSRF,
roles, trust scoping of every page and download, numbers and files equal to the reports API's,
the language, and the ``fse-fad users`` commands."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from courses.catalogue import default_catalogue
from dashboard import operations
from dashboard.models import DashboardUser
from fse_fad.cli import main
from fse_fad.db import session_scope
from tests.courses_support import make_cf
from tests.test_courses_api import admin, auth, config  # noqa: F401  (fixtures)
from tests.test_reports_api import centro, world  # noqa: F401  (fixtures)

PASSWORD = "una-password-lunga"
REFERENCE = default_catalogue().reference
CAREGGI_LEARNERS = [make_cf(n) for n in (4, 5, 6)]
CENTRO_LEARNERS = [make_cf(n) for n in (1, 2, 3)]
PAGES = ["/dashboard/", "/dashboard/learners", f"/dashboard/learners/{make_cf(1)}",
         "/dashboard/export/funnel.csv", "/dashboard/learners/export.xlsx"]


@pytest.fixture
def users(session_factory):
    """One user per kind: regional office, the offices of USL-TC and AOU-CAREGGI, ECM provider, admin."""
    made = {"regional": ("regionale@regione.toscana.it", "training-office", None, True),
            "centro": ("formazione@uslcentro.toscana.it", "training-office", "USL-TC", False),
            "careggi": ("formazione@aou-careggi.toscana.it", "training-office", "AOU-CAREGGI", False),
            "ecm": ("provider@ecm.example", "ecm-provider", None, False),
            "admin": ("admin@regione.toscana.it", "admin", None, False)}
    with session_scope(session_factory) as session:
        for email, role, trust, regional in made.values():
            operations.create_user(session, REFERENCE, email, role, PASSWORD, trust_code=trust, regional=regional)
    return {name: values[0] for name, values in made.items()}


def csrf_token(http, path="/dashboard/login") -> str:
    page = http.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:500]
    return found.group(1)


def log_in(http, email, password=PASSWORD, **extra):
    return http.post("/dashboard/login", data={"email": email, "password": password,
                                               "csrf_token": csrf_token(http), **extra})


@pytest.fixture
def browser(app):
    """A logged-in test client: browser(name_of_user)."""

    def open_as(email):
        client = app.test_client()
        response = log_in(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)[:400]
        return client

    return open_as


def cells(html: str, table_id: str) -> list[list[str]]:
    """The data-value of each cell of a table of the page, row by row."""
    table = re.search(rf'<table id="{table_id}".*?</table>', html, re.S).group(0)
    return [re.findall(r'data-value="([^"]*)"', row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline=""), delimiter=";"))


# --- login ----------------------------------------------------------------------------------------

def test_login_with_the_right_and_a_wrong_password(app, users):
    http = app.test_client()
    wrong = log_in(http, users["centro"], "not-the-password")
    assert wrong.status_code == 401
    assert "E-mail o password non corretti" in wrong.get_data(as_text=True)
    unknown = log_in(http, "nobody@example.it", PASSWORD)
    assert unknown.status_code == 401 and "E-mail o password non corretti" in unknown.get_data(as_text=True)
    right = log_in(http, users["centro"].upper(), next="/dashboard/learners")
    assert right.status_code == 302 and right.headers["Location"] == "/dashboard/learners"
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # the public URL of the tests is http
    page = http.get("/dashboard/")
    assert page.status_code == 200 and users["centro"] in page.get_data(as_text=True)
    # Logging out ends the session.
    token = csrf_token(http, "/dashboard/")
    assert http.post("/dashboard/logout", data={"csrf_token": token}).status_code == 302
    assert http.get("/dashboard/").status_code == 302


def test_the_next_page_is_never_another_site(app, users):
    for target in ("https://evil.example/", "//evil.example/dashboard/", "/api/v1/reports/targets"):
        response = log_in(app.test_client(), users["regional"], next=target)
        assert response.headers["Location"] == "/dashboard/"


def test_pages_need_a_login(http, users):
    for path in PAGES:
        response = http.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/dashboard/login?next=")


def test_the_account_locks_after_five_wrong_passwords(app, users, session_factory):
    http = app.test_client()
    for attempt in range(operations.MAX_FAILURES - 1):
        assert log_in(http, users["careggi"], f"wrong-{attempt}").status_code == 401
    locked = log_in(http, users["careggi"], "wrong-again")
    assert locked.status_code == 429 and "account è bloccato" in locked.get_data(as_text=True)
    # Locked: even the right password is refused, from any address.
    other = app.test_client()
    response = log_in(other, users["careggi"], environ_base=None) if False else log_in(other, users["careggi"])
    assert response.status_code == 429 and "15 minuti" in response.get_data(as_text=True)
    with session_scope(session_factory) as session:
        operations.reset_password(session, users["careggi"], "una-nuova-password")
    assert log_in(other, users["careggi"], "una-nuova-password").status_code == 302


def test_the_lock_ends_after_its_time(session_factory, users):
    now = datetime.now(timezone.utc)
    with session_scope(session_factory) as session:
        for _attempt in range(operations.MAX_FAILURES):
            outcome = operations.log_in(session, users["centro"], "wrong", now=now)
        assert outcome.locked_minutes == operations.LOCK_MINUTES
        assert operations.log_in(session, users["centro"], PASSWORD, now=now + timedelta(minutes=14)).user is None
        later = now + timedelta(minutes=operations.LOCK_MINUTES, seconds=1)
        assert operations.log_in(session, users["centro"], PASSWORD, now=later).user is not None


def test_a_source_with_too_many_failures_is_refused(app, users):
    http = app.test_client()
    limit = app.extensions["dashboard"].login_failures.limit
    for number in range(limit):
        assert log_in(http, f"guess{number}@example.it", "whatever-password").status_code == 401
    refused = log_in(http, users["regional"])
    assert refused.status_code == 429 and "da questo indirizzo" in refused.get_data(as_text=True)


def test_posts_without_a_csrf_token_are_refused(app, users, browser):
    http = app.test_client()
    response = http.post("/dashboard/login", data={"email": users["regional"], "password": PASSWORD})
    assert response.status_code == 400 and "modulo" in response.get_data(as_text=True)
    assert http.get("/dashboard/").status_code == 302  # not logged in
    logged = browser(users["regional"])
    assert logged.post("/dashboard/logout").status_code == 400
    assert logged.post("/dashboard/language", data={"lang": "en", "csrf_token": "forged"}).status_code == 400
    assert logged.get("/dashboard/").status_code == 200  # still logged in, still Italian
    # The APIs keep their own credentials: no CSRF token needed there.
    assert http.post("/api/v1/auth/token", json={}).status_code == 401


def test_a_disabled_user_or_a_new_password_ends_open_sessions(session_factory, users, browser):
    regional, centro_office = browser(users["regional"]), browser(users["centro"])
    with session_scope(session_factory) as session:
        operations.disable_user(session, users["regional"])
        operations.reset_password(session, users["centro"], "un'altra-password")
    assert regional.get("/dashboard/").status_code == 302
    assert centro_office.get("/dashboard/").status_code == 302
    assert log_in(regional, users["regional"]).status_code == 401


def test_passwords_are_stored_hashed(session_factory, users):
    with session_scope(session_factory) as session:
        stored = session.scalars(select(DashboardUser.password_hash)).all()
    assert stored and all(h.startswith("scrypt:") and PASSWORD not in h for h in stored)


@pytest.mark.parametrize("kwargs, field", [
    ({"email": "not-an-email"}, "email"), ({"password": "short"}, "password"), ({"role": "fad-platform"}, "role"),
    ({"role": "training-office"}, "trust"), ({"trust_code": "NOWHERE"}, "trust"),
    ({"role": "ecm-provider", "trust_code": "USL-TC"}, "trust")])
def test_bad_users_are_refused(session_factory, kwargs, field):
    from fse_fad.errors import ApiError

    values = {"email": "x@example.it", "role": "training-office", "password": PASSWORD, "trust_code": "USL-TC"}
    values.update(kwargs)
    if kwargs.get("role") in ("training-office", "ecm-provider", "fad-platform") and "trust_code" not in kwargs:
        values["trust_code"] = None
    with pytest.raises(ApiError) as refused, session_scope(session_factory) as session:
        operations.create_user(session, REFERENCE, values.pop("email"), values.pop("role"), values.pop("password"),
                               **values)
    assert refused.value.problems[0].field == field


# --- roles and trusts -----------------------------------------------------------------------------

def test_roles(users, browser, world):
    assert browser(users["ecm"]).get("/dashboard/").status_code == 403
    assert browser(users["ecm"]).get("/dashboard/learners").status_code == 403
    for name in ("admin", "regional", "centro"):
        logged = browser(users[name])
        for path in PAGES:
            assert logged.get(path).status_code == 200, (name, path)


def test_a_trust_office_sees_only_its_trust_on_every_page(users, browser, world):
    centro_office = browser(users["centro"])
    pages = [centro_office.get(path).get_data(as_text=True) for path in PAGES[:3]]
    for html in pages:
        assert not any(cf in html for cf in CAREGGI_LEARNERS)
        assert "Careggi" not in html
    assert make_cf(1) in pages[1]
    for path in ("/dashboard/?trust=AOU-CAREGGI", "/dashboard/learners?trust=AOU-CAREGGI",
                 "/dashboard/export/trusts.csv?trust=AOU-CAREGGI", "/dashboard/learners/export.csv?trust=AOU-CAREGGI"):
        assert centro_office.get(path).status_code == 403, path
    for cf in CAREGGI_LEARNERS:
        assert centro_office.get(f"/dashboard/learners/{cf}").status_code == 404
    for path in ("/dashboard/export/trusts.csv", "/dashboard/export/targets.xlsx", "/dashboard/learners/export.csv"):
        content = centro_office.get(path).data
        assert content and not any(cf.encode() in content for cf in CAREGGI_LEARNERS) and b"Careggi" not in content
    # The regional office sees both, and may narrow to one.
    regional = browser(users["regional"])
    assert all(cf in regional.get("/dashboard/learners").get_data(as_text=True)
               for cf in CAREGGI_LEARNERS[:1] + CENTRO_LEARNERS[:1])
    only = regional.get("/dashboard/learners?trust=AOU-CAREGGI").get_data(as_text=True)
    assert make_cf(4) in only and make_cf(1) not in only


def test_bad_filters_are_a_clear_400(users, browser, world):
    regional = browser(users["regional"])
    for path, field in (("/dashboard/learners?status=happy", "status"), ("/dashboard/learners?cluster=9", "cluster"),
                        ("/dashboard/learners?course=NOPE", "course"), ("/dashboard/?trust=NOWHERE", "trust")):
        response = regional.get(path)
        assert response.status_code == 400 and f"<code>{field}</code>" in response.get_data(as_text=True), path
    # The form's "any" choices are empty values: no filter, no error.
    assert regional.get("/dashboard/learners?course=FAD-FSE&status=&cluster=&trust=").status_code == 200
    assert regional.get("/dashboard/export/nothing.csv").status_code == 404
    assert regional.get("/dashboard/export/funnel.pdf").status_code == 404
    assert regional.get("/dashboard/learners/NOTACODE").status_code == 404


# --- the numbers are the reports API's -----------------------------------------------------------

def test_the_overview_shows_the_reports_numbers(http, users, browser, world, centro):
    for user, headers in (("centro", centro),):
        html = browser(users[user]).get("/dashboard/").get_data(as_text=True)
        funnel = http.get("/api/v1/reports/completions", headers=headers, query_string={"group_by": "cluster"}).get_json()
        # The funnel is the completions report with the credits issued as its last column.
        shown = [row[:-1] for row in cells(html, "table-funnel")]
        assert shown[:-1] == [[r["key"], r["label"], str(r["learners"]), str(r["assessed"]), str(r["in_progress"]),
                               str(r["completed"]), repr(r["completion_rate"])] for r in funnel["rows"]]
        totals = funnel["totals"]
        assert shown[-1][2:] == [str(totals[c]) for c in ("learners", "assessed", "in_progress", "completed")] + \
            [repr(totals["completion_rate"])]
        targets = http.get("/api/v1/reports/targets", headers=headers).get_json()
        fad = targets["projects"][0]
        assert cells(html, "table-targets")[0][4:7] == [str(fad["target"]), str(fad["learners"]), str(fad["completed"])]
        assert f'data-value="{targets["milestone"]["completed"]}"' in html


def test_the_weekly_trend_adds_up_to_the_completions_report(http, users, browser, world, admin):
    html = browser(users["regional"]).get("/dashboard/").get_data(as_text=True)
    weeks = cells(html, "table-trend")
    assert weeks and sum(int(w[2]) for w in weeks) == http.get(
        "/api/v1/reports/completions", headers=admin,
        query_string={"group_by": "cluster", "from": weeks[0][0], "to": weeks[-1][1]}).get_json()["totals"]["completed"]


def test_downloads_are_the_reports_api_files(http, users, browser, world, centro, admin):
    centro_office = browser(users["centro"])
    assert [row[:-1] for row in csv_of(centro_office.get("/dashboard/export/funnel.csv"))] == csv_of(
        http.get("/api/v1/reports/completions?group_by=cluster&format=csv", headers=centro))
    assert csv_of(centro_office.get("/dashboard/export/targets.csv")) == csv_of(
        http.get("/api/v1/reports/targets?format=csv", headers=centro))
    regional = browser(users["regional"])
    filtered = regional.get("/dashboard/learners/export.csv?status=completed&cluster=2&trust=USL-TC")
    assert filtered.headers["Content-Disposition"].startswith("attachment")
    assert csv_of(filtered) == csv_of(http.get(
        "/api/v1/reports/learners?status=completed&cluster=2&trust=USL-TC&format=csv", headers=admin))
    assert len(csv_of(filtered)) == 2  # header and learner 1
    xlsx = regional.get("/dashboard/export/assessments.xlsx")
    api = http.get("/api/v1/reports/assessments?group_by=cluster&format=xlsx", headers=admin)
    from tests.test_reports_api import xlsx_rows
    assert xlsx_rows(xlsx) == xlsx_rows(api)


def test_a_learner_page(users, browser, world):
    html = browser(users["centro"]).get(f"/dashboard/learners/{make_cf(1)}").get_data(as_text=True)
    assert 'id="learner-status" data-value="completed"' in html and "completato" in html
    assert html.count("<tr><th scope=\"row\">") >= 8  # the eight modules


# --- language and page hygiene ---------------------------------------------------------------------

def test_italian_by_default_english_by_choice(users, browser, world):
    http = browser(users["regional"])
    page = http.get("/dashboard/").get_data(as_text=True)
    assert '<html lang="it">' in page and "Panoramica" in page and "Esci" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    switched = http.post("/dashboard/language", data={"lang": "en", "next": "/dashboard/learners",
                                                      "csrf_token": token})
    assert switched.status_code == 302 and switched.headers["Location"] == "/dashboard/learners"
    english = http.get("/dashboard/").get_data(as_text=True)
    assert '<html lang="en">' in english and "Overview" in english and "Log out" in english
    assert "Completion rate" in english
    assert http.get("/dashboard/export/funnel.csv").data.decode("utf-8-sig").startswith("Cluster;Description;")


def test_pages_name_no_other_host_and_carry_security_headers(users, browser, world):
    http = browser(users["regional"])
    for path in PAGES[:3] + ["/dashboard/login"]:
        response = http.get(path)
        html = response.get_data(as_text=True)
        assert not re.search(r"""(https?:|["'(]\s*)//[a-z0-9-]+\.[a-z0-9.-]+""", html.replace("http://lrs.test", "")), path
        assert "script-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Frame-Options"] == "DENY"


# --- fse-fad users ---------------------------------------------------------------------------------

@pytest.fixture
def cli(app, config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FSE_FAD_DATABASE_URL", config.database_url)
    monkeypatch.setenv("FSE_FAD_SECRET_KEY", config.secret_key)
    monkeypatch.setenv("FSE_FAD_LANG", "it")
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(main, list(args), input=input)


def test_users_commands(cli, app):
    created = cli("users", "create", "Ufficio@USLcentro.it", "--role", "training-office", "--trust", "usl-tc",
                  "--password", PASSWORD)
    assert created.exit_code == 0 and "Utente creato" in created.output
    asked = cli("users", "create", "regione@example.it", "--role", "training-office", "--regional",
                input="password-chiesta\npassword-chiesta\n")
    assert asked.exit_code == 0, asked.output
    assert log_in(app.test_client(), "regione@example.it", "password-chiesta").status_code == 302
    again = cli("users", "create", "ufficio@uslcentro.it", "--role", "admin", "--password", PASSWORD)
    assert again.exit_code == 1 and "Esiste già" in again.output
    no_trust = cli("users", "create", "x@example.it", "--role", "training-office", "--password", PASSWORD)
    assert no_trust.exit_code == 1 and "--regional" in no_trust.output
    listed = cli("users", "list", "--json")
    import json
    rows = {r["email"]: r for r in json.loads(listed.output)}
    assert rows["ufficio@uslcentro.it"]["trust"] == "USL-TC" and rows["regione@example.it"]["regional"]
    assert "password" not in listed.output and PASSWORD not in listed.output
    assert cli("users", "reset-password", "ufficio@uslcentro.it", "--password", "nuova-password-1").exit_code == 0
    assert log_in(app.test_client(), "ufficio@uslcentro.it", "nuova-password-1").status_code == 302
    assert cli("users", "disable", "ufficio@uslcentro.it").exit_code == 0
    assert log_in(app.test_client(), "ufficio@uslcentro.it", "nuova-password-1").status_code == 401
    assert "disattivato" in cli("users", "list").output
    missing = cli("users", "disable", "nessuno@example.it")
    assert missing.exit_code == 1 and "Nessun utente" in missing.output


# --- ECM: the provider's pages, an office's reading, the funnel's credits issued --------------------

ECM = "/api/v1/ecm"
EVENT = "/dashboard/ecm/events/123-4567"


@pytest.fixture
def ecm_world(session_factory, world):
    """The event of the FAD course over both completions of the world (learners 1 of USL-TC and 5 of
    AOU-CAREGGI earn credits), issued; then learner 1's surname is corrected and issued again, so
    that learner 1 has a flagged correction."""
    from sqlalchemy import update

    from courses.models import Learner
    from tests.ecm_support import create_event, issue

    create_event(session_factory, end_date="2026-10-31")
    assert issue(session_factory).credits == 2
    with session_scope(session_factory) as session:
        session.execute(update(Learner).where(Learner.codice_fiscale == make_cf(1)).values(surname="Bianchi"))
    assert issue(session_factory).corrections == 1


@pytest.fixture
def provider_api(auth):
    return auth("ecm-provider")


def test_the_provider_sees_events_flagged_records_and_reports_due(app, users, browser, ecm_world):
    provider = browser(users["ecm"])
    # Logging in without a page to go to lands on the events: the provider has no overview.
    for target in ({}, {"next": "/dashboard/"}):
        landed = log_in(app.test_client(), users["ecm"], **target)
        assert landed.headers["Location"] == "/dashboard/ecm/"
    events = provider.get("/dashboard/ecm/")
    html = events.get_data(as_text=True)
    assert events.status_code == 200 and "Eventi ECM" in html and "Crediti rilasciati" in html
    assert "Rapporti in scadenza" in html and "Panoramica" not in html  # the provider's menu
    # code, edition, ..., credits issued, attendance, flagged
    assert [row[:2] + row[7:] for row in cells(html, "table-events")] == [["123-4567", "1", "2", "0", "1"]]
    flagged = provider.get("/dashboard/ecm/flagged").get_data(as_text=True)
    assert [row[2] for row in cells(flagged, "table-flagged")] == [make_cf(1)]
    assert "i dati del discente sono stati corretti" in flagged
    due = provider.get("/dashboard/ecm/due").get_data(as_text=True)
    row = cells(due, "table-due")[0]
    assert row[:2] == ["123-4567", "1"] and row[4] == "2027-01-29" and row[6:] == ["2", "1"]
    event = provider.get(EVENT).get_data(as_text=True)
    assert sorted(row[0] for row in cells(event, "table-entries")) == sorted([make_cf(1), make_cf(5)])
    only = provider.get(EVENT + "?flagged=true").get_data(as_text=True)
    assert [row[0] for row in cells(only, "table-entries")] == [make_cf(1)]
    assert "/dashboard/ecm/events/123-4567/report.xml" in event
    assert '<td data-value="4.0" class="num">4,0</td>' in event  # credits written the Italian way


def test_the_provider_downloads_the_report_and_a_certificate(http, users, browser, ecm_world, provider_api):
    provider = browser(users["ecm"])
    for fmt in ("xml", "csv"):
        page = provider.get(f"{EVENT}/report.{fmt}")
        api = http.get(f"{ECM}/events/123-4567/report.{fmt}", headers=provider_api)
        assert page.status_code == 200 and api.status_code == 200
        assert page.data == api.data and page.headers["Content-Type"] == api.headers["Content-Type"]
        assert "ISO-8859-1" in page.headers["Content-Type"]
        assert page.headers["Content-Disposition"] == api.headers["Content-Disposition"]
    assert page.data.decode("iso-8859-1").count("\n") == 3  # the header and two participants
    pdf = provider.get(f"{EVENT}/certificates/{make_cf(5)}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF") and b"Attestato" in pdf.data
    assert provider.get(f"{EVENT}/certificates/{make_cf(6)}").status_code == 404  # no entry
    assert provider.get(f"{EVENT}/certificates/NOTACODE").status_code == 404
    assert provider.get(f"{EVENT}/report.pdf").status_code == 404
    assert provider.get("/dashboard/ecm/events/999-9999").status_code == 404


def test_a_refused_report_lists_its_problems_in_italian(users, browser, ecm_world, monkeypatch):
    from ecm import participant_report
    from fse_fad.errors import Problem

    monkeypatch.setattr(participant_report.ParticipantChecker, "check",
                        lambda self, participant: [Problem("partecipante/@nome", "1-100 of a-zA-Z ',-.")])
    refused = browser(users["ecm"]).get(f"{EVENT}/report.xml")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Rapporto dei partecipanti rifiutato" in html
    assert html.count("<code>partecipante/@nome</code>") == 2 and "non è stato prodotto" in html


def test_a_trust_office_reads_only_its_trust_credits_and_never_the_report(http, users, browser, ecm_world, centro):
    office = browser(users["centro"])
    for path in (f"{EVENT}/report.xml", f"{EVENT}/report.csv", "/dashboard/ecm/due"):
        assert office.get(path).status_code == 403, path
    assert office.get(f"{EVENT}/certificates/{make_cf(5)}").status_code == 404  # AOU-CAREGGI's learner
    assert office.get(f"{EVENT}/certificates/{make_cf(1)}").data.startswith(b"%PDF")
    html = office.get(EVENT).get_data(as_text=True)
    api = http.get(f"{ECM}/events/123-4567/credits", headers=centro).get_json()["rows"]
    assert [row[0] for row in cells(html, "table-entries")] == [r["codice_fiscale"] for r in api] == [make_cf(1)]
    assert "report.xml" not in html and "Rapporti in scadenza" not in html and "Panoramica" in html
    events = office.get("/dashboard/ecm/").get_data(as_text=True)
    assert [row[7:] for row in cells(events, "table-events")] == [["1", "0", "1"]]
    assert make_cf(1) in office.get("/dashboard/ecm/flagged").get_data(as_text=True)
    # The regional office reads every trust, but the report is still the provider's.
    regional = browser(users["regional"])
    assert [row[7:] for row in cells(regional.get("/dashboard/ecm/").get_data(as_text=True), "table-events")] == \
        [["2", "0", "1"]]
    assert regional.get(f"{EVENT}/report.xml").status_code == 403


def test_the_funnel_counts_the_credits_issued_as_the_ecm_api(http, users, browser, ecm_world, centro, admin):
    for user, headers in (("centro", centro), ("regional", admin)):
        office = browser(users[user])
        rows = http.get(f"{ECM}/events/123-4567/credits", headers=headers).get_json()["rows"]
        credited = {r["codice_fiscale"] for r in rows if r["outcome"] == "credits"}
        clusters = {}
        for cf in credited:
            cluster = str(http.get(f"/api/v1/learners/{cf}", headers=headers).get_json()["cluster"])
            clusters[cluster] = clusters.get(cluster, 0) + 1
        shown = cells(office.get("/dashboard/").get_data(as_text=True), "table-funnel")
        assert {row[0]: int(row[7]) for row in shown[:-1] if row[7] != "0"} == clusters
        assert int(shown[-1][7]) == len(credited)
        download = csv_of(office.get("/dashboard/export/funnel.csv"))
        assert download[0][-1] == "Crediti rilasciati"
        assert [row[-1] for row in download[1:]] == [row[7] for row in shown]
