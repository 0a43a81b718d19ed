"""Roster import on SQLite and PostgreSQL: CSV with both delimiters and both encodings, XLSX, bad
rows reported by line and column, skip-invalid, re-import."""
import pytest
from sqlalchemy import func, select

from courses import operations
from courses.importing import RosterRejected, import_roster
from courses.models import Learner, LearnerIdentity, TrustMembership
from fse_fad.db import session_scope
from fse_fad.errors import BadRequest
from tests.courses_support import HEADER, MOODLE_WWWROOT, csv_bytes, make_cf, row, xlsx_bytes


@pytest.fixture
def run(session_factory):
    """Import ``content`` in its own transaction and return the report."""

    def run_import(content, **kwargs):
        kwargs.setdefault("moodle_home_page", MOODLE_WWWROOT)
        with session_scope(session_factory) as session:
            return import_roster(session, content, **kwargs)

    return run_import


def count(session_factory, model=Learner):
    with session_scope(session_factory) as session:
        return session.scalar(select(func.count()).select_from(model))


def learner(session_factory, code):
    with session_scope(session_factory) as session:
        found = session.scalar(select(Learner).where(Learner.codice_fiscale == code))
        session.expunge_all()
        return found


ACCENTED = [row(1, cognome="D'Alessandro", nome="Niccolò"), row(2, cognome="Müller", nome="Zoë", azienda="AOU-CAREGGI"),
            row(3, categoria="1.i", professione="1", disciplina="58", rapporto="convenzionato", azienda="USL-TNO"),
            row(4, categoria="3.ii", professione="", disciplina="", email="", moodle_username="")]


@pytest.mark.parametrize("delimiter,encoding", [(";", "utf-8"), (",", "utf-8"), (";", "cp1252"), (",", "cp1252"),
                                                (";", "utf-8-sig")])
def test_csv_import(run, session_factory, delimiter, encoding):
    report = run(csv_bytes(ACCENTED, delimiter, encoding))
    assert (report.rows, report.created, report.updated, report.skipped, report.problems) == (4, 4, 0, 0, [])
    assert count(session_factory) == 4
    first = learner(session_factory, make_cf(1))
    assert (first.surname, first.name) == ("D'Alessandro", "Niccolò")
    assert (first.trust_code, first.category_code, first.cluster) == ("USL-TC", "2.vi", 2)
    assert (first.profession_code, first.disciplines, first.ecm_eligible, first.employment) == (14, [85], True, "dipendente")
    assert learner(session_factory, make_cf(2)).surname == "Müller"
    mmg = learner(session_factory, make_cf(3))
    assert (mmg.cluster, mmg.profession_code, mmg.disciplines, mmg.employment) == (1, 1, [58], "convenzionato")
    cup = learner(session_factory, make_cf(4))
    assert (cup.cluster, cup.profession_code, cup.ecm_eligible, cup.email) == (3, None, False, None)


def test_identities_are_stored_as_xapi_agents(run, session_factory):
    run(csv_bytes([row(1)]))
    with session_scope(session_factory) as session:
        identities = {i.kind: i.agent for i in session.scalars(select(LearnerIdentity))}
    assert identities == {
        "moodle_account": {"objectType": "Agent", "account": {"homePage": MOODLE_WWWROOT, "name": "1001"}},
        "moodle_username": {"objectType": "Agent", "account": {"homePage": MOODLE_WWWROOT, "name": "user1"}},
        "email": {"objectType": "Agent", "mbox": "mailto:learner1@example.it"},
    }


def test_headers_forgive_case_and_spacing(run, session_factory):
    header = [" Codice Fiscale", "COGNOME", "Nome ", "E-Mail", "Azienda", "Categoria", "Professione", "Disciplina",
              "Rapporto", "Moodle ID", "moodle_username"]
    report = run(csv_bytes([row(1)], header=header))
    assert report.created == 1 and report.problems == []


def test_title_rows_above_the_header_are_skipped(run, session_factory):
    content = "Elenco del personale al 31/12/2025;;\n\n".encode("cp1252") + csv_bytes([row(1), row(2, categoria="x")],
                                                                                   encoding="cp1252")
    with pytest.raises(RosterRejected) as info:
        run(content)
    assert [(p.line, p.column) for p in info.value.report.problems] == [(5, "categoria")]


