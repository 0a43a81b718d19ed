"""The projection's fast path (new facts added to a learner's stored state) gives exactly what the
full recomputation from all facts gives: for random facts, delivered in random batches and
orders, with voiding; for a learner imported after their statements; for a database whose states
are missing or of an older layout; and through ``fse-fad progress rebuild``. On SQLite and
PostgreSQL; the rules themselves (``Fold`` against ``summarize``) without a database."""
from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

import courses.projection as projection
from courses import counts
from courses.catalogue import default_catalogue
from courses.interpretation import ATTEMPT_EXTENSION, LEVEL_EXTENSION, OBJECTIVE_SCORES_EXTENSION, Interpreter
from courses.models import Assessment, Learner, LearnerProgress, ModuleProgress, ProgressFact, ProgressFold
from courses.moodle import MoodleMapping, load_mapping
from courses.progress import Fold, exact_sum, summarize
from courses.projection import Projector, rebuild, refresh
from fse_fad.db import session_scope
from tests.courses_support import make_cf
from tests.test_progress_rules import full_course
from tests.test_progress_tracking import as_learner, config, import_learners, moodle_actor, post  # noqa: F401

CATALOGUE = default_catalogue()
FAD = CATALOGUE.fad_course
SESSIONS = CATALOGUE.course("FSC-MMG-PLS")
INTERPRETER = Interpreter(CATALOGUE, MoodleMapping())
ADL = "http://adlnet.gov/expapi/verbs/"
START = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)
QUESTIONS = [f"{FAD.assessment['code']}/{q['id']}" for q in FAD.assessment["questions"][:6]]
# Modules, sessions and the questionnaire fold; most of the assessment and the final test do not:
# the former come more often, so that most batches take the fast path.
MODULES = ["m01", "m01/base", "m01/avanzato", "m02/intermedio", "m03/base", "m08/base"]
ELEMENTS = ([(FAD, key) for key in ["course", FAD.assessment["code"], *QUESTIONS[:3], *MODULES, *MODULES, *MODULES,
                                    FAD.data["final_test"]["code"], f"{FAD.data['final_test']['code']}/tf-01",
                                    FAD.data["questionnaire"]["code"], FAD.data["questionnaire"]["code"]]]
            + [(SESSIONS, key) for key in ["course", "sessione-1", "sessione-2", "sessione-3"] * 2])
VERBS = ["registered", "initialized", "progressed", "completed", "passed", "failed", "answered", "terminated",
         "attended", "suspended"]
REGISTRATIONS = [None, "6b1c9a8e-0000-4000-8000-000000000001", "6b1c9a8e-0000-4000-8000-000000000002"]
# Durations whose float sums depend on the order of the terms: only an exact sum is the same in any order.
DURATIONS = [None, None, "PT25M", "PT0.1S", "PT0.2S", "PT0.3S", "PT1.7S", "PT1H0.35S", "PT2.675S"]
_unique = itertools.count(1)


@st.composite
def statements(draw, actor: dict) -> dict:
    course, key = draw(st.sampled_from(ELEMENTS))
    moment = START + timedelta(minutes=draw(st.integers(0, 12)), seconds=draw(st.sampled_from([0, 0.5])))
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # The first characters order statements of the same moment; the last make the id unique.
    statement_id = f"{draw(st.integers(0, 15)):08x}-0000-4000-8000-{next(_unique):012x}"
    body = {"id": statement_id, "actor": actor, "verb": {"id": ADL + draw(st.sampled_from(VERBS))},
            "object": {"id": course.iri_of(key)}, "timestamp": stamp, "stored": stamp, "context": {}}
    registration = draw(st.sampled_from(REGISTRATIONS))
    if registration:
        body["context"]["registration"] = registration
    result = {}
    for name, values in (("completion", [None, True, False]), ("success", [None, True, False]),
                         ("duration", DURATIONS)):
        value = draw(st.sampled_from(values))
        if value is not None:
            result[name] = value
    if draw(st.booleans()):
        result["score"] = {"raw": draw(st.sampled_from([0, 40, 74, 75, 80, 100])), "min": 0, "max": 100}
    if draw(st.integers(0, 5)) == 0:
        objectives = FAD.objectives if draw(st.booleans()) else FAD.objectives[:2]
        result["extensions"] = {OBJECTIVE_SCORES_EXTENSION: {o: draw(st.sampled_from([0, 50, 100])) for o in objectives}}
    if result:
        body["result"] = result
    extensions = {}
    level = draw(st.sampled_from([None, None, "base", "avanzato"]))
    if level:
        extensions[LEVEL_EXTENSION] = level
    attempt = draw(st.sampled_from([None, None, "1", "2"]))
    if attempt:
        extensions[ATTEMPT_EXTENSION] = attempt
    if extensions:
        body["context"]["extensions"] = extensions
    return body


