"""Progress as a pure function of a learner's facts (no database): the rules of interpretation."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from courses.catalogue import default_catalogue
from courses.interpretation import Interpreter, score_percent
from courses.moodle import MoodleMapping
from courses.progress import summarize

CATALOGUE = default_catalogue()
COURSE = CATALOGUE.fad_course
START = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)
ACTOR = {"objectType": "Agent", "account": {"homePage": "https://fad.example.toscana.it", "name": "41"}}
INTERPRETER = Interpreter(CATALOGUE, MoodleMapping())


def stmt(verb: str, key: str, minutes: int, result: dict | None = None, registration: str | None = None,
         extensions: dict | None = None) -> dict:
    moment = (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body = {"id": str(uuid.uuid4()), "actor": ACTOR, "verb": {"id": f"http://adlnet.gov/expapi/verbs/{verb}"},
            "object": {"id": COURSE.iri_of(key)}, "timestamp": moment, "stored": moment,
            "context": {"registration": registration or str(uuid.uuid4())}}
    if result:
        body["result"] = result
    if extensions:
        body["context"]["extensions"] = extensions
    return body


def score(raw: float) -> dict:
    return {"score": {"raw": raw, "min": 0, "max": 100}, "completion": True}


def facts_of(statements):
    return [f for f in (INTERPRETER.interpret(s) for s in statements) if f is not None]


def assessment_statements(correct_per_objective: dict[str, int]) -> list[dict]:
    registration = str(uuid.uuid4())
    code = COURSE.assessment["code"]
    out = [stmt("initialized", code, 0, registration=registration)]
    seen: dict[str, int] = {}
    for question in COURSE.assessment["questions"]:
        objective = question["objective"]
        seen[objective] = seen.get(objective, 0) + 1
        right = seen[objective] <= correct_per_objective.get(objective, 0)
        out.append(stmt("answered", f"{code}/{question['id']}", 1, {"success": right}, registration))
    out.append(stmt("completed", code, 2, {"completion": True}, registration))
    return out


def full_course(test_raws=(80,)) -> list[dict]:
    statements = assessment_statements({"accesso": 5, "integrazione": 2, "personalizzazione": 0, "policy": 3})
    for number, module in enumerate(COURSE.modules, start=1):
        key = f"{module['code']}/base"
        statements += [stmt("initialized", key, 10 * number),
                       stmt("completed", key, 10 * number + 5, {"completion": True, "duration": "PT25M"}),
                       stmt("terminated", key, 10 * number + 6, {"duration": "PT26M"})]
    for index, raw in enumerate(test_raws):
        statements.append(stmt("passed" if raw >= 75 else "failed", COURSE.data["final_test"]["code"], 200 + index,
                               score(raw)))
    statements.append(stmt("completed", COURSE.data["questionnaire"]["code"], 300, {"completion": True}))
    return statements


def test_a_complete_course_in_any_order_gives_the_same_progress():
    statements = full_course()
    expected = summarize(COURSE, facts_of(statements))
    assert expected.status == "completed"
    assert expected.completed_at == START + timedelta(minutes=300)
    assert expected.objective_scores == {"accesso": 100.0, "integrazione": 40.0, "personalizzazione": 0.0,
                                         "policy": 60.0}
    assert all(m.completed_at for m in expected.modules.values())
    assert expected.modules["m01"].seconds == 26 * 60  # the session time, not counted twice
    for seed in range(5):
        shuffled = list(statements)
        random.Random(seed).shuffle(shuffled)
        repeated = shuffled + shuffled[:7]  # a batch delivered twice carries the same statements
        repeated_facts = facts_of(shuffled) + facts_of(shuffled[:7])
        unique = {f.statement_id: f for f in repeated_facts}.values()
        assert summarize(COURSE, unique) == expected
        assert len(repeated) > len(statements)


def test_voiding_the_questionnaire_reopens_the_course():
    statements = full_course()
    questionnaire = statements[-1]
    without = [f for f in facts_of(statements) if f.statement_id != questionnaire["id"]]
    snapshot = summarize(COURSE, without)
    assert snapshot.completed_at is None and snapshot.questionnaire_at is None
    assert snapshot.status == "in_progress"


@pytest.mark.parametrize("raws, status, passed", [
    ((74.9,), "test_failed", False),
    ((75,), "completed", True),
    ((10, 20, 30, 40, 90), "completed", True),
    ((10, 20, 30, 40, 50), "attempts_exhausted", False),
    ((10, 20, 30, 40, 50, 95), "attempts_exhausted", False),
])
def test_final_test_pass_mark_and_five_attempts(raws, status, passed):
    snapshot = summarize(COURSE, facts_of(full_course(test_raws=raws)))
    assert snapshot.status == status
    assert (snapshot.completed_at is not None) == passed
    assert [a.number for a in snapshot.attempts] == list(range(1, len(raws) + 1))


def test_moodle_scaled_score_is_not_a_percentage():
    # Moodle: 50/100 gives scaled 0.0; the percentage is 50, never 0.
    assert score_percent({"score": {"raw": 50, "min": 0, "max": 100, "scaled": 0.0}}) == 50.0
    assert score_percent({"score": {"raw": 15, "min": 0, "max": 20, "scaled": 0.5}}) == 75.0
    assert score_percent({"score": {"scaled": 0.8}}) == 80.0


def test_an_attempt_told_by_completed_and_passed_counts_once():
    final = COURSE.data["final_test"]["code"]
    registration = str(uuid.uuid4())
    marker = {"https://formas.toscana.it/xapi/fse20/extensions/attempt": 1}
    statements = [stmt("completed", final, 1, score(60), registration, marker),
                  stmt("failed", final, 1, score(60), registration, marker),
                  stmt("completed", final, 5, score(90), registration, {**marker, **{
                      "https://formas.toscana.it/xapi/fse20/extensions/attempt": 2}}),
                  stmt("passed", final, 5, score(90), registration, {
                      "https://formas.toscana.it/xapi/fse20/extensions/attempt": 2})]
    snapshot = summarize(COURSE, facts_of(statements))
    assert [(a.number, a.percent, a.passed) for a in snapshot.attempts] == [(1, 60.0, False), (2, 90.0, True)]


def test_statements_about_other_activities_are_not_progress():
    foreign = stmt("completed", "m01", 1)
    foreign["object"]["id"] = "https://elsewhere.example.org/course/1"
    assert INTERPRETER.interpret(foreign) is None
    unknown_verb = stmt("m01", "m01", 1)
    unknown_verb["verb"]["id"] = "http://example.org/verbs/liked"
    assert INTERPRETER.interpret(unknown_verb) is None
