"""Progress kept from statements in the storing transaction, on SQLite and PostgreSQL: Moodle's
and the content's statements, late and repeated delivery, voiding, unmatched actors, rebuild."""
from __future__ import annotations

import json
import random
import uuid

import pytest
from sqlalchemy import select

from courses.catalogue import default_catalogue
from courses.importing import import_roster
from courses.models import Assessment, AssessmentObjective, LearnerProgress, ModuleProgress, ProgressFact
from courses.projection import rebuild
from courses.moodle import load_mapping
from fse_fad.config import Config
from fse_fad.db import session_scope
from tests.courses_support import MOODLE_WWWROOT, csv_bytes, make_cf, moodle_mapping_file, row
from tests.test_progress_rules import full_course

FAD = default_catalogue().fad_course
VERB = "http://adlnet.gov/expapi/verbs/"


@pytest.fixture
def config(database_url, tmp_path) -> Config:
    return Config(database_url=database_url, secret_key="test-secret-key-" + "x" * 32, public_url="http://lrs.test",
                  moodle_mapping=moodle_mapping_file(tmp_path / "moodle.json"))


def moodle_actor(n: int) -> dict:
    return {"objectType": "Agent", "name": f"Utente {n}", "account": {"homePage": MOODLE_WWWROOT, "name": str(1000 + n)}}


def as_learner(statements: list[dict], n: int) -> list[dict]:
    out = []
    for statement in statements:
        statement = json.loads(json.dumps(statement))
        statement["actor"] = moodle_actor(n)
        statement["id"] = str(uuid.uuid4())
        statement.pop("stored", None)
        out.append(statement)
    return out


def import_learners(session_factory, *numbers, **overrides):
    with session_scope(session_factory) as session:
        import_roster(session, csv_bytes([row(n, **overrides) for n in numbers]), moodle_home_page=MOODLE_WWWROOT)


def progress(session_factory, n: int) -> LearnerProgress | None:
    from courses.models import Learner

    with session_scope(session_factory) as session:
        learner = session.scalar(select(Learner).where(Learner.codice_fiscale == make_cf(n)))
        row = session.get(LearnerProgress, (learner.id, FAD.code))
        if row is not None:
            session.expunge(row)
        return row


def post(http, xapi, statements):
    response = http.post("/xapi/statements", headers=xapi, data=json.dumps(statements), content_type="application/json")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_content_statements_complete_the_course_and_give_levels(http, xapi, session_factory):
    import_learners(session_factory, 1)
    post(http, xapi, as_learner(full_course(), 1))
    done = progress(session_factory, 1)
    assert done.status == "completed" and done.modules_completed == 8 and done.test_attempts == 1
    assert done.objective_scores["accesso"] == 100.0
    # The assessment told by statements gives the levels, and the State document carries them.
    with session_scope(session_factory) as session:
        assessment = session.scalar(select(Assessment))
        assert assessment.statement_id is not None
        assert assessment.levels["m01"] == "avanzato" and assessment.levels["m05"] == "base"
    state = http.get("/xapi/activities/state?" + "&".join([
        f"activityId={FAD.iri}", "agent=" + json.dumps(moodle_actor(1)),
        "stateId=https://formas.toscana.it/xapi/fse20/state/levels"]), headers=xapi)
    assert state.status_code == 200 and state.get_json()["levels"]["m01"] == "avanzato"


def objectives_of(session_factory) -> list[tuple]:
    with session_scope(session_factory) as session:
        return [tuple(r) for r in session.execute(
            select(AssessmentObjective.learner_id, AssessmentObjective.objective, AssessmentObjective.score,
                   AssessmentObjective.level, AssessmentObjective.cluster, AssessmentObjective.course_code)
            .order_by(AssessmentObjective.learner_id, AssessmentObjective.objective))]


def first_modules() -> dict[str, str]:
    first: dict[str, str] = {}
    for module in sorted(FAD.modules, key=lambda m: m["number"]):
        first.setdefault(module["objective"], module["code"])
    return first