@st.composite
def deliveries(draw, actor: dict) -> list[tuple[list[dict], list[int]]]:
    """Statements in random batches and order, each batch possibly voiding earlier statements
    (by their position in the order of delivery)."""
    bodies = draw(st.lists(statements(actor), min_size=4, max_size=30))
    bodies = draw(st.permutations(bodies))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(bodies) - 1)), max_size=10)))
    batches, delivered, out = [], 0, []
    for start, end in zip([0, *cuts], [*cuts, len(bodies)]):
        if start < end:
            batches.append(bodies[start:end])
    for batch in batches:
        voided = sorted(draw(st.sets(st.integers(0, delivered - 1), max_size=2))) if delivered and \
            draw(st.integers(0, 4)) == 0 else []
        out.append((batch, voided))
        delivered += len(batch)
    return out


def facts(bodies: list[dict]):
    return [f for f in (INTERPRETER.interpret(b) for b in bodies) if f is not None]


# --- the rules, without a database --------------------------------------------------------------

def _fold_of(course, some):
    return Fold.of(course, some)


@settings(max_examples=300, deadline=None, database=None)
@given(deliveries(moodle_actor(1)))
def test_folding_new_facts_gives_what_summarize_gives_of_all(batches):
    seen, delivered = [], []
    state = {course.code: _fold_of(course, []) for course in (FAD, SESSIONS)}
    for batch, voided in batches:
        if voided:  # voiding is a recomputation: the state is made again from the facts that remain
            gone = {delivered[i]["id"] for i in voided}
            seen = [b for b in seen if b["id"] not in gone]
            state = {course.code: _fold_of(course, [f for f in facts(seen) if f.course_code == course.code])
                     for course in (FAD, SESSIONS)}
        seen += batch
        delivered += batch
        for course in (FAD, SESSIONS):
            everything = [f for f in facts(seen) if f.course_code == course.code]
            new = [f for f in facts(batch) if f.course_code == course.code]
            fold = Fold.from_json(course.code, json.loads(json.dumps(state[course.code].as_json())))
            assert all(fold.add(course, f) for f in new)
            if fold.stale:  # the assessment or the attempts: read again from the facts about them
                fold.reread(course, everything, assessment="assessment" in fold.stale)
            assert fold.snapshot(course) == summarize(course, everything)
            assert fold == _fold_of(course, everything)
            state[course.code] = fold


def test_sums_of_durations_do_not_depend_on_the_order_of_the_facts():
    values = [0.1, 0.2, 0.3, 2.675, 3600.35]
    assert 0.1 + 0.2 + 0.3 != 0.3 + 0.2 + 0.1
    assert exact_sum(values) == exact_sum(reversed(values)) == exact_sum(sorted(values))
    assert exact_sum([float("inf"), 1.0]) == float("inf")


