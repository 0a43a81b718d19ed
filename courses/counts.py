"""The counts the module, level and assessments reports add up (``ModuleCount``,
``ObjectiveCount``), kept with the rows they count.

Counting every module row (some 350,000 over 60,000 learners) joined to its learner's progress
took 300-400 ms per report, and every assessment's objective rows joined to their learners near
300; the counts are at most one row per course, trust, module, level and day of completion, and
per course, trust, cluster, objective, level and score. They change in the transaction that
changes the rows, by the difference between the rows replaced and those written, so they always
agree with the rows; a learner moving to another trust takes their counts along. ``recount`` and
``recount_objectives`` compute them from the rows: for the migration that introduced them, and
for the tests that hold the two equal.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Iterable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from courses.models import AssessmentObjective, Learner, LearnerProgress, ModuleCount, ModuleProgress, ObjectiveCount
from fse_fad.bulk import add_many, matching

# Days of completion are days in Italy, as the reports' periods.
ROME = ZoneInfo("Europe/Rome")
NOT_COMPLETED = 0

CountKey = tuple[str, str, str, str, int]  # course, trust, module, level, completed day


def completed_day(moment: datetime | None) -> int:
    if moment is None:
        return NOT_COMPLETED
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ROME).date().toordinal()


def count_key(module_row: Mapping, trust_code: str) -> CountKey:
    return (module_row["course_code"], trust_code, module_row["module_code"], module_row["level"] or "",
            completed_day(module_row["completed_at"]))


def tally(module_rows: Iterable[Mapping], trust_of: Mapping[int, str],
          assessed: set[tuple[int, str]]) -> tuple[Counter, Counter]:
    """Launched and assessed module rows per count key. ``assessed`` holds the (learner, course)
    pairs whose initial assessment is completed."""
    launched, of_assessed = Counter(), Counter()
    for row in module_rows:
        trust = trust_of.get(row["learner_id"])
        if trust is None:
            continue
        key = count_key(row, trust)
        launched[key] += 1
        if (row["learner_id"], row["course_code"]) in assessed:
            of_assessed[key] += 1
    return launched, of_assessed


def apply_change(session: Session, before: tuple[Counter, Counter], after: tuple[Counter, Counter]) -> None:
    """Add to the stored counts the difference between two tallies."""
    (launched_before, assessed_before), (launched_after, assessed_after) = before, after
    rows = []
    for key in set(launched_before) | set(launched_after):
        launched = launched_after[key] - launched_before[key]
        assessed = assessed_after[key] - assessed_before[key]
        if launched or assessed:
            course_code, trust_code, module_code, level, day = key
            rows.append({"course_code": course_code, "trust_code": trust_code, "module_code": module_code,
                         "level": level, "completed_day": day, "launched": launched, "assessed": assessed})
    add_many(session, ModuleCount.__table__, rows)


def assessed_pairs(progress_rows: Iterable[Mapping]) -> set[tuple[int, str]]:
    return {(row["learner_id"], row["course_code"]) for row in progress_rows
            if row.get("assessment_completed_at") is not None}


_MODULE_COLUMNS = (ModuleProgress.learner_id, ModuleProgress.course_code, ModuleProgress.module_code,
                   ModuleProgress.level, ModuleProgress.completed_at)
_ASSESSED = select(LearnerProgress.learner_id, LearnerProgress.course_code).where(
    LearnerProgress.assessment_completed_at.is_not(None))


def module_rows_of(session: Session, learner_ids: list[int]) -> tuple[list[dict], set[tuple[int, str]]]:
    """These learners' module rows, and which of their (learner, course) pairs are assessed."""
    rows, assessed = [], set()
    for clause in matching(session, ModuleProgress.learner_id, learner_ids):
        rows += [row._asdict() for row in session.execute(select(*_MODULE_COLUMNS).where(clause))]
    for clause in matching(session, LearnerProgress.learner_id, learner_ids):
        assessed |= {tuple(pair) for pair in session.execute(_ASSESSED.where(clause))}
    return rows, assessed