def test_an_assessments_objectives_are_rows_that_follow_it(http, xapi, session_factory):
    import_learners(session_factory, 1)
    statements = as_learner(full_course(), 1)
    post(http, xapi, statements)
    with session_scope(session_factory) as session:
        assessment = session.scalar(select(Assessment))
        learner_id, cluster, levels = assessment.learner_id, assessment.cluster, assessment.levels
    first = first_modules()
    assert objectives_of(session_factory) == [
        (learner_id, "accesso", 100.0, levels[first["accesso"]], cluster, FAD.code),
        (learner_id, "integrazione", 40.0, levels[first["integrazione"]], cluster, FAD.code),
        (learner_id, "personalizzazione", 0.0, levels[first["personalizzazione"]], cluster, FAD.code),
        (learner_id, "policy", 60.0, levels[first["policy"]], cluster, FAD.code)]
    assert levels[first["accesso"]] == "avanzato"
    # Voiding the assessment's completion takes the assessment back, and its objectives with it.
    completion = next(s for s in statements if s["verb"]["id"] == VERB + "completed"
                      and s["object"]["id"] == FAD.iri_of(FAD.assessment["code"]))
    post(http, xapi, [{"actor": moodle_actor(1), "verb": {"id": VERB + "voided"},
                       "object": {"objectType": "StatementRef", "id": completion["id"]}}])
    with session_scope(session_factory) as session:
        assert session.scalar(select(Assessment)) is None
    assert objectives_of(session_factory) == []


def test_out_of_order_repeated_and_split_delivery_gives_the_same_progress(http, xapi, session_factory):
    import_learners(session_factory, 1, 2)
    clean = as_learner(full_course(test_raws=(60, 80)), 1)
    post(http, xapi, clean)
    messy = as_learner(full_course(test_raws=(60, 80)), 2)
    random.Random(3).shuffle(messy)
    for start in range(0, len(messy), 7):
        chunk = messy[start:start + 7]
        post(http, xapi, chunk)
        post(http, xapi, chunk)  # a batch Moodle sends again
    first, second = progress(session_factory, 1), progress(session_factory, 2)
    columns = [c for c in LearnerProgress.__table__.columns.keys() if c not in ("learner_id", "attempts",
                                                                                 "questionnaire_statement_id")]
    assert {c: getattr(first, c) for c in columns} == {c: getattr(second, c) for c in columns}
    assert [a["percent"] for a in second.attempts] == [60.0, 80.0]


def test_statements_without_ids_one_per_request_give_the_same_progress(http, xapi, session_factory):
    # Moodle's way: no ids, and activities whose definitions the LRS soon remembers. The projection
    # has work with each of these statements, so each is stored in a transaction that keeps it.
    import_learners(session_factory, 1, 2)
    post(http, xapi, as_learner(full_course(test_raws=(60, 80)), 1))
    for statement in as_learner(full_course(test_raws=(60, 80)), 2):
        del statement["id"]
        post(http, xapi, statement)
    first, second = progress(session_factory, 1), progress(session_factory, 2)
    columns = [c for c in LearnerProgress.__table__.columns.keys() if c not in ("learner_id", "attempts",
                                                                                 "questionnaire_statement_id")]
    assert second.status == "completed"
    assert {c: getattr(first, c) for c in columns} == {c: getattr(second, c) for c in columns}


def test_voiding_reopens_and_unvoided_statements_still_count(http, xapi, session_factory):
    import_learners(session_factory, 1)
    statements = as_learner(full_course(), 1)
    post(http, xapi, statements)
    questionnaire = statements[-1]
    post(http, xapi, [{"actor": moodle_actor(1), "verb": {"id": VERB + "voided"},
                       "object": {"objectType": "StatementRef", "id": questionnaire["id"]}}])
    reopened = progress(session_factory, 1)
    assert reopened.status == "in_progress" and reopened.completed_at is None and reopened.questionnaire_at is None


def test_moodle_statements_map_through_the_site_configuration(http, xapi, session_factory):
    import_learners(session_factory, 1)
    registration = str(uuid.uuid4())
    moodle = []
    for cmid in (311, 314):  # m01/base, m02/base
        moodle.append({"actor": moodle_actor(1), "verb": {"id": VERB + "completed"},
                       "object": {"id": f"{MOODLE_WWWROOT}/mod/scorm/view.php?id={cmid}#sco",
                                  "definition": {"type": "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/scorm-content-object"}},
                       "result": {"score": {"raw": 100, "min": 0, "max": 100, "scaled": 1}},
                       "context": {"platform": "Moodle", "registration": registration,
                                   "contextActivities": {"parent": [{"id": f"{MOODLE_WWWROOT}/mod/scorm/view.php?id={cmid}"}]}},
                       "timestamp": "2026-10-05T10:00:00+02:00"})
    # A final-test attempt at 50/100: Moodle's scaled score is 0.0, the percentage is 50.
    moodle.append({"actor": moodle_actor(1), "verb": {"id": VERB + "completed"},
                   "object": {"id": f"{MOODLE_WWWROOT}/mod/quiz/attempt.php?attempt=7&cmid=340"},
                   "result": {"score": {"raw": 50, "min": 0, "max": 100, "scaled": 0.0}, "success": True,
                              "completion": True},
                   "context": {"platform": "Moodle", "registration": registration,
                               "contextActivities": {"parent": [{"id": f"{MOODLE_WWWROOT}/mod/quiz/view.php?id=340"}]}},
                   "timestamp": "2026-10-05T11:00:00+02:00"})
    post(http, xapi, moodle)
    current = progress(session_factory, 1)
    assert current.modules_completed == 2
    assert current.test_attempts == 1 and current.test_best_percent == 50.0 and current.test_passed_at is None
    assert current.status == "test_failed"
    with session_scope(session_factory) as session:
        levels = {m.module_code: m.level for m in session.scalars(select(ModuleProgress))}
    assert levels == {"m01": "base", "m02": "base"}


