"""The catalogue, reference data, path rules and Moodle mapping load validated: good files give the
FSE 2.0 programme, broken ones a clear error naming file and field."""
import json
import shutil

import pytest

from courses.catalogue import CATALOGUE_DIR, load_catalogue
from courses.datafiles import DataFileError
from courses.moodle import load_mapping
from courses.reference import REFERENCE_DIR, default_reference, load_reference
from tests.courses_support import MOODLE_WWWROOT, moodle_mapping_file


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_fad_course(catalogue):
    fad = catalogue.course("FAD-FSE")
    assert fad.kind == "fad" and fad.hours == 4 and fad.target_learners == 60000
    assert fad.objectives == ["accesso", "integrazione", "personalizzazione", "policy"]
    modules = fad.modules
    assert [m["number"] for m in modules] == list(range(1, 9))
    assert all(m["minutes"] == 30 for m in modules)
    for objective in fad.objectives:
        assert sum(m["objective"] == objective for m in modules) == 2
    for module in modules:
        assert list(module["levels"]) == ["base", "intermedio", "avanzato"]
    questions = fad.assessment["questions"]
    assert {q["objective"] for q in questions} == set(fad.objectives)
    final = fad.data["final_test"]
    assert final["pass_percent"] == 75 and final["max_attempts"] == 5
    assert len(final["questions"]) >= 3 * 4  # 3 questions per credit, 4 credits
    assert all(len(q["options"]) == 4 for q in final["questions"])
    assert fad.data["questionnaire"]["items"]


def test_every_element_has_a_stable_iri_and_type(catalogue):
    fad = catalogue.course("FAD-FSE")
    iris = [e.iri for c in catalogue.courses.values() for e in c.elements]
    assert len(iris) == len(set(iris))
    assert fad.element("course").iri == "https://formas.toscana.it/xapi/fse20/courses/fad-fse"
    level = fad.element("m03/avanzato")
    assert level.iri == fad.iri + "/m03/avanzato"
    assert (level.kind, level.objective, level.module, level.level, level.minutes) == \
        ("module-level", "integrazione", 3, "avanzato", 30)
    assert level.type == "http://adlnet.gov/expapi/activities/lesson"
    assert fad.element("valutazione-iniziale").type == "http://adlnet.gov/expapi/activities/assessment"
    assert fad.element("valutazione-iniziale/vi-01").objective == "accesso"
    # Loading twice gives the same IRIs: they depend on the data only.
    again = load_catalogue()
    assert [e.iri for e in again.course("FAD-FSE").elements] == [e.iri for e in fad.elements]


def test_the_other_three_projects(catalogue):
    fsc, trainers, managers = (catalogue.course(c) for c in ("FSC-MMG-PLS", "RES-FORMATORI", "RES-APICALI"))
    assert (fsc.kind, fsc.hours, fsc.target_learners) == ("fsc", 5, 3800)
    assert (trainers.kind, trainers.hours, trainers.target_learners) == ("res", 8, 115)
    assert (managers.kind, managers.hours, managers.target_learners) == ("res", 16, 100)
    assert [s["hours"] for s in managers.sessions] == [4, 4, 4, 4]
    assert managers.element("sessione-4").minutes == 240


def test_reference_data():
    reference = default_reference()
    assert set(reference.trusts) == {"USL-TC", "USL-TNO", "USL-TSE", "AOU-CAREGGI", "AOU-PISANA", "AOU-SENESE",
                                     "AOU-MEYER", "ISPRO", "ESTAR", "RT"}
    codes = set(reference.categories)
    assert {"1.i", "1.ii", "2.i", "2.x", "3.i", "3.xiv", "S"} <= codes
    assert len(codes) == 2 + 10 + 14 + 1
    assert all(reference.categories[c].cluster == int(c[0]) for c in codes if c != "S")
    assert sorted(reference.professions) == list(range(1, 31))
    assert reference.disciplines[58].profession == 1 and reference.disciplines[85].profession == 14
    assert reference.find("trust", " usl-tc ").code == "USL-TC"
    assert reference.find("profession", "infermiere").code == 14


# --- broken files ------------------------------------------------------------------------------------

@pytest.fixture
def copy(tmp_path):
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DIR, target)
    return target


def edit(path, change):
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def broken(directory, *expected):
    with pytest.raises(DataFileError) as info:
        load_catalogue(directory)
    message = str(info.value)
    for part in expected:
        assert part in message, message
    return info.value


def test_invalid_json_names_file_and_line(copy):
    (copy / "res-apicali.json").write_text('{"code": "RES-APICALI",\n "kind": }', encoding="utf-8")
    broken(copy, "res-apicali.json", "not valid JSON", "line 2")


def test_missing_level(copy):
    edit(copy / "fad-fse.json", lambda d: d["modules"][2]["levels"].pop("avanzato"))
    error = broken(copy, "fad-fse.json: modules[2].levels: missing level(s) avanzato")
    assert error.file == "fad-fse.json" and error.field == "modules[2].levels"


def test_unknown_field_is_a_typo(copy):
    edit(copy / "fsc-mmg-pls.json", lambda d: d.update(taget_learners=3800))
    broken(copy, "fsc-mmg-pls.json: taget_learners: Unknown field")


def test_wrong_type(copy):
    edit(copy / "res-formatori.json", lambda d: d.update(target_learners="115"))
    broken(copy, "res-formatori.json: target_learners")


def test_final_test_question_with_five_options(copy):
    edit(copy / "fad-fse.json", lambda d: d["final_test"]["questions"][4]["options"].append("Nessuna delle precedenti"))
    broken(copy, "fad-fse.json: final_test.questions[4].options: exactly 4 options")


