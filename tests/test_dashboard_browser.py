"""The dashboard in headless Chromium (Debian's, driven by Playwright) against a real
``fse-fad serve`` fed by the FAD simulator: login, the overview's numbers against the reports API
of the same trust, a filter, downloads, a trust's user kept out of another trust, the language
switch, the ECM provider's events and participant report. Screenshots of the main pages go to test-artifacts/dashboard/."""
from __future__ import annotations

import csv
import io
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from openpyxl import load_workbook

from courses import simulator
from courses.catalogue import default_catalogue
from courses.moodle import load_mapping
from tests.courses_support import moodle_mapping_file
from tests.server import ServerProcess, fse_fad

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "dashboard"
PASSWORD = "password-del-cruscotto"
CATALOGUE = default_catalogue()


class World:
    """The server, its API clients and dashboard users."""

    def __init__(self, server: ServerProcess, tmp: Path):
        self.server = server
        self.admin = server.create_client("simulator", "--scope", "all", "--role", "admin")
        mapping = load_mapping(server.env["FSE_FAD_MOODLE_MAPPING"], CATALOGUE)
        simulation = simulator.simulate(80, seed=21, catalogue=CATALOGUE, moodle=mapping)
        simulator.run(simulation, server.url, *self.admin)
        by_trust = self.api_json("/api/v1/reports/completions?group_by=trust", self.admin)["rows"]
        ranked = sorted(by_trust, key=lambda r: (-r["completed"], r["key"]))
        self.trust, self.other_trust = ranked[0]["key"], ranked[1]["key"]
        self.office = server.create_client("office", "--role", "training-office", "--trust", self.trust)
        self.trust_user = f"ufficio@{self.trust.lower()}.example.it"
        self.regional_user = "regione@example.it"
        fse_fad("users", "create", self.trust_user, "--role", "training-office", "--trust", self.trust,
                "--password", PASSWORD, env=server.env, cwd=tmp)
        fse_fad("users", "create", self.regional_user, "--role", "training-office", "--regional",
                "--password", PASSWORD, env=server.env, cwd=tmp)

    def api(self, path: str, client) -> bytes:
        request = urllib.request.Request(self.server.url + path,
                                         headers={"Authorization": simulator._basic(*client)})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def api_json(self, path: str, client) -> dict:
        return simulator.api_request(self.server.url + path, *client)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dashboard")
    server = ServerProcess(f"sqlite:///{tmp / 'dashboard.db'}", tmp, workers=1,
                           env={"FSE_FAD_MOODLE_MAPPING": moodle_mapping_file(tmp / "moodle.json"),
                                "FSE_FAD_LANG": "it"})
    try:
        yield World(server, tmp)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    yield context.new_page()
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, world: World, email: str, password: str = PASSWORD) -> None:
    page.goto(world.server.url + "/dashboard/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Accedi").click()


def values(page, table_id: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr", "rows => rows.map(r => [...r.querySelectorAll('[data-value]')]"
                                 ".map(c => c.getAttribute('data-value')))")


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def xlsx_rows(content: bytes) -> list[list]:
    return [list(r) for r in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]


def test_login_with_a_wrong_then_the_right_password(page, world):
    log_in(page, world, world.trust_user, "password-sbagliata")
    assert page.get_by_role("alert").inner_text().startswith("E-mail o password non corretti")
    shot(page, "login-wrong-password")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Accedi").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Panoramica")
    assert world.trust_user in page.inner_text("header")


def test_the_overview_shows_the_numbers_of_the_reports_api(page, world):
    log_in(page, world, world.trust_user)
    shot(page, "overview-trust")
    funnel = world.api_json("/api/v1/reports/completions?group_by=cluster", world.office)
    # The funnel is the completions report with the credits issued as its last column.
    rows = [r[:-1] for r in values(page, "table-funnel")]
    assert rows[:-1] == [[r["key"], r["label"], str(r["learners"]), str(r["assessed"]), str(r["in_progress"]),
                          str(r["completed"]), repr(r["completion_rate"])] for r in funnel["rows"]]
    assert rows[-1][2:6] == [str(funnel["totals"][c]) for c in ("learners", "assessed", "in_progress", "completed")]
    targets = world.api_json("/api/v1/reports/targets", world.office)
    projects = [r for r in values(page, "table-targets") if r[2] == ""]
    assert [p[0] for p in projects[:-1]] == [p["course"] for p in targets["projects"]]
    assert [p[4:7] for p in projects[:-1]] == [[str(p["target"]), str(p["learners"]), str(p["completed"])]
                                               for p in targets["projects"]]
    assert page.get_attribute("#milestone-completed", "data-value") == str(targets["milestone"]["completed"])
    levels = world.api_json("/api/v1/reports/completions?group_by=level", world.office)
    assert [r[2:6] for r in values(page, "table-levels")[:-1]] == [
        [str(r["learners"]), str(r["assessed"]), str(r["in_progress"]), str(r["completed"])] for r in levels["rows"]]
    assessments = world.api_json("/api/v1/reports/assessments?group_by=cluster", world.office)
    assert [r[3] for r in values(page, "table-assessments")] == [
        str(r["assessed"]) for r in assessments["rows"]] + [str(t["assessed"]) for t in assessments["totals"]]
    # No request left the server: every resource of the page is the server's own.
    assert page.evaluate("performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin))")