def test_a_module_level_is_the_completing_facts_then_the_first_facts():
    def stmt(key, minutes, verb, level=None, completion=None):
        body = {"id": str(uuid.uuid4()), "actor": moodle_actor(1), "verb": {"id": ADL + verb},
                "object": {"id": FAD.iri_of(key)}, "stored": "2026-10-05T09:00:00Z",
                "timestamp": (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ"), "context": {}}
        if level:
            body["context"]["extensions"] = {LEVEL_EXTENSION: level}
        if completion is not None:
            body["result"] = {"completion": completion}
        return body

    launched_late = stmt("m01", 10, "initialized", "avanzato")
    launched_early = stmt("m01", 5, "initialized", "base")
    completed = stmt("m01/intermedio", 20, "completed", completion=True)
    fold = _fold_of(FAD, facts([launched_late]))
    assert fold.snapshot(FAD).modules["m01"].level == "avanzato"
    assert fold.add(FAD, facts([launched_early])[0]) and fold.snapshot(FAD).modules["m01"].level == "base"
    assert fold.add(FAD, facts([completed])[0]) and fold.snapshot(FAD).modules["m01"].level == "intermedio"
    earlier = stmt("m01", 1, "initialized", "avanzato")
    assert fold.add(FAD, facts([earlier])[0]) and fold.snapshot(FAD).modules["m01"].level == "intermedio"
    assert fold.snapshot(FAD) == summarize(FAD, facts([launched_late, launched_early, completed, earlier]))


def test_what_is_not_folded_is_read_again():
    course = full_course(test_raws=(60,))
    assessment_result = next(b for b in course if b["object"]["id"] == FAD.iri_of(FAD.assessment["code"])
                             and b["verb"]["id"].endswith("completed"))
    answers = [b for b in course if "/valutazione-iniziale/" in b["object"]["id"]]
    attempt = next(b for b in course if b["object"]["id"] == FAD.iri_of(FAD.data["final_test"]["code"]))
    without = [b for b in course if b is not assessment_result and b is not attempt and b is not answers[0]]

    def stale_after(state: Fold, body: dict) -> bool:
        fold = Fold.from_json(FAD.code, state.as_json())
        assert fold.add(FAD, facts([body])[0])
        return fold.stale

    fold = _fold_of(FAD, facts(without))
    assert stale_after(fold, attempt)
    # No result of the assessment yet: its answers only wait (the result will be scored with them).
    assert not stale_after(fold, answers[0])
    assert stale_after(fold, assessment_result)
    # Once it has a result, an answer of the same attempt given before it counts; a later one does not.
    done = _fold_of(FAD, facts([b for b in course if b is not answers[0]]))
    assert stale_after(done, answers[0])
    late = json.loads(json.dumps(answers[0]))
    late["id"], late["timestamp"] = str(uuid.uuid4()), "2026-10-06T09:00:00.000Z"
    assert not stale_after(done, late)
    # A module is never read again.
    module = next(b for b in course if "/m03/" in b["object"]["id"])
    assert not stale_after(_fold_of(FAD, facts([b for b in course if b is not module])), module)


# --- in the database --------------------------------------------------------------------------------

def _learner_id(session_factory, n: int) -> int:
    with session_scope(session_factory) as session:
        learner_id = session.scalar(select(Learner.id).where(Learner.codice_fiscale == make_cf(n)))
    if learner_id is None:
        import_learners(session_factory, n)
        return _learner_id(session_factory, n)
    return learner_id


def _clear(session, learner_id: int) -> None:
    rows, assessed = counts.module_rows_of(session, [learner_id])
    trust = {learner_id: session.scalar(select(Learner.trust_code).where(Learner.id == learner_id))}
    counts.apply_change(session, counts.tally(rows, trust, assessed), (Counter(), Counter()))
    counts.apply_objective_change(session, counts.objective_change(counts.objective_rows_of(session, [learner_id]),
                                                                   [], trust))
    for model in (ModuleProgress, LearnerProgress, ProgressFold, Assessment, ProgressFact):
        session.execute(delete(model).where(model.learner_id == learner_id))


def _utc(value):
    return value.astimezone(timezone.utc) if isinstance(value, datetime) and value.tzinfo else \
        value.replace(tzinfo=timezone.utc) if isinstance(value, datetime) else value


def stored(session_factory, learner_ids=None) -> dict:
    """Every row the projection keeps (of these learners), comparable between databases and runs."""
    out = {}
    with session_scope(session_factory) as session:
        for model, order in ((LearnerProgress, ("learner_id", "course_code")),
                             (ModuleProgress, ("learner_id", "course_code", "module_number")),
                             (ProgressFold, ("learner_id", "course_code")),
                             (Assessment, ("learner_id", "course_code"))):
            table = model.__table__
            query = select(*[c for c in table.columns if c.name != "id"]).order_by(*[table.c[o] for o in order])
            if learner_ids is not None:
                query = query.where(table.c.learner_id.in_(learner_ids))
            out[table.name] = [{k: _utc(v) for k, v in row.items()} for row in session.execute(query).mappings()]
        # Whatever the way the rows came, the reports' counts of them agree with them.
        assert counts.stored(session) == counts.recount(session)
        assert counts.stored_objectives(session) == counts.recount_objectives(session)
    return out


def test_random_batches_give_what_the_full_recomputation_gives(session_factory, monkeypatch):
    learner_id = _learner_id(session_factory, 1)
    projector = Projector(CATALOGUE, MoodleMapping())
    taken = {"fast": 0, "full": 0}
    added = projection._added

    def counting(*args):
        result = added(*args)
        taken["fast" if result is not None else "full"] += 1
        return result

    monkeypatch.setattr(projection, "_added", counting)

    @settings(max_examples=40, deadline=None, database=None, phases=[Phase.generate, Phase.shrink])
    @given(deliveries(moodle_actor(1)))
    def check(batches):
        with session_scope(session_factory) as session:
            _clear(session, learner_id)
        delivered = []
        for batch, voided in batches:
            with session_scope(session_factory) as session:
                projector(session, batch, {delivered[i]["id"] for i in voided})
            delivered += batch
        incremental = stored(session_factory, [learner_id])
        with session_scope(session_factory) as session:
            refresh(session, [learner_id], CATALOGUE)
        assert stored(session_factory, [learner_id]) == incremental

    check()
    assert taken["fast"] >= 10 and taken["full"] >= 10, taken


def test_voiding_recomputes_and_what_follows_is_added_again(http, xapi, session_factory, config):  # noqa: F811
    import_learners(session_factory, 1, 2)
    one = as_learner(full_course(test_raws=(60, 80)), 1)
    post(http, xapi, one[:40])
    before = stored(session_factory)
    post(http, xapi, [{"actor": moodle_actor(1), "verb": {"id": ADL + "voided"},
                       "object": {"objectType": "StatementRef", "id": one[38]["id"]}}])  # m06 completed
    assert stored(session_factory) != before
    post(http, xapi, one[40:])
    post(http, xapi, as_learner(full_course(), 2))
    incremental = stored(session_factory)
    assert [p["status"] for p in incremental["courses_learner_progress"]] == ["in_progress", "completed"]
    catalogue = default_catalogue()
    with session_scope(session_factory) as session:
        rebuild(session, catalogue, load_mapping(config.moodle_mapping, catalogue))
    assert stored(session_factory) == incremental


def test_a_learner_imported_after_their_statements(http, xapi, session_factory, config):  # noqa: F811
    statements = as_learner(full_course(test_raws=(50, 90)), 7)
    post(http, xapi, statements[:25])
    assert stored(session_factory)["courses_progress_folds"] == []
    import_learners(session_factory, 7)
    attached = stored(session_factory)
    assert len(attached["courses_progress_folds"]) == 1
    for start in range(25, len(statements), 6):
        post(http, xapi, statements[start:start + 6])
    incremental = stored(session_factory)
    assert incremental["courses_learner_progress"][0]["status"] == "completed"
    catalogue = default_catalogue()
    with session_scope(session_factory) as session:
        rebuild(session, catalogue, load_mapping(config.moodle_mapping, catalogue))
    assert stored(session_factory) == incremental


def test_a_database_without_states_heals_as_learners_are_touched(http, xapi, session_factory, monkeypatch):
    import_learners(session_factory, 1, 2)
    one, two = as_learner(full_course(), 1), as_learner(full_course(), 2)
    post(http, xapi, one[:30] + two[:30])
    # As after the migration (no states), and a state of another layout.
    with session_scope(session_factory) as session:
        first, second = sorted(session.scalars(select(Learner.id)))
        session.execute(delete(ProgressFold).where(ProgressFold.learner_id == first))
        session.execute(update(ProgressFold).where(ProgressFold.learner_id == second).values(layout=0))
    recomputed = []
    facts_of = projection._facts_of
    monkeypatch.setattr(projection, "_facts_of", lambda session, ids: recomputed.append(ids) or facts_of(session, ids))
    post(http, xapi, one[30:40] + two[30:40])
    assert recomputed == [[first, second]]
    post(http, xapi, one[40:46] + two[40:46])  # modules
    assert recomputed == [[first, second]]  # their states were stored: added to since
    post(http, xapi, one[46:] + two[46:])  # final test attempts: read again, but only those
    assert recomputed == [[first, second]]
    healed = stored(session_factory)
    assert {f["layout"] for f in healed["courses_progress_folds"]} == {projection.FOLD_LAYOUT}
    with session_scope(session_factory) as session:
        refresh(session, [first, second], CATALOGUE)
    assert stored(session_factory) == healed


def test_a_duration_too_long_for_a_float_keeps_no_state_and_is_recomputed(http, xapi, session_factory):
    import_learners(session_factory, 3)
    statements = as_learner(full_course(), 3)
    endless = next(s for s in statements if s["verb"]["id"].endswith("terminated"))
    endless["result"]["duration"] = "PT" + "9" * 400 + "S"
    assert facts([{**endless, "id": str(uuid.uuid4()), "stored": endless["timestamp"]}])[0].duration_seconds == \
        float("inf")
    post(http, xapi, statements[:30])
    assert stored(session_factory)["courses_progress_folds"] == []
    post(http, xapi, statements[30:])
    rows = stored(session_factory)
    assert rows["courses_progress_folds"] == [] and rows["courses_learner_progress"][0]["status"] == "completed"
    with session_scope(session_factory) as session:
        refresh(session, [rows["courses_learner_progress"][0]["learner_id"]], CATALOGUE)
    assert stored(session_factory) == rows


def test_batches_about_overlapping_learners_do_not_deadlock(session_factory, database_url, monkeypatch):
    """Each batch inserts its facts (a key-share lock on their learners, through the foreign key)
    before it locks the learners: the lock must not wait for the other batch's key-share lock."""
    import threading

    import pytest

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writing transaction at a time")
    ids = [_learner_id(session_factory, n) for n in (1, 2, 3)]
    projector = Projector(CATALOGUE, MoodleMapping())
    both_inserted = threading.Barrier(2, timeout=10)
    original = projection.project

    def after_both_inserted(*args):
        both_inserted.wait()
        return original(*args)

    monkeypatch.setattr(projection, "project", after_both_inserted)
    errors = []

    def batch(numbers):
        try:
            with session_scope(session_factory) as session:
                projector(session, [{**b, "actor": moodle_actor(n), "id": str(uuid.uuid4())}
                                    for n in numbers for b in full_course()[22:25]], set())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=batch, args=(numbers,)) for numbers in ((1, 2), (2, 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(session_factory) as session:
        assert sorted(session.scalars(select(LearnerProgress.learner_id))) == sorted([ids[0], ids[1], ids[2]])