def test_final_test_below_ecm_rules(copy):
    def change(d):
        d["final_test"]["pass_percent"] = 70
        d["final_test"]["max_attempts"] = 6
        del d["final_test"]["questions"][11:]

    edit(copy / "fad-fse.json", change)
    broken(copy, "final_test.pass_percent: at least 75", "final_test.max_attempts: at most 5",
           "final_test.questions: at least 3 questions per ECM credit: 12 for 4 credits")


def test_assessment_question_with_unknown_objective(copy):
    edit(copy / "fad-fse.json", lambda d: d["assessment"]["questions"][0].update(objective="privacy"))
    broken(copy, "assessment.questions[0].objective: one of accesso, integrazione, personalizzazione, policy")


def test_modules_must_fill_the_course_hours(copy):
    edit(copy / "fad-fse.json", lambda d: d["modules"][0].update(minutes=45))
    broken(copy, "fad-fse.json: modules: the modules last 255 minutes, the course 4")


def test_sessions_must_fill_the_course_hours(copy):
    edit(copy / "res-apicali.json", lambda d: d["sessions"].pop())
    broken(copy, "res-apicali.json: sessions: the sessions last 12 hours, the course 16")


def test_iri_base_without_query(copy):
    edit(copy / "res-apicali.json", lambda d: d.update(iri="https://formas.toscana.it/x?course=1"))
    broken(copy, "res-apicali.json: iri")


def test_two_courses_with_one_code(copy):
    shutil.copy(copy / "res-apicali.json", copy / "res-apicali-copia.json")
    broken(copy, "res-apicali", "defined twice")


@pytest.mark.parametrize("change,expected", [
    (lambda d: d["clusters"].update({"4": {"thresholds": {"intermedio": 1, "avanzato": 2}}}), "clusters.4: one of the clusters"),
    (lambda d: d["default"].update(intermedio=90), "default: the threshold of 'avanzato' cannot be below"),
    (lambda d: d["clusters"]["1"]["objectives"].update(privacy={"intermedio": 1, "avanzato": 2}),
     "clusters.1.objectives.privacy: one of the objectives"),
    (lambda d: d.update(course="RES-APICALI"), "course: the code of a FAD course"),
    (lambda d: d["default"].update(avanzato=120), "default.avanzato"),
])
def test_broken_path_rules(copy, change, expected):
    edit(copy / "path-rules.json", change)
    broken(copy, "path-rules.json", expected)


def test_broken_reference_data(tmp_path):
    target = tmp_path / "reference"
    shutil.copytree(REFERENCE_DIR, target)
    edit(target / "categories.json", lambda d: d["categories"][3].update(cluster=3))
    with pytest.raises(DataFileError, match=r"categories.json: categories\[3\].cluster: category 2.ii belongs to cluster 2"):
        load_reference(target)
    shutil.copy(REFERENCE_DIR / "categories.json", target / "categories.json")
    edit(target / "professions.json", lambda d: d["professions"][1]["disciplines"].append({"code": 85, "name": "x"}))
    with pytest.raises(DataFileError, match="discipline 85 already belongs to another profession"):
        load_reference(target)


# --- Moodle mapping ------------------------------------------------------------------------------------

def test_moodle_mapping_resolves_logstore_iris(catalogue, tmp_path):
    mapping = load_mapping(moodle_mapping_file(tmp_path / "moodle.json"), catalogue)
    resolved = mapping.resolve(f"{MOODLE_WWWROOT}/mod/scorm/view.php?id=311#sco", catalogue)
    assert (resolved.course, resolved.element.key) == ("FAD-FSE", "m01/base")
    attempt = mapping.resolve(f"{MOODLE_WWWROOT}/mod/quiz/attempt.php?attempt=7&cmid=340", catalogue)
    assert attempt.element.kind == "final-test"
    assert mapping.resolve("https://other.example.it/mod/scorm/view.php?id=311", catalogue) is None
    assert mapping.resolve(f"{MOODLE_WWWROOT}/mod/scorm/view.php?id=999", catalogue) is None
    assert mapping.launch_url("FAD-FSE", "m08/avanzato") == f"{MOODLE_WWWROOT}/mod/scorm/view.php?id=334"
    assert mapping.default_site.home_page == MOODLE_WWWROOT


def test_broken_moodle_mapping_names_file_and_field(catalogue, tmp_path):
    path = tmp_path / "moodle.json"
    path.write_text(json.dumps({"sites": [{"wwwroot": MOODLE_WWWROOT, "courses": {
        "FAD-FSE": {"mod/scorm/view.php?id=5": "m09/base", "mod/scorm/index.php": "m01"},
        "NOPE": {}}}]}), encoding="utf-8")
    with pytest.raises(DataFileError) as info:
        load_mapping(path, catalogue)
    message = str(info.value)
    assert f"{path}: sites[0].courses.FAD-FSE.mod/scorm/view.php?id=5: no element 'm09/base'" in message
    assert "sites[0].courses.FAD-FSE.mod/scorm/index.php: a Moodle path relative to wwwroot" in message
    assert "sites[0].courses.NOPE: a course code of the catalogue" in message


def test_app_does_not_start_with_a_broken_mapping(tmp_path):
    from fse_fad.app import create_app
    from fse_fad.config import Config

    path = tmp_path / "moodle.json"
    path.write_text("{}", encoding="utf-8")
    config = Config(database_url=f"sqlite:///{tmp_path / 'x.db'}", secret_key="k" * 40, moodle_mapping=str(path))
    with pytest.raises(DataFileError, match="sites"):
        create_app(config)