def test_a_filter_and_its_downloads(page, world):
    log_in(page, world, world.regional_user)
    page.get_by_role("link", name="Discenti", exact=True).click()
    page.get_by_label("Stato").select_option("completed")
    page.get_by_label("Azienda").select_option(world.trust)
    page.get_by_role("button", name="Filtra").click()
    shot(page, "learners-filtered")
    query = f"status=completed&trust={world.trust}"
    expected = world.api_json(f"/api/v1/reports/learners?{query}&per_page=500", world.admin)
    assert page.get_attribute("#learners-total", "data-value") == str(expected["total"]) and expected["total"] > 0
    shown = [r[0] for r in values(page, "table-learners")]
    assert shown == [r["codice_fiscale"] for r in expected["rows"]][:50]
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="(CSV)").click()
    assert csv_rows(Path(csv_download.value.path()).read_bytes()) == csv_rows(
        world.api(f"/api/v1/reports/learners?{query}&format=csv", world.admin))
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="(XLSX)").click()
    assert xlsx_rows(Path(xlsx_download.value.path()).read_bytes()) == xlsx_rows(
        world.api(f"/api/v1/reports/learners?{query}&format=xlsx", world.admin))
    # From the list to a learner's progress.
    page.get_by_role("link", name=shown[0]).click()
    assert page.get_attribute("#learner-status", "data-value") == "completed"
    shot(page, "learner")


def test_an_overview_download_is_the_table_on_screen(page, world):
    log_in(page, world, world.trust_user)
    with page.expect_download() as download:
        page.locator("#funnel").get_by_role("link", name="(CSV)").click()
    assert [r[:-1] for r in csv_rows(Path(download.value.path()).read_bytes())] == csv_rows(
        world.api("/api/v1/reports/completions?group_by=cluster&format=csv", world.office))


def test_a_trust_user_cannot_reach_another_trust(page, world):
    others = world.api_json(f"/api/v1/reports/learners?trust={world.other_trust}&per_page=500", world.admin)["rows"]
    assert others
    log_in(page, world, world.trust_user)
    base = world.server.url + "/dashboard"
    assert page.goto(f"{base}/?trust={world.other_trust}").status == 403
    assert page.goto(f"{base}/learners?trust={world.other_trust}").status == 403
    assert page.goto(f"{base}/learners/{others[0]['codice_fiscale']}").status == 404
    shot(page, "other-trust-refused")
    assert page.goto(f"{base}/learners/export.csv?trust={world.other_trust}").status == 403
    seen = ""
    for path in ("/", "/learners", "/learners?per_page=500", "/learners?status=completed"):
        assert page.goto(base + path).status == 200
        seen += page.content()
    assert not any(r["codice_fiscale"] in seen for r in others)
    own = world.api(f"/api/v1/reports/learners?format=csv", world.office)
    assert not any(r["codice_fiscale"].encode() in own for r in others)


def test_the_language_switch_and_a_tablet(chromium, world):
    context = chromium.new_context(viewport={"width": 820, "height": 1180})
    page = context.new_page()
    try:
        log_in(page, world, world.regional_user)
        assert page.get_attribute("html", "lang") == "it"
        shot(page, "overview-regional-tablet")
        page.get_by_role("button", name="English").click()
        assert page.get_attribute("html", "lang") == "en"
        assert page.get_by_role("heading", level=1).inner_text().startswith("Overview")
        assert "Completion rate" in page.inner_text("#table-funnel")
        shot(page, "overview-english")
        page.get_by_role("button", name="Italiano").click()
        assert page.get_by_role("heading", level=1).inner_text().startswith("Panoramica")
        # The keyboard reaches the skip link first.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
    finally:
        context.close()


def test_the_provider_downloads_the_participant_report(page, world, tmp_path):
    from tests.ecm_support import event_input

    event = event_input(start_date="2026-01-01", end_date="2026-12-31")
    request = urllib.request.Request(world.server.url + "/api/v1/ecm/events", method="POST",
                                     data=json.dumps(event).encode(),
                                     headers={"Authorization": simulator._basic(*world.admin),
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
    issue = urllib.request.Request(world.server.url + f"/api/v1/ecm/events/{event['code']}/credits", method="POST",
                                   headers={"Authorization": simulator._basic(*world.admin)})
    with urllib.request.urlopen(issue, timeout=120) as response:
        issued = json.loads(response.read())
    assert issued["credits"] > 0
    provider = "provider@ecm.example.it"
    fse_fad("users", "create", provider, "--role", "ecm-provider", "--password", PASSWORD, env=world.server.env,
            cwd=tmp_path)
    log_in(page, world, provider)
    assert page.get_by_role("heading", level=1).inner_text() == "Eventi ECM"
    assert [r[7] for r in values(page, "table-events")] == [str(issued["credits"])]
    shot(page, "ecm-events")
    page.get_by_role("link", name=event["code"]).click()
    assert page.inner_text("#event-code") == event["code"]
    shot(page, "ecm-event")
    with page.expect_download() as download:
        page.get_by_role("link", name="(XML)").click()
    assert Path(download.value.path()).read_bytes() == world.api(f"/api/v1/ecm/events/{event['code']}/report.xml",
                                                                 world.admin)