def test_unmatched_actors_wait_for_the_learner(http, xapi, session_factory):
    post(http, xapi, as_learner(full_course(), 5))
    with session_scope(session_factory) as session:
        waiting = session.scalars(select(ProgressFact).where(ProgressFact.learner_id.is_(None))).all()
        assert len(waiting) > 20
    import_learners(session_factory, 5)
    assert progress(session_factory, 5).status == "completed"


def test_rebuild_agrees_with_incremental_progress(http, xapi, session_factory, config):
    import_learners(session_factory, 1, 2, 3)
    post(http, xapi, as_learner(full_course(), 1))
    post(http, xapi, as_learner(full_course(test_raws=(10, 20)), 2))
    partial = as_learner(full_course(), 3)[:30]
    post(http, xapi, partial)
    post(http, xapi, [{"actor": moodle_actor(3), "verb": {"id": VERB + "voided"},
                       "object": {"objectType": "StatementRef", "id": partial[-1]["id"]}}])

    def snapshot():
        with session_scope(session_factory) as session:
            progress_rows = [tuple(getattr(r, c) for c in LearnerProgress.__table__.columns.keys())
                             for r in session.scalars(select(LearnerProgress).order_by(LearnerProgress.learner_id))]
            module_rows = [tuple(getattr(r, c) for c in ModuleProgress.__table__.columns.keys())
                           for r in session.scalars(select(ModuleProgress).order_by(
                               ModuleProgress.learner_id, ModuleProgress.module_number))]
            levels = [(a.learner_id, a.levels) for a in session.scalars(select(Assessment).order_by(Assessment.learner_id))]
        return progress_rows, module_rows, levels, objectives_of(session_factory)

    incremental = snapshot()
    assert len(incremental[0]) == 3
    catalogue = default_catalogue()
    with session_scope(session_factory) as session:
        rebuild(session, catalogue, load_mapping(config.moodle_mapping, catalogue))
    assert snapshot() == incremental


def test_an_assessment_recorded_through_the_api_counts_as_progress(session_factory):
    from courses.operations import record_assessment

    import_learners(session_factory, 1)
    with session_scope(session_factory) as session:
        record_assessment(session, make_cf(1), scores={"accesso": 80, "integrazione": 60,
                                                       "personalizzazione": 20, "policy": 40})
    assessed = progress(session_factory, 1)
    assert assessed.status == "assessed" and assessed.objective_scores["accesso"] == 80
    assert [(objective, score) for _learner, objective, score, *_ in objectives_of(session_factory)] == [
        ("accesso", 80.0), ("integrazione", 60.0), ("personalizzazione", 20.0), ("policy", 40.0)]


def test_erasure_keeps_counting_through_a_rebuild_and_lists_nothing_as_unmatched(http, xapi, session_factory, config):
    from courses.operations import erase_learner
    from courses.projection import unmatched

    import_learners(session_factory, 1)
    post(http, xapi, as_learner(full_course(), 1))
    with session_scope(session_factory) as session:
        learner_id = erase_learner(session, make_cf(1))
    catalogue = default_catalogue()
    with session_scope(session_factory) as session:
        rebuild(session, catalogue, load_mapping(config.moodle_mapping, catalogue))
        row = session.get(LearnerProgress, (learner_id, FAD.code))
        assert row is not None and row.status == "completed"
        assert unmatched(session)[0] == 0
        keys = session.scalars(select(ProgressFact.agent_key)).all()
        assert keys and all(k.startswith("erased:") for k in keys)
    # Statements that arrive after the erasure still count for the nameless learner.
    post(http, xapi, as_learner(full_course(), 1)[:3])
    with session_scope(session_factory) as session:
        assert unmatched(session)[0] == 0
