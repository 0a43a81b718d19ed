"""Learner progress: a pure function of the learner's facts, kept up to date in the transaction
that stores the statements.

``summarize`` turns the facts of one learner in one course into a :class:`Snapshot`; nothing in
it depends on the order in which statements arrived, so late, repeated and out-of-order
statements give the same progress as a clean run, and voiding a statement simply removes its
fact. Keeping the summaries in the database is ``courses.projection``'s work.

:class:`Fold` is the same function taken one fact at a time: what ``summarize`` needs to know of
the facts already seen (earliest and latest times, the first fact of each kind that decides
something, exact sums of durations), so that new facts can be added to stored progress without
reading the old ones. What cannot be folded (the final test's attempts; the initial assessment's
result, scored with the answers before it) is kept as ``summarize`` gives it, and read again from
the learner's few facts about the assessment and the final test when a new fact could change it.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction
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


def exact_sum(values: Iterable[float]) -> float:
    """The sum rounded once, from the exact sum: the same in any order and however the terms are
    grouped (a running float sum is not), so that a sum kept up to date fact by fact equals the
    sum of all facts. Infinite terms give the float sum."""
    values = list(values)
    if not all(math.isfinite(v) for v in values):
        return sum(values)
    return float(sum(map(Fraction, values), Fraction(0)))


def level_of(course: Course, fact: Fact) -> str | None:
    """The level a fact tells a module was taken at: its element's, or the content's extension."""
    taken = course.element(fact.element_key)
    return (taken.level if taken and taken.level else None) or fact.data.get("level")


def _first(facts: list[Fact]) -> Fact | None:
    return facts[0] if facts else None


def _direct_scores(course: Course, completion: Fact) -> dict[str, float] | None:
    """The scores per objective the content reported with the completion, if it reported them all."""
    scores = completion.data.get("objective_scores")
    if scores and set(course.objectives) <= set(scores):
        return {o: float(scores[o]) for o in course.objectives}
    return None


def _objective_scores(course: Course, completion: Fact, facts: list[Fact]) -> dict[str, float] | None:
    direct = _direct_scores(course, completion)
    if direct is not None:
        return direct
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
    _summarize_assessment(course, facts, snapshot)
    for module in sorted(course.modules, key=lambda m: m["number"]):
        code = module["code"]
        state = ModuleState(module["number"], code, levels.get(code))
        mine = [f for f in facts if f.element_key == code or f.element_key.startswith(code + "/")]
        if mine:
            state.launched_at = mine[0].occurred_at
            done = [f for f in mine if f.kind in ("completed", "passed") or f.completion is True]
            if done:
                state.completed_at = done[0].occurred_at
                state.level = level_of(course, done[0]) or state.level
            elif state.level is None:
                state.level = level_of(course, mine[0])
            timed = [f for f in mine if f.kind == "terminated" and f.duration_seconds] or \
                [f for f in mine if f.duration_seconds]
            state.seconds = round(exact_sum(f.duration_seconds for f in timed), 2)
        snapshot.modules[code] = state

    snapshot.attempts = _attempts(course, facts)
    questionnaire_code = course.data["questionnaire"]["code"]
    answered = _first([f for f in facts if f.element_key == questionnaire_code and f.kind in RESULT_KINDS])
    if answered is not None:
        snapshot.questionnaire_at = answered.occurred_at
        snapshot.questionnaire_statement_id = answered.statement_id
    _fad_completion(course, snapshot)


def _summarize_assessment(course: Course, facts: list[Fact], snapshot: Snapshot) -> Fact | None:
    """The initial assessment, from the sorted facts (all of them, or at least all about the
    assessment); returns its first result, which gives the scores if it can."""
    assessment_code = course.assessment["code"]
    on_assessment = [f for f in facts if f.element_key == assessment_code
                     or f.element_key.startswith(assessment_code + "/")]
    if on_assessment:
        snapshot.assessment_started_at = on_assessment[0].occurred_at
    completion = _first([f for f in on_assessment if f.element_key == assessment_code and f.kind in RESULT_KINDS])
    if completion is not None:
        scores = _objective_scores(course, completion, on_assessment)
        if scores is not None:
            snapshot.assessment_completed_at = completion.occurred_at
            snapshot.assessment_statement_id = completion.statement_id
            snapshot.objective_scores = scores
    return completion


def _fad_completion(course: Course, snapshot: Snapshot) -> None:
    max_attempts = int(course.data["final_test"]["max_attempts"])
    passed = next((a for a in snapshot.attempts[:max_attempts] if a.passed), None)
    modules_done = [m.completed_at for m in snapshot.modules.values()]
    if passed and snapshot.questionnaire_at and modules_done and all(modules_done):
        snapshot.completed_at = max([*modules_done, passed.at, snapshot.questionnaire_at])


def _session_number(fact: Fact) -> int | None:
    if fact.kind in ("attended", "completed") and fact.element_key.startswith("sessione-"):
        return int(fact.element_key.split("-", 1)[1])
    return None


def _summarize_sessions(course: Course, facts: list[Fact], snapshot: Snapshot) -> None:
    for fact in facts:
        number = _session_number(fact)
        if number is not None:
            snapshot.sessions.setdefault(number, fact.occurred_at)
    _sessions_completion(course, snapshot)


def _sessions_completion(course: Course, snapshot: Snapshot) -> None:
    hours = {s["number"]: float(s["hours"]) for s in course.sessions}
    snapshot.hours_attended = exact_sum(hours.get(n, 0.0) for n in snapshot.sessions)
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


# --- the same, one fact at a time ----------------------------------------------------------------

# The layout of what :meth:`Fold.as_json` stores: a stored state of another layout is not read
# (the learner's progress is recomputed from the facts, which stores it anew).
FOLD_LAYOUT = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

Key = tuple[int, str]  # (occurred_at in microseconds since the epoch, statement id): the order of summarize


def _us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _at(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def _number(value: int | Fraction) -> int | str:
    if isinstance(value, int):
        return value
    return value.numerator if value.denominator == 1 else str(value)


def _exact(value: int | str) -> int | Fraction:
    return value if isinstance(value, int) else Fraction(value)


def _key(fact: Fact) -> Key:
    return _us(fact.occurred_at), fact.statement_id


@dataclass
class ModuleFold:
    launched: Key  # the first fact about the module
    completed: Key | None  # the first fact that completed it
    level: str | None  # the level told by the completing fact, or else by the first one
    # Exact sums (an int while the durations are whole seconds, a Fraction otherwise).
    terminated: int | Fraction = 0  # of the durations of the terminating facts
    timed: int | Fraction = 0  # of all durations


def rereads(course: Course, fact: Fact) -> bool:
    """Whether a fact is one :meth:`Fold.reread` takes: about the initial assessment, or the
    final test itself (its attempts)."""
    if course.kind != "fad":
        return False
    element = fact.element_key
    assessment = course.assessment["code"]
    return element == assessment or element.startswith(assessment + "/") or \
        element == course.data["final_test"]["code"]


@dataclass
class Fold:
    """What ``summarize`` needs to know of the facts of one learner in one course to take new facts
    one at a time: ``snapshot()`` equals ``summarize`` of all the facts added. What cannot be
    folded, the initial assessment's result (its first result, scored with the answers before it)
    and the final test's attempts (statements grouped by attempt), is kept as summarize gives it;
    a new fact that could change it sets ``stale``, and :meth:`reread` then recomputes it from
    the learner's facts about the assessment and the final test (a few, not all)."""

    course_code: str
    first: int | None = None
    last: int | None = None
    enrolled: int | None = None
    # FAD courses: the initial assessment.
    assessment_started: int | None = None
    # The first result of the assessment: its key, registration, and whether it carries all scores.
    completion: tuple[int, str, str | None, bool] | None = None
    assessment_at: int | None = None  # as summarize gives them
    assessment_statement_id: str | None = None
    objective_scores: dict[str, float] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    questionnaire: Key | None = None
    modules: dict[str, ModuleFold] = field(default_factory=dict)
    # Courses made of sessions: the first attendance of each.
    sessions: dict[int, int] = field(default_factory=dict)
    # What is to be read again (:meth:`reread`) before the snapshot: "assessment" (its result, and
    # with it the attempts) or only "attempts".
    stale: set[str] = field(default_factory=set, compare=False)

    @classmethod
    def of(cls, course: Course, facts: Iterable[Fact]) -> Fold | None:
        """The state of all these facts; None when it cannot be kept (a duration too long for a
        float)."""
        facts = list(facts)
        fold = cls(course.code)
        if not all(fold.add(course, fact) for fact in facts):
            return None
        fold.reread(course, [f for f in facts if rereads(course, f)])
        return fold

    def reread(self, course: Course, facts: Iterable[Fact], assessment: bool = True) -> None:
        """Recompute the attempts, and unless told not to the assessment, from all the facts about
        them (any others are ignored), as summarize does."""
        self.stale = set()
        if course.kind != "fad":
            return
        facts = sorted((f for f in facts if rereads(course, f)), key=lambda f: (f.occurred_at, f.statement_id))
        self.attempts = _attempts(course, facts)
        if not assessment:
            return
        part = Snapshot(course.code)
        completion = _summarize_assessment(course, facts, part)
        self.assessment_started = _us(part.assessment_started_at) if part.assessment_started_at else None
        self.completion = None if completion is None else \
            (*_key(completion), completion.registration, _direct_scores(course, completion) is not None)
        self.assessment_at = _us(part.assessment_completed_at) if part.assessment_completed_at else None
        self.assessment_statement_id = part.assessment_statement_id
        self.objective_scores = part.objective_scores

    def add(self, course: Course, fact: Fact) -> bool:
        """Take one more fact; False (the state is then to be thrown away) when it cannot be kept."""
        key = _key(fact)
        us = key[0]
        if self.first is None or us < self.first:
            self.first = us
        if self.last is None or us > self.last:
            self.last = us
        if fact.kind == "enrolled" and (self.enrolled is None or us < self.enrolled):
            self.enrolled = us
        if course.kind != "fad":
            number = _session_number(fact)
            if number is not None and (number not in self.sessions or us < self.sessions[number]):
                self.sessions[number] = us
            return True
        element = fact.element_key
        assessment = course.assessment["code"]
        if element == assessment or element.startswith(assessment + "/"):
            if self.assessment_started is None or us < self.assessment_started:
                self.assessment_started = us
            if element == assessment and fact.kind in RESULT_KINDS:
                if self.completion is None or key < self.completion[:2]:
                    self.stale.add("assessment")  # a new first result: scored with the answers before it
            elif self.completion is not None and fact.kind == "answered" \
                    and element.startswith(assessment + "/") and fact.success is not None:
                at, _, registration, direct = self.completion
                if not direct and (registration is None or fact.registration == registration) and us <= at:
                    self.stale.add("assessment")  # an answer the result counts
        final = course.data["final_test"]["code"]
        if element == final and fact.kind in RESULT_KINDS and (
                fact.score_percent is not None or fact.success is not None or fact.kind in ("passed", "failed")):
            self.stale.add("attempts")  # an attempt, or a statement of one
        if element == course.data["questionnaire"]["code"] and fact.kind in RESULT_KINDS \
                and (self.questionnaire is None or key < self.questionnaire):
            self.questionnaire = key
        for module in course.modules:
            code = module["code"]
            if element == code or element.startswith(code + "/"):
                if not self._add_to_module(course, code, fact, key):
                    return False
        return True

    def _add_to_module(self, course: Course, code: str, fact: Fact, key: Key) -> bool:
        done = fact.kind in ("completed", "passed") or fact.completion is True
        state = self.modules.get(code)
        if state is None:
            state = self.modules[code] = ModuleFold(key, key if done else None, level_of(course, fact))
        else:
            first = key < state.launched
            if first:
                state.launched = key
            if done and (state.completed is None or key < state.completed):
                state.completed = key
                state.level = level_of(course, fact)
            elif first and state.completed is None:
                state.level = level_of(course, fact)
        if fact.duration_seconds:
            if not math.isfinite(fact.duration_seconds):
                return False
            seconds = float(fact.duration_seconds)
            duration = int(seconds) if seconds.is_integer() else Fraction(seconds)
            state.timed += duration
            if fact.kind == "terminated":
                state.terminated += duration
        return True

    def snapshot(self, course: Course) -> Snapshot:
        """What ``summarize`` gives for the facts added."""
        assert not self.stale, "reread() first"
        snapshot = Snapshot(course.code)
        if self.first is None:
            return snapshot
        snapshot.last_activity_at = _at(self.last)
        snapshot.enrolled_at = _at(self.first if self.enrolled is None else self.enrolled)
        if course.kind == "fad":
            if self.assessment_started is not None:
                snapshot.assessment_started_at = _at(self.assessment_started)
            if self.assessment_at is not None:
                snapshot.assessment_completed_at = _at(self.assessment_at)
            snapshot.assessment_statement_id = self.assessment_statement_id
            snapshot.objective_scores = dict(self.objective_scores) if self.objective_scores is not None else None
            for module in sorted(course.modules, key=lambda m: m["number"]):
                code = module["code"]
                state = ModuleState(module["number"], code)
                folded = self.modules.get(code)
                if folded is not None:
                    state.launched_at = _at(folded.launched[0])
                    state.completed_at = _at(folded.completed[0]) if folded.completed else None
                    state.level = folded.level
                    state.seconds = round(float(folded.terminated or folded.timed), 2)
                snapshot.modules[code] = state
            snapshot.attempts = list(self.attempts)
            if self.questionnaire is not None:
                snapshot.questionnaire_at = _at(self.questionnaire[0])
                snapshot.questionnaire_statement_id = self.questionnaire[1]
            _fad_completion(course, snapshot)
        else:
            snapshot.sessions = {number: _at(us) for number, us in self.sessions.items()}
            _sessions_completion(course, snapshot)
        snapshot.status = status_of(course, snapshot)
        return snapshot

    def as_json(self) -> dict:
        out: dict = {"first": self.first, "last": self.last, "enrolled": self.enrolled}
        if self.sessions:
            out["sessions"] = {str(n): us for n, us in sorted(self.sessions.items())}
        if self.assessment_started is not None or self.completion is not None or self.assessment_at is not None:
            out["assessment"] = [self.assessment_started, list(self.completion) if self.completion else None,
                                 self.assessment_at, self.assessment_statement_id, self.objective_scores]
        if self.attempts:
            out["attempts"] = [[a.number, a.percent, a.passed, _us(a.at), a.statement_id] for a in self.attempts]
        if self.questionnaire is not None:
            out["questionnaire"] = list(self.questionnaire)
        if self.modules:
            out["modules"] = {code: [*m.launched, *(m.completed or (None, None)), m.level, _number(m.terminated),
                                     _number(m.timed)] for code, m in sorted(self.modules.items())}
        return out

    @classmethod
    def from_json(cls, course_code: str, data: dict) -> Fold:
        fold = cls(course_code, data["first"], data["last"], data["enrolled"])
        fold.sessions = {int(n): us for n, us in (data.get("sessions") or {}).items()}
        if data.get("assessment"):
            started, completion, at, statement_id, scores = data["assessment"]
            fold.assessment_started = started
            fold.completion = tuple(completion) if completion else None
            fold.assessment_at, fold.assessment_statement_id, fold.objective_scores = at, statement_id, scores
        fold.attempts = [Attempt(n, percent, passed, _at(us), statement_id)
                         for n, percent, passed, us, statement_id in data.get("attempts") or ()]
        if data.get("questionnaire"):
            fold.questionnaire = tuple(data["questionnaire"])
        for code, (launched_us, launched_id, completed_us, completed_id, level, terminated, timed) \
                in (data.get("modules") or {}).items():
            fold.modules[code] = ModuleFold((launched_us, launched_id),
                                            (completed_us, completed_id) if completed_id is not None else None,
                                            level, _exact(terminated), _exact(timed))
        return fold