def test_cells_name_codes_or_names(run, session_factory):
    report = run(csv_bytes([row(1, azienda="usl toscana centro", categoria="2.VI", professione="Infermiere",
                                disciplina="", rapporto="D")]))
    assert report.problems == []
    found = learner(session_factory, make_cf(1))
    assert (found.trust_code, found.category_code, found.disciplines, found.employment) == \
        ("USL-TC", "2.vi", [85], "dipendente")


def test_xlsx_import(run, session_factory):
    report = run(xlsx_bytes(ACCENTED))
    assert (report.created, report.problems) == (4, [])
    assert learner(session_factory, make_cf(2)).name == "Zoë"
    with session_scope(session_factory) as session:
        names = set(session.scalars(select(LearnerIdentity.agent_key).where(LearnerIdentity.kind == "moodle_account")))
    assert f"account:{MOODLE_WWWROOT}|1001" in names  # 1001, not 1001.0


BAD = [
    row(1),
    row(2, codice_fiscale=make_cf(2)[:-1] + ("A" if make_cf(2)[-1] != "A" else "B")),  # line 3
    row(3, azienda="USL-XX"),                                          # line 4
    row(4, categoria="4.i"),                                           # line 5
    row(5, professione="14", disciplina="58"),                         # line 6
    row(6, rapporto=""),                                               # line 7
    row(7, email="not-an-email"),                                      # line 8
    row(1, cognome="Duplicate"),                                       # line 9
    row(9, categoria="1.i", professione="14"),                         # line 10
    row(10, moodle_id="12a"),                                          # line 11
    row(11, moodle_id="1001"),                                         # line 12: line 2's Moodle id
    row(12),                                                           # line 13
]
EXPECTED = [(3, "codice_fiscale", "wrong check character"), (4, "azienda", "unknown trust 'USL-XX'"),
            (5, "categoria", "unknown category '4.i'"), (6, "disciplina", "discipline '58' is not one of the profession"),
            (7, "rapporto", "required"), (8, "email", "not an email address"),
            (9, "codice_fiscale", "the same codice fiscale as line 2"),
            (10, "professione", "category 1.i requires the profession Medico chirurgo (1)"),
            (11, "moodle_id", "a Moodle user id is a positive whole number"),
            (12, "moodle_id", "the same identity as line 2")]


def _check_problems(problems):
    found = [(p.line, p.column, p.reason) for p in problems]
    assert len(found) == len(EXPECTED), found
    for (line, column, reason), (e_line, e_column, e_reason) in zip(found, EXPECTED):
        assert (line, column) == (e_line, e_column)
        assert reason.startswith(e_reason), reason


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_with_bad_rows_imports_nothing(run, session_factory, kind):
    content = csv_bytes(BAD, ",", "cp1252") if kind == "csv" else xlsx_bytes(BAD)
    with pytest.raises(RosterRejected) as info:
        run(content)
    _check_problems(info.value.report.problems)
    assert count(session_factory) == 0
    body = info.value.as_dict()
    assert body["status"] == 400 and body["skipped"] == 10
    assert body["errors"][0] == {"line": 3, "column": "codice_fiscale", "reason": "wrong check character",
                                 "field": "codice_fiscale", "rule": "wrong check character"}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_skip_invalid_imports_the_good_rows(run, session_factory, kind):
    content = csv_bytes(BAD) if kind == "csv" else xlsx_bytes(BAD)
    report = run(content, skip_invalid=True)
    _check_problems(report.problems)
    assert (report.rows, report.created, report.skipped) == (12, 2, 10)
    assert count(session_factory) == 2
    assert learner(session_factory, make_cf(12)) is not None


def test_missing_required_column_is_a_file_error(run):
    header = [c for c in HEADER if c != "azienda"]
    with pytest.raises(BadRequest) as info:
        run(csv_bytes([row(1)], header=header))
    assert info.value.problems[0].field == "azienda"


