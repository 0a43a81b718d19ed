"""``fse-fad clients create`` checks the trust against the reference data; ``fse-fad learners``
imports rosters and says so in Italian."""
import json

import pytest
from click.testing import CliRunner

from fse_fad.cli import main
from tests.courses_support import csv_bytes, make_cf, moodle_mapping_file, row


@pytest.fixture
def cli(app, database_url, tmp_path, monkeypatch):
    """Run ``fse-fad`` against the test database (emptied by ``app``)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FSE_FAD_DATABASE_URL", database_url)
    monkeypatch.setenv("FSE_FAD_SECRET_KEY", "test-secret-key-" + "x" * 32)
    monkeypatch.setenv("FSE_FAD_MOODLE_MAPPING", moodle_mapping_file(tmp_path / "moodle.json"))
    monkeypatch.setenv("FSE_FAD_LANG", "it")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def test_clients_create_checks_the_trust(cli):
    result = cli("clients", "create", "Ufficio formazione", "--role", "training-office", "--trust", "USL-XX", "--json")
    assert result.exit_code != 0 and "USL-XX" in result.output and "USL-TC" in result.output
    result = cli("clients", "create", "Ufficio formazione", "--role", "training-office", "--json")
    assert result.exit_code != 0 and "--regional" in result.output
    result = cli("clients", "create", "Ufficio formazione", "--role", "training-office", "--trust", "usl-tc", "--json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output)) == {"key", "secret"}
    listed = json.loads(cli("clients", "list", "--json").output)
    assert listed[0]["trust"] == "USL-TC" and listed[0]["role"] == "training-office"
    assert cli("clients", "create", "Regione", "--role", "training-office", "--regional").exit_code == 0


def test_learners_import_reports_errors_in_italian(cli, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes([row(1), row(2, azienda="USL-XX")], ",", "cp1252"))
    result = cli("learners", "import", str(roster))
    assert result.exit_code == 1
    assert "riga 3, colonna azienda: azienda sconosciuta 'USL-XX'" in result.output
    assert "nulla è stato importato" in result.output
    result = cli("learners", "import", str(roster), "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "create: 1" in result.output and "scartate: 1" in result.output
    result = cli("learners", "import", str(roster), "--skip-invalid", "--json")
    assert json.loads(result.output)["unchanged"] == 1


def test_learners_show_deactivate_erase(cli, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes(csv_bytes([row(1)]))
    assert cli("learners", "import", str(roster)).exit_code == 0
    shown = json.loads(cli("learners", "show", make_cf(1)).output)
    assert shown["trust"] == "USL-TC" and shown["active"] is True
    assert cli("learners", "deactivate", make_cf(1)).exit_code == 0
    assert json.loads(cli("learners", "show", make_cf(1)).output)["active"] is False
    assert cli("learners", "erase", make_cf(1), "--yes").exit_code == 0
    result = cli("learners", "show", make_cf(1))
    assert result.exit_code != 0 and make_cf(1) in result.output


def test_courses_check_and_list(cli):
    result = cli("courses", "check")
    assert result.exit_code == 0, result.output
    assert "FAD-FSE" in result.output
    listed = json.loads(cli("courses", "list", "--json").output)
    assert [c["code"] for c in listed] == ["FAD-FSE", "FSC-MMG-PLS", "RES-APICALI", "RES-FORMATORI"]
