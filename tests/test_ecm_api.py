"""The /api/v1/ecm endpoints and ``fse-fad ecm`` on SQLite and PostgreSQL: events validated on entry,
issuing, the report and its refusal, certificates and their verification, access by role and trust."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from lxml import etree

from fse_fad.cli import main
from tests.conftest import basic_auth
from tests.courses_support import make_cf
from tests.ecm_support import create_event, event_input, learner_journey
from tests.test_progress_tracking import config  # noqa: F401  (fixture)

BASE = "/api/v1/ecm"


@pytest.fixture
def provider(make_client):
    return basic_auth(*make_client("provider", [], role="ecm-provider"))


@pytest.fixture
def office(make_client):
    """The training office of USL Toscana Centro."""
    return basic_auth(*make_client("office", [], role="training-office", trust_code="USL-TC"))


def test_events_are_validated_on_entry(http, provider):
    too_long = event_input(start_date="2026-01-01", end_date="2027-01-02", credits="5.0", accrediting_body_code="9",
                           professions={"31": [1], "14": [58]}, course_code="NOPE")
    response = http.post(f"{BASE}/events", headers=provider, json=too_long)
    assert response.status_code == 400
    fields = {e["field"]: e["rule"] for e in response.get_json()["errors"]}
    assert set(fields) == {"accrediting_body_code"}  # the schema's own checks come first
    too_long["accrediting_body_code"] = "090"
    fields = {e["field"]: e["rule"] for e in http.post(f"{BASE}/events", headers=provider,
                                                       json=too_long).get_json()["errors"]}
    assert "365 days" in fields["end_date"] and "4.0" in fields["credits"]
    assert set(fields) >= {"professions.31", "professions.14.58", "course_code"}
    created = http.post(f"{BASE}/events", headers=provider, json=event_input(tutoring=True, training_typology=11,
                                                                             hours=40))
    assert created.status_code == 201
    body = created.get_json()
    assert body["credits"] == "50.0" and body["report_due"] == "2027-01-03"  # 40 h × 1.5 capped at 50
    assert http.post(f"{BASE}/events", headers=provider, json=event_input()).status_code == 409


def test_issue_report_certificate_and_verification(http, xapi, provider, office, session_factory):
    learner_journey(http, xapi, session_factory, 1)  # a nurse of USL-TC named Niccolò
    learner_journey(http, xapi, session_factory, 2, azienda="USL-TNO")
    learner_journey(http, xapi, session_factory, 3, categoria="3.ii", professione="", disciplina="")
    create_event(session_factory)
    issued = http.post(f"{BASE}/events/123-4567/credits", headers=provider).get_json()
    assert (issued["credits"], issued["attendance"]) == (2, 1)
    assert http.post(f"{BASE}/events/123-4567/credits", headers=provider).get_json()["credits"] == 0

    report = http.get(f"{BASE}/events/123-4567/report.xml", headers=provider)
    assert report.status_code == 200 and "ISO-8859-1" in report.headers["Content-Type"]
    root = etree.fromstring(report.data)
    people = root.findall("evento/partecipante")
    assert sorted(p.get("cod_fisc") for p in people) == sorted([make_cf(1), make_cf(2)])  # no attendance
    assert {p.get("nome") for p in people} == {"NICCOLO'"} and root[0].get("num_part") == "2"
    csv_report = http.get(f"{BASE}/events/123-4567/report.csv", headers=provider)
    assert csv_report.status_code == 200 and len(csv_report.data.decode("iso-8859-1").splitlines()) == 3

    # A trust's office reads its trust's credits and certificates only.
    rows = http.get(f"{BASE}/events/123-4567/credits", headers=office).get_json()["rows"]
    assert [r["codice_fiscale"] for r in rows] == [make_cf(1), make_cf(3)]
    assert http.get(f"{BASE}/events/123-4567/certificates/{make_cf(2)}", headers=office).status_code == 404
    pdf = http.get(f"{BASE}/events/123-4567/certificates/{make_cf(1)}", headers=office)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert b"Attestato di conseguimento dei crediti ECM" in pdf.data and b"4,0 crediti ECM" in pdf.data
    attendance = http.get(f"{BASE}/events/123-4567/certificates/{make_cf(3)}", headers=provider).data
    assert b"Attestato di partecipazione" in attendance and b"crediti ECM in qualit" not in attendance

    code = next(r for r in http.get(f"{BASE}/events/123-4567/credits", headers=provider).get_json()["rows"]
                if r["codice_fiscale"] == make_cf(1))
    entry_code = pdf.data.split(b"Codice di verifica: ")[1][:16].decode()
    verified = http.get(f"{BASE}/certificates/{entry_code}", headers=office).get_json()
    assert verified == {"code": entry_code, "status": "valid", "kind": "credits", "holder": "Niccolò RossiB",
                        "event": "123-4567", "edition": 1, "title": "FSE 2.0 – formazione generale",
                        "credits": "4.0", "date": "2026-10-05"}
    assert "codice_fiscale" not in verified and code["flagged"] is False
    assert http.get(f"{BASE}/certificates/AAAAAAAAAAAAAAAA", headers=office).status_code == 404


def test_an_invalid_report_is_refused_with_every_problem(http, xapi, provider, session_factory):
    # Names of no letters at all leave nothing once transliterated.
    learner_journey(http, xapi, session_factory, 1, nome="007")
    learner_journey(http, xapi, session_factory, 2, cognome="42")
    create_event(session_factory)
    http.post(f"{BASE}/events/123-4567/credits", headers=provider)
    refused = http.get(f"{BASE}/events/123-4567/report.xml", headers=provider)
    assert refused.status_code == 400
    fields = [e["field"] for e in refused.get_json()["errors"]]
    assert sorted(fields) == ["partecipante[1]/@nome", "partecipante[2]/@cognome"]


@pytest.mark.parametrize("role, trust, allowed", [
    ("fad-platform", None, set()),
    ("training-office", "USL-TC", {"events", "credits"}),
    ("ecm-provider", None, {"events", "credits", "issue", "report", "due", "create"}),
    ("admin", None, {"events", "credits", "issue", "report", "due", "create"}),
])
def test_access_by_role(http, make_client, session_factory, role, trust, allowed):
    headers = basic_auth(*make_client(role, [], role=role, trust_code=trust))
    create_event(session_factory)
    calls = {"events": ("get", f"{BASE}/events"), "credits": ("get", f"{BASE}/events/123-4567/credits"),
             "issue": ("post", f"{BASE}/events/123-4567/credits"), "report": ("get", f"{BASE}/events/123-4567/report.xml"),
             "due": ("get", f"{BASE}/reports/due"), "create": ("post", f"{BASE}/events")}
    for name, (method, url) in calls.items():
        response = getattr(http, method)(url, headers=headers, json=event_input(code="999-1") if name == "create"
                                         else None)
        if name in allowed:
            assert response.status_code not in (401, 403), (name, response.get_json())
        else:
            assert response.status_code == 403, name
    assert http.get(f"{BASE}/events").status_code == 401


def test_cli_adds_issues_and_writes_the_report(http, xapi, session_factory, config, tmp_path, monkeypatch):
    learner_journey(http, xapi, session_factory, 1)
    monkeypatch.setenv("FSE_FAD_DATABASE_URL", config.database_url)
    monkeypatch.setenv("FSE_FAD_SECRET_KEY", config.secret_key)
    monkeypatch.setenv("FSE_FAD_MOODLE_MAPPING", config.moodle_mapping)
    monkeypatch.setenv("FSE_FAD_LANG", "it")
    runner = CliRunner()
    run = lambda *args: runner.invoke(main, list(args))  # noqa: E731
    events_file = tmp_path / "events.json"
    events_file.write_text(json.dumps({"events": [event_input(), event_input(code="999-1", end_date="2027-02-01")]}))
    added = run("ecm", "add-events", str(events_file))
    assert added.exit_code == 1 and "events[1].end_date: a FAD event lasts at most 365 days" in added.output
    assert "events[0]" not in added.output  # the file is refused whole, each problem named
    events_file.write_text(json.dumps(event_input()))
    assert run("ecm", "add-events", str(events_file)).exit_code == 0
    issued = run("ecm", "issue", "123-4567")
    assert issued.exit_code == 0 and "Evento 123-4567: 1 registrazioni di crediti" in issued.output
    out = tmp_path / "rapporto.xml"
    written = run("ecm", "report", "123-4567", "--out", str(out))
    assert written.exit_code == 0, written.output
    assert etree.parse(str(out)).getroot()[0].get("num_part") == "1"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_verification_follows_corrections(http, xapi, provider, session_factory):
    from tests.test_ecm_credits import VERB, moodle_actor, post

    posted = learner_journey(http, xapi, session_factory, 1)
    create_event(session_factory)
    http.post(f"{BASE}/events/123-4567/credits", headers=provider)
    first = http.get(f"{BASE}/events/123-4567/certificates/{make_cf(1)}", headers=provider).data
    first_code = first.split(b"Codice di verifica: ")[1][:16].decode()
    post(http, xapi, [{"actor": moodle_actor(1), "verb": {"id": VERB + "voided"},
                       "object": {"objectType": "StatementRef", "id": posted[-1]["id"]}}])
    assert http.post(f"{BASE}/events/123-4567/credits", headers=provider).get_json()["corrections"] == 1
    assert http.get(f"{BASE}/certificates/{first_code}", headers=provider).get_json() == \
        {"code": first_code, "status": "revoked"}
    assert http.get(f"{BASE}/events/123-4567/certificates/{make_cf(1)}", headers=provider).status_code == 404
    flagged = http.get(f"{BASE}/events/123-4567/credits?flagged=true", headers=provider).get_json()
    assert [(r["outcome"], r["reason"], r["flagged"]) for r in flagged["rows"]] == \
        [("revoked", "statement_voided", True)]
    post(http, xapi, [{**posted[-1], "id": "7d1a4cbe-6a0e-4d7a-9a6f-2b1f0c3e5d11"}])
    http.post(f"{BASE}/events/123-4567/credits", headers=provider)
    assert http.get(f"{BASE}/certificates/{first_code}", headers=provider).get_json()["status"] == "superseded"
    second = http.get(f"{BASE}/events/123-4567/certificates/{make_cf(1)}", headers=provider).data
    second_code = second.split(b"Codice di verifica: ")[1][:16].decode()
    assert second_code != first_code
    assert http.get(f"{BASE}/certificates/{second_code}", headers=provider).get_json()["status"] == "valid"


def test_due_reports_list_ended_events_with_their_deadline(http, provider, session_factory):
    from datetime import date, timedelta

    today = date.today()
    create_event(session_factory, code="1-ended", start_date=(today - timedelta(days=100)).isoformat(),
                 end_date=(today - timedelta(days=10)).isoformat())
    create_event(session_factory, code="2-overdue", start_date=(today - timedelta(days=200)).isoformat(),
                 end_date=(today - timedelta(days=95)).isoformat())
    create_event(session_factory, code="3-running", start_date=(today - timedelta(days=10)).isoformat(),
                 end_date=(today + timedelta(days=10)).isoformat())
    due = http.get(f"{BASE}/reports/due", headers=provider).get_json()["events"]
    assert [(e["code"], e["days_left"], e["participants"]) for e in due] == [("2-overdue", -5, 0), ("1-ended", 80, 0)]
    assert due[1]["report_due"] == (today + timedelta(days=80)).isoformat()


def test_a_regional_office_reads_every_trust(http, xapi, make_client, provider, session_factory):
    learner_journey(http, xapi, session_factory, 1)
    learner_journey(http, xapi, session_factory, 2, azienda="USL-TNO")
    create_event(session_factory)
    http.post(f"{BASE}/events/123-4567/credits", headers=provider)
    regional = basic_auth(*make_client("regional", [], role="training-office", regional=True))
    rows = http.get(f"{BASE}/events/123-4567/credits", headers=regional).get_json()["rows"]
    assert sorted(r["trust"] for r in rows) == ["USL-TC", "USL-TNO"]
    other = basic_auth(*make_client("other", [], role="training-office", trust_code="USL-TSE"))
    assert http.get(f"{BASE}/events/123-4567/credits", headers=other).get_json()["rows"] == []


def test_cli_certificate_and_due_list(http, xapi, session_factory, config, tmp_path, monkeypatch):
    from datetime import date, timedelta

    learner_journey(http, xapi, session_factory, 1)
    create_event(session_factory, start_date="2026-01-15",
                 end_date=max(date(2026, 10, 5), date.today() - timedelta(days=1)).isoformat())
    for name, value in (("FSE_FAD_DATABASE_URL", config.database_url), ("FSE_FAD_SECRET_KEY", config.secret_key),
                        ("FSE_FAD_MOODLE_MAPPING", config.moodle_mapping), ("FSE_FAD_LANG", "it")):
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    missing = runner.invoke(main, ["ecm", "certificate", "123-4567", make_cf(1), "--out", str(tmp_path / "a.pdf")])
    assert missing.exit_code == 1 and "no certificate" in missing.output
    assert runner.invoke(main, ["ecm", "issue", "123-4567"]).exit_code == 0
    written = runner.invoke(main, ["ecm", "certificate", "123-4567", make_cf(1), "--out", str(tmp_path / "a.pdf")])
    assert written.exit_code == 0 and "Attestato scritto." in written.output
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    due = runner.invoke(main, ["ecm", "due"])
    assert due.exit_code == 0
    if date.today() > date(2026, 10, 5):
        assert "123-4567 edizione 1: rapporto entro il" in due.output and "1 partecipanti" in due.output


def test_a_code_that_cannot_exist_is_a_404_naming_the_field(http, provider):
    # Codes that no event can have are not looked up.
    for code in ("a%0A", "a%20b", "x" * 21):
        response = http.get(f"{BASE}/events/{code}/report.xml", headers=provider)
        assert response.status_code == 404, code
        assert response.get_json()["errors"][0]["field"] == "code"
