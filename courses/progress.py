"""Learner progress: a pure function of the learner's facts, kept up to date in the transaction
that stores the statements.

``summarize`` turns the facts of one learner in one course into a :class:`Snapshot`; nothing in
it depends on the order in which statements arrived, so late, repeated and out-of-order
statements give the same progress as a clean run, and voiding a statement simply removes its
fact. Keeping the summaries in the database is ``courses.projection``'s work.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from courses.catalogue import Course
from courses.interpretation import Fact

RESULT_KINDS = ("completed", "passed", "failed", "submitted")
STATUSES = ("not_started", "assessed", "in_progress", "completed", "test_failed", "attempts_exhausted")


@dataclass
class ModuleState:
    number: int
    code: str
    level: str | None = None
    launched_at: datetime | None = None
    completed_at: datetime | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Attempt:
    number: int
    percent: float | None
    passed: bool
    at: datetime
    statement_id: str

    def as_dict(self) -> dict:
        return {"number": self.number, "percent": self.percent, "passed": self.passed,
                "at": self.at.isoformat(), "statement_id": self.statement_id}


@dataclass
class Snapshot:
    course_code: str
    enrolled_at: datetime | None = None
    assessment_started_at: datetime | None = None
    assessment_completed_at: datetime | None = None
    assessment_statement_id: str | None = None
    objective_scores: dict[str, float] | None = None
    modules: dict[str, ModuleState] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    questionnaire_at: datetime | None = None
    questionnaire_statement_id: str | None = None
    sessions: dict[int, datetime] = field(default_factory=dict)
    hours_attended: float = 0.0
    completed_at: datetime | None = None
    last_activity_at: datetime | None = None
    status: str = "not_started"

    @property
    def passed_attempt(self) -> Attempt | None:
        return next((a for a in self.attempts if a.passed), None)


def _first(facts: list[Fact]) -> Fact | None:
    return facts[0] if facts else None


def _objective_scores(course: Course, completion: Fact, facts: list[Fact]) -> dict[str, float] | None:
    if completion.data.get("objective_scores"):
        scores = completion.data["objective_scores"]
        if set(course.objectives) <= set(scores):
            return {o: float(scores[o]) for o in course.objectives}
    code = course.assessment["code"]
    answers: dict[str, Fact] = {}
    for fact in facts:
        same_attempt = completion.registration is None or fact.registration == completion.registration
        if fact.kind == "answered" and fact.element_key.startswith(code + "/") and same_attempt \
                and fact.occurred_at <= completion.occurred_at and fact.success is not None:
            answers[fact.element_key] = fact  # facts are sorted: the latest answer wins
    if answers:
        totals: dict[str, int] = defaultdict(int)
        right: dict[str, int] = defaultdict(int)
        for question in course.assessment["questions"]:
            totals[question["objective"]] += 1
            fact = answers.get(f"{code}/{question['id']}")
            if fact is not None and fact.success:
                right[question["objective"]] += 1
        return {o: round(100.0 * right[o] / totals[o], 2) for o in course.objectives if totals[o]}
    if completion.score_percent is not None:
        return {o: completion.score_percent for o in course.objectives}
    return None


def _attempts(course: Course, facts: list[Fact]) -> list[Attempt]:
    final = course.data["final_test"]
    pass_percent = float(final["pass_percent"])
    results = [f for f in facts if f.element_key == final["code"] and f.kind in RESULT_KINDS
               and (f.score_percent is not None or f.success is not None or f.kind in ("passed", "failed"))]
    # One attempt may be told by several statements (completed, then passed or failed): the
    # statements of an attempt share its marker; without one, the pass/fail statement counts.
    decisive = {f.registration for f in results if f.kind in ("passed", "failed")}
    attempts: dict[tuple, Fact] = {}
    for fact in results:
        marker = fact.data.get("attempt")
        if marker is None and fact.kind not in ("passed", "failed") and fact.registration in decisive:
            continue
        key = (fact.registration, marker) if marker is not None else (fact.statement_id,)
        if key not in attempts or fact.kind in ("passed", "failed"):
            attempts[key] = fact
    ordered = sorted(attempts.values(), key=lambda f: (f.occurred_at, f.statement_id))
    out = []
    for number, fact in enumerate(ordered, start=1):
        if fact.score_percent is not None:
            passed = fact.score_percent >= pass_percent
        else:
            passed = fact.kind == "passed" or bool(fact.success)
        out.append(Attempt(number, fact.score_percent, passed, fact.occurred_at, fact.statement_id))
    return out


def summarize(course: Course, facts: Iterable[Fact], levels: dict[str, str] | None = None) -> Snapshot:
    """The progress of one learner in one course, from their facts alone."""
    facts = sorted(facts, key=lambda f: (f.occurred_at, f.statement_id))
    snapshot = Snapshot(course.code)
    if not facts:
        return snapshot
    snapshot.last_activity_at = facts[-1].occurred_at
    enrolments = [f for f in facts if f.kind == "enrolled"]
    snapshot.enrolled_at = (enrolments or facts)[0].occurred_at
    if course.kind == "fad":
        _summarize_fad(course, facts, snapshot, levels or {})
    else:
        _summarize_sessions(course, facts, snapshot)
    snapshot.status = status_of(course, snapshot)
    return snapshot


def _summarize_fad(course: Course, facts: list[Fact], snapshot: Snapshot, levels: dict[str, str]) -> None:
    assessment_code = course.assessment["code"]
    on_assessment = [f for f in facts if f.element_key == assessment_code
                     or f.element_key.startswith(assessment_code + "/")]
    if on_assessment:
        snapshot.assessment_started_at = on_assessment[0].occurred_at
    completion = _first([f for f in on_assessment if f.element_key == assessment_code and f.kind in RESULT_KINDS])
    if completion is not None:
        scores = _objective_scores(course, completion, facts)
        if scores is not None:
            snapshot.assessment_completed_at = completion.occurred_at
            snapshot.assessment_statement_id = completion.statement_id
            snapshot.objective_scores = scores

    for module in sorted(course.modules, key=lambda m: m["number"]):
        code = module["code"]
        state = ModuleState(module["number"], code, levels.get(code))
        mine = [f for f in facts if f.element_key == code or f.element_key.startswith(code + "/")]
        if mine:
            state.launched_at = mine[0].occurred_at
            done = [f for f in mine if f.kind in ("completed", "passed") or f.completion is True]
            if done:
                state.completed_at = done[0].occurred_at
                taken = course.element(done[0].element_key)
                state.level = (taken.level if taken and taken.level else None) or done[0].data.get("level") or state.level
            elif state.level is None:
                taken = course.element(mine[0].element_key)
                state.level = (taken.level if taken and taken.level else None) or mine[0].data.get("level")
            timed = [f for f in mine if f.kind == "terminated" and f.duration_seconds] or \
                [f for f in mine if f.duration_seconds]
            state.seconds = round(sum(f.duration_seconds for f in timed), 2)
        snapshot.modules[code] = state

    snapshot.attempts = _attempts(course, facts)
    questionnaire_code = course.data["questionnaire"]["code"]
    answered = _first([f for f in facts if f.element_key == questionnaire_code and f.kind in RESULT_KINDS])
    if answered is not None:
        snapshot.questionnaire_at = answered.occurred_at
        snapshot.questionnaire_statement_id = answered.statement_id

    max_attempts = int(course.data["final_test"]["max_attempts"])
    passed = next((a for a in snapshot.attempts[:max_attempts] if a.passed), None)
    modules_done = [m.completed_at for m in snapshot.modules.values()]
    if passed and snapshot.questionnaire_at and modules_done and all(modules_done):
        snapshot.completed_at = max([*modules_done, passed.at, snapshot.questionnaire_at])


def _summarize_sessions(course: Course, facts: list[Fact], snapshot: Snapshot) -> None:
    hours = {s["number"]: float(s["hours"]) for s in course.sessions}
    for fact in facts:
        if fact.kind in ("attended", "completed") and fact.element_key.startswith("sessione-"):
            number = int(fact.element_key.split("-", 1)[1])
            snapshot.sessions.setdefault(number, fact.occurred_at)
    snapshot.hours_attended = sum(hours.get(n, 0.0) for n in snapshot.sessions)
    if hours and set(hours) <= set(snapshot.sessions):
        snapshot.completed_at = max(snapshot.sessions.values())


def status_of(course: Course, snapshot: Snapshot) -> str:
    if snapshot.completed_at is not None:
        return "completed"
    if course.kind == "fad":
        max_attempts = int(course.data["final_test"]["max_attempts"])
        first = snapshot.attempts[:max_attempts]
        if len(first) >= max_attempts and not any(a.passed for a in first):
            return "attempts_exhausted"
        if snapshot.attempts and not any(a.passed for a in snapshot.attempts):
            return "test_failed"
        started = any(m.launched_at for m in snapshot.modules.values()) or snapshot.attempts \
            or snapshot.questionnaire_at
        if started:
            return "in_progress"
        if snapshot.assessment_completed_at:
            return "assessed"
        return "in_progress" if snapshot.assessment_started_at else "not_started"
    return "in_progress" if snapshot.sessions else "not_started"