def test_text_that_is_neither_utf8_nor_cp1252(run):
    with pytest.raises(BadRequest, match="neither UTF-8 nor Windows-1252"):
        run(csv_bytes([row(1)]) + b"\x81\x8d")


def test_moodle_ids_need_a_moodle_site(run):
    with pytest.raises(BadRequest) as info:
        run(csv_bytes([row(1)]), moodle_home_page=None)
    assert info.value.problems[0].field == "moodle_site"


def test_reimport_updates_and_never_duplicates(run, session_factory):
    rows = [row(n) for n in range(1, 6)]
    run(csv_bytes(rows))
    before = learner(session_factory, make_cf(3))
    again = run(csv_bytes(rows, ",", "cp1252"))
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    rows[2] = row(3, email="new.address@example.it", azienda="AOU-PISANA", categoria="2.vii")
    changed = run(xlsx_bytes(rows + [row(6)]))
    assert (changed.created, changed.updated, changed.unchanged) == (1, 1, 4)
    assert count(session_factory) == 6
    after = learner(session_factory, make_cf(3))
    assert after.id == before.id
    assert (after.email, after.trust_code, after.category_code) == ("new.address@example.it", "AOU-PISANA", "2.vii")
    with session_scope(session_factory) as session:
        history = [(m.trust_code, m.until is None) for m in operations.trust_history(session, after.id)]
        mboxes = set(session.scalars(select(LearnerIdentity.agent_key).where(LearnerIdentity.learner_id == after.id)))
    assert history == [("USL-TC", False), ("AOU-PISANA", True)]
    assert "mbox:mailto:new.address@example.it" in mboxes and "mbox:mailto:learner3@example.it" not in mboxes
    assert count(session_factory, TrustMembership) == 7


def test_a_learner_who_changes_trust_keeps_the_assessment(run, session_factory):
    run(csv_bytes([row(1)]))
    with session_scope(session_factory) as session:
        operations.record_assessment(session, make_cf(1), scores={"accesso": 100, "integrazione": 0,
                                                                  "personalizzazione": 50, "policy": 80})
    run(csv_bytes([row(1, azienda="ESTAR", moodle_id="7777")]))
    with session_scope(session_factory) as session:
        path = operations.learner_path(session, make_cf(1))
        assert path["modules"][0]["level"] == "avanzato"
        assert operations.get_learner(session, make_cf(1)).trust_code == "ESTAR"


def test_identity_owned_by_another_learner_is_a_row_error(run, session_factory):
    run(csv_bytes([row(1)]))
    with pytest.raises(RosterRejected) as info:
        run(csv_bytes([row(2, moodle_id="1001")]))
    problem = info.value.report.problems[0]
    assert (problem.line, problem.column, problem.reason) == (2, "moodle_id", "the identity already belongs to another learner")
    # ...unless that learner gives it up in the same file.
    report = run(csv_bytes([row(1, moodle_id="5001"), row(2, moodle_id="1001")]))
    assert (report.created, report.updated) == (1, 1)


def test_training_office_imports_only_its_trust(run, session_factory):
    with pytest.raises(RosterRejected) as info:
        run(csv_bytes([row(1), row(2, azienda="AOU-MEYER")]), allowed_trust="USL-TC")
    problem = info.value.report.problems[0]
    assert (problem.line, problem.column) == (3, "azienda")
    assert "outside the trust of these credentials (USL-TC)" in problem.reason


def test_reimport_reactivates_a_deactivated_learner(run, session_factory):
    run(csv_bytes([row(1)]))
    with session_scope(session_factory) as session:
        operations.set_active(session, make_cf(1), False)
    assert learner(session_factory, make_cf(1)).active is False
    report = run(csv_bytes([row(1)]))
    assert report.updated == 1
    assert learner(session_factory, make_cf(1)).active is True


def test_a_bom_followed_by_invalid_utf8_is_a_clear_400():
    import pytest as _pytest

    from courses.importing import read_roster
    from fse_fad.errors import BadRequest

    with _pytest.raises(BadRequest) as refused:
        read_roster(b"\xef\xbb\xbf\x81\x8d\x8f\x90\x9d")  # bytes undefined in Windows-1252 too
    assert refused.value.problems[0].field == "file"