def move_trust(session: Session, moved: Mapping[int, tuple[str, str]]) -> None:
    """Learners moved from one trust to another (learner id -> (old, new)): their counts follow
    them. Runs where the learners' rows are locked by their update, so that the projection, which
    locks them too, adds nothing in between."""
    if not moved:
        return
    left = {learner_id: old for learner_id, (old, _new) in moved.items()}
    joined = {learner_id: new for learner_id, (_old, new) in moved.items()}
    objectives = objective_rows_of(session, sorted(moved))
    change = tally_objectives(objectives, joined)
    change.subtract(tally_objectives(objectives, left))
    apply_objective_change(session, change)
    rows, assessed = module_rows_of(session, sorted(moved))
    apply_change(session, tally(rows, left, assessed), tally(rows, joined, assessed))


def recount(session: Session) -> dict[CountKey, tuple[int, int]]:
    """The counts as the module rows give them: (launched, assessed) per key."""
    trust_of = dict(session.execute(select(Learner.id, Learner.trust_code)).all())
    assessed = {tuple(pair) for pair in session.execute(_ASSESSED)}
    rows = (row._asdict() for row in session.execute(select(*_MODULE_COLUMNS).execution_options(yield_per=5000)))
    launched, of_assessed = tally(rows, trust_of, assessed)
    return {key: (launched[key], of_assessed[key]) for key in launched}


def stored(session: Session) -> dict[CountKey, tuple[int, int]]:
    """The stored counts, leaving out those that came back to zero."""
    c = ModuleCount
    return {(course, trust, module, level, day): (launched, assessed) for course, trust, module, level, day, launched,
            assessed in session.execute(select(c.course_code, c.trust_code, c.module_code, c.level, c.completed_day,
                                               c.launched, c.assessed))
            if launched or assessed}


# --- assessments ----------------------------------------------------------------------------------

ObjectiveKey = tuple[str, str, int, str, str, float]  # course, trust, cluster, objective, level, score
_OBJECTIVE_COLUMNS = (AssessmentObjective.learner_id, AssessmentObjective.course_code, AssessmentObjective.cluster,
                      AssessmentObjective.objective, AssessmentObjective.level, AssessmentObjective.score)


def tally_objectives(objective_rows: Iterable[Mapping], trust_of: Mapping[int, str]) -> Counter:
    """Assessments per objective count key, from ``AssessmentObjective`` rows."""
    found = Counter()
    for row in objective_rows:
        trust = trust_of.get(row["learner_id"])
        if trust is not None:
            found[(row["course_code"], trust, row["cluster"], row["objective"], row["level"] or "",
                   float(row["score"]))] += 1
    return found


def objective_change(before: Iterable[Mapping], after: Iterable[Mapping], trust_of: Mapping[int, str]) -> Counter:
    """What replacing the objective rows ``before`` with ``after`` changes in the counts (signed)."""
    change = tally_objectives(after, trust_of)
    change.subtract(tally_objectives(before, trust_of))
    return change


def apply_objective_change(session: Session, change: Counter) -> None:
    """Add a change to the stored counts. Once per transaction, after the learners' locks and
    before the module counts: every writer takes the counts' locks in that order."""
    rows = []
    for key, assessed in change.items():
        if assessed:
            course_code, trust_code, cluster, objective, level, score = key
            rows.append({"course_code": course_code, "trust_code": trust_code, "cluster": cluster,
                         "objective": objective, "level": level, "score": score, "assessed": assessed})
    add_many(session, ObjectiveCount.__table__, rows)


def objective_rows_of(session: Session, learner_ids: list[int]) -> list[dict]:
    """The objective rows of these learners' assessments."""
    rows = []
    for clause in matching(session, AssessmentObjective.learner_id, learner_ids):
        rows += [row._asdict() for row in session.execute(select(*_OBJECTIVE_COLUMNS).where(clause))]
    return rows


def recount_objectives(session: Session) -> dict[ObjectiveKey, int]:
    trust_of = dict(session.execute(select(Learner.id, Learner.trust_code)).all())
    rows = (row._asdict() for row in session.execute(select(*_OBJECTIVE_COLUMNS).execution_options(yield_per=5000)))
    return dict(tally_objectives(rows, trust_of))


def stored_objectives(session: Session) -> dict[ObjectiveKey, int]:
    """The stored counts, leaving out those that came back to zero."""
    c = ObjectiveCount
    return {(course, trust, cluster, objective, level, score): assessed
            for course, trust, cluster, objective, level, score, assessed in session.execute(
                select(c.course_code, c.trust_code, c.cluster, c.objective, c.level, c.score, c.assessed))
            if assessed}
