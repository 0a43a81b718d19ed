"""Keeping learner progress in the database, in the transaction that stores the statements.

The LRS calls :class:`Projector` with every batch it stores (and the ids it voids): each
statement about a catalogue element becomes a fact, and the progress of every learner touched
is recomputed from all of their facts with ``courses.progress.summarize``. Projections are thus
updated in the same transaction as the statements: what the LRS acknowledges is already counted,
and a failure rolls both back. ``rebuild`` recomputes everything from the stored statements and
must agree with what was built incrementally.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import timezone
from typing import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from courses.catalogue import Catalogue, Course, default_catalogue
from courses.interpretation import Fact, Interpreter
from courses.models import Assessment, Learner, LearnerIdentity, LearnerProgress, ModuleProgress, ProgressFact
from courses.moodle import MoodleMapping
from courses.progress import Snapshot, status_of, summarize
from fse_fad.bulk import insert_many


def _fact_row(fact: Fact, learner_id: int | None) -> dict:
    return {"statement_id": fact.statement_id, "agent_key": fact.agent_key, "learner_id": learner_id,
            "course_code": fact.course_code, "element_key": fact.element_key, "kind": fact.kind,
            "occurred_at": fact.occurred_at, "stored_us": fact.stored_us, "registration": fact.registration,
            "score_percent": fact.score_percent, "success": fact.success, "completion": fact.completion,
            "duration_seconds": fact.duration_seconds, "data": fact.data or None}


def _fact(row: ProgressFact) -> Fact:
    occurred = row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=timezone.utc)
    return Fact(row.statement_id, row.agent_key, row.course_code, row.element_key, row.kind, occurred,
                row.stored_us, row.registration, row.score_percent, row.success, row.completion,
                row.duration_seconds, row.data or {})


ERASED_PREFIX = "erased:"


def erased_key(agent_key: str) -> str:
    return ERASED_PREFIX + hashlib.sha256(agent_key.encode("utf-8")).hexdigest()


def owners_of(session: Session, agent_keys: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The learner of each agent key, and the key to keep in its facts: the key itself, or its hash
    when the learner was erased (an erased learner's agents are known only by hash)."""
    keys = set(agent_keys)
    if not keys:
        return {}
    owners = {key: (learner_id, key) for key, learner_id in session.execute(
        select(LearnerIdentity.agent_key, LearnerIdentity.learner_id).where(LearnerIdentity.agent_key.in_(keys)))}
    missing = {erased_key(k): k for k in keys - set(owners)}
    if missing:
        for hashed, learner_id in session.execute(select(LearnerIdentity.agent_key, LearnerIdentity.learner_id)
                                                  .where(LearnerIdentity.agent_key.in_(missing))):
            owners[missing[hashed]] = (learner_id, hashed)
    return owners


def _owned_fact_row(fact: Fact, owners: dict[str, tuple[int, str]]) -> dict:
    learner_id, key = owners.get(fact.agent_key, (None, fact.agent_key))
    return {**_fact_row(fact, learner_id), "agent_key": key}


def forget_agents(session: Session, learner_id: int, agent_keys: Iterable[str]) -> None:
    """After a GDPR erasure: the learner's agents are kept as hashes only, in the identities and facts."""
    for key in set(agent_keys):
        hashed = erased_key(key)
        session.add(LearnerIdentity(agent_key=hashed, learner_id=learner_id, kind="erased", agent={}))
        session.execute(update(ProgressFact).where(ProgressFact.agent_key == key).values(agent_key=hashed))
    session.flush()


@dataclass
class Projector:
    """The LRS listener that keeps progress: called in the transaction that stores statements."""

    catalogue: Catalogue
    moodle: MoodleMapping

    def __post_init__(self):
        self.interpreter = Interpreter(self.catalogue, self.moodle)

    def __call__(self, session: Session, visible: list[dict], voided: set[str]) -> None:
        facts = [f for f in (self.interpreter.interpret(s) for s in visible) if f is not None]
        affected: set[int] = set()
        if voided:
            affected |= {lid for lid in session.scalars(select(ProgressFact.learner_id).where(
                ProgressFact.statement_id.in_(voided), ProgressFact.learner_id.is_not(None)))}
            session.execute(delete(ProgressFact).where(ProgressFact.statement_id.in_(voided)))
        if facts:
            owners = owners_of(session, {f.agent_key for f in facts})
            insert_many(session, ProgressFact.__table__, [_owned_fact_row(f, owners) for f in facts])
            affected |= {owners[f.agent_key][0] for f in facts if f.agent_key in owners}
        if affected:
            refresh(session, affected, self.catalogue)


def attach_identities(session: Session, agent_keys: Iterable[str], catalogue: Catalogue) -> None:
    """Facts of agents that matched no learner count from the moment the learner is known under
    them (an import, a new identity); facts of an identity that left a learner leave with it."""
    from fse_fad.bulk import matching

    keys = sorted(set(agent_keys))
    with_facts = [key for clause in matching(session, ProgressFact.agent_key, keys)
                  for key in session.scalars(select(ProgressFact.agent_key).where(clause).distinct())]
    if not with_facts:
        return
    owners = dict(session.execute(select(LearnerIdentity.agent_key, LearnerIdentity.learner_id).where(
        LearnerIdentity.agent_key.in_(with_facts))).all())
    before = set(session.scalars(select(ProgressFact.learner_id).where(
        ProgressFact.agent_key.in_(with_facts), ProgressFact.learner_id.is_not(None)).distinct()))
    for key in with_facts:
        session.execute(update(ProgressFact).where(ProgressFact.agent_key == key).values(learner_id=owners.get(key)))
    refresh(session, before | set(owners.values()), catalogue)


def refresh(session: Session, learner_ids: Iterable[int], catalogue: Catalogue) -> None:
    """Recompute the progress of these learners from their facts."""
    ids = sorted(set(learner_ids))
    if not ids:
        return
    # One writer per learner at a time: a concurrent batch about the same learner waits here and
    # then reads the facts this one committed, so no fact is left out of the summary.
    learners = {l.id: l for l in session.scalars(select(Learner).where(Learner.id.in_(ids))
                                                 .order_by(Learner.id).with_for_update())}
    facts: dict[tuple[int, str], list[Fact]] = defaultdict(list)
    for row in session.scalars(select(ProgressFact).where(ProgressFact.learner_id.in_(ids))):
        facts[(row.learner_id, row.course_code)].append(_fact(row))
    assessments = {(a.learner_id, a.course_code): a for a in session.scalars(
        select(Assessment).where(Assessment.learner_id.in_(ids)))}
    session.execute(delete(ModuleProgress).where(ModuleProgress.learner_id.in_(ids)))
    session.execute(delete(LearnerProgress).where(LearnerProgress.learner_id.in_(ids)))
    progress_rows, module_rows = [], []
    for learner_id, course_code in sorted(set(facts) | set(assessments)):
        course = catalogue.course(course_code)
        learner = learners.get(learner_id)
        if course is None or learner is None:
            continue
        snapshot = summarize(course, facts.get((learner_id, course_code), ()))
        levels = {}
        if course.kind == "fad":
            assessment = _sync_assessment(session, course, learner, snapshot,
                                          assessments.get((learner_id, course_code)), catalogue)
            if assessment is not None:
                levels = assessment.levels
                # An assessment recorded by the FAD platform counts like one told by statements.
                snapshot.assessment_completed_at = snapshot.assessment_completed_at or assessment.completed_at
                snapshot.objective_scores = snapshot.objective_scores or assessment.scores
                snapshot.status = status_of(course, snapshot)
        for state in snapshot.modules.values():
            state.level = state.level or levels.get(state.code)
        if snapshot.status == "not_started" and snapshot.enrolled_at is None:
            continue
        progress_rows.append(_progress_row(learner_id, snapshot))
        module_rows += [{"learner_id": learner_id, "course_code": course_code, "module_number": m.number,
                         "module_code": m.code, "level": m.level, "launched_at": m.launched_at,
                         "completed_at": m.completed_at, "seconds": m.seconds}
                        for m in snapshot.modules.values() if m.launched_at is not None]
    if progress_rows:
        insert_many(session, LearnerProgress.__table__, progress_rows)
    if module_rows:
        insert_many(session, ModuleProgress.__table__, module_rows)


def _progress_row(learner_id: int, snapshot: Snapshot) -> dict:
    passed = snapshot.passed_attempt
    percents = [a.percent for a in snapshot.attempts if a.percent is not None]
    return {
        "learner_id": learner_id, "course_code": snapshot.course_code, "status": snapshot.status,
        "enrolled_at": snapshot.enrolled_at, "assessment_completed_at": snapshot.assessment_completed_at,
        "objective_scores": snapshot.objective_scores,
        "modules_completed": sum(1 for m in snapshot.modules.values() if m.completed_at),
        "test_attempts": len(snapshot.attempts), "test_best_percent": max(percents) if percents else None,
        "test_passed_at": passed.at if passed else None,
        "attempts": [a.as_dict() for a in snapshot.attempts] or None,
        "questionnaire_at": snapshot.questionnaire_at,
        "questionnaire_statement_id": snapshot.questionnaire_statement_id,
        "sessions": {str(k): v.isoformat() for k, v in sorted(snapshot.sessions.items())} or None,
        "hours_attended": snapshot.hours_attended, "completed_at": snapshot.completed_at,
        "last_activity_at": snapshot.last_activity_at,
    }


def _sync_assessment(session: Session, course: Course, learner: Learner, snapshot: Snapshot,
                     existing: Assessment | None, catalogue: Catalogue) -> Assessment | None:
    """The initial assessment as the statements tell it. One recorded by the FAD platform
    through the API (no statement behind it) is never overridden."""
    from courses.operations import (_delete_levels_state as delete_levels_state, learner_agents,
                                    write_assessment_objectives, write_levels_state)

    if existing is not None and existing.statement_id is None:
        return existing
    if snapshot.assessment_completed_at is None:
        if existing is not None:
            delete_levels_state(session, course, [i.agent_key for i in learner_agents(session, learner.id)])
            session.delete(existing)
            session.flush()
        return None
    if existing is not None and existing.statement_id == snapshot.assessment_statement_id:
        return existing
    levels = catalogue.rules.module_levels(course, snapshot.objective_scores, learner.cluster)
    if existing is None:
        existing = Assessment(learner_id=learner.id, course_code=course.code)
        session.add(existing)
    existing.cluster = learner.cluster
    existing.scores = snapshot.objective_scores
    existing.levels = levels
    existing.completed_at = snapshot.assessment_completed_at
    existing.statement_id = snapshot.assessment_statement_id
    session.flush()
    write_assessment_objectives(session, course, existing)
    write_levels_state(session, course, existing, [i.agent_key for i in learner_agents(session, learner.id)])
    return existing


def rebuild(session: Session, catalogue: Catalogue, moodle: MoodleMapping, batch: int = 2000) -> int:
    """Recompute every fact and all progress from the stored statements; returns the facts made."""
    from lrs.models import Statement

    session.execute(delete(ModuleProgress))
    session.execute(delete(LearnerProgress))
    session.execute(delete(ProgressFact))
    interpreter = Interpreter(catalogue, moodle)
    identities = dict(session.execute(select(LearnerIdentity.agent_key, LearnerIdentity.learner_id)).all())
    owners: dict[str, tuple[int, str]] = {}

    def owner(key: str) -> tuple[int, str] | None:
        if key not in owners:
            if key in identities:
                owners[key] = (identities[key], key)
            elif erased_key(key) in identities:
                owners[key] = (identities[erased_key(key)], erased_key(key))
            else:
                return None
        return owners[key]

    made = 0
    rows = []
    stream = session.execute(select(Statement.body).where(Statement.voided.is_(False)).order_by(Statement.pk)
                             .execution_options(yield_per=batch)).scalars()
    for body in stream:
        fact = interpreter.interpret(body)
        if fact is None:
            continue
        found = owner(fact.agent_key)
        rows.append(_owned_fact_row(fact, {fact.agent_key: found} if found else {}))
        if len(rows) >= batch:
            insert_many(session, ProgressFact.__table__, rows)
            made += len(rows)
            rows = []
    if rows:
        insert_many(session, ProgressFact.__table__, rows)
        made += len(rows)
    learner_ids = list(session.scalars(select(ProgressFact.learner_id).where(
        ProgressFact.learner_id.is_not(None)).distinct()))
    learner_ids += list(session.scalars(select(Assessment.learner_id)))
    for start in range(0, len(learner_ids), 500):
        refresh(session, learner_ids[start:start + 500], catalogue)
    return made


def unmatched(session: Session, limit: int = 100, offset: int = 0) -> tuple[int, list[dict]]:
    """Agents whose statements about the courses match no learner yet."""
    total = session.scalar(select(func.count(func.distinct(ProgressFact.agent_key))).where(
        ProgressFact.learner_id.is_(None)))
    rows = session.execute(select(ProgressFact.agent_key, func.count(), func.min(ProgressFact.occurred_at),
                                  func.max(ProgressFact.occurred_at))
                           .where(ProgressFact.learner_id.is_(None)).group_by(ProgressFact.agent_key)
                           .order_by(ProgressFact.agent_key).limit(limit).offset(offset)).all()
    return total or 0, [{"agent": key, "statements": count, "first": first, "last": last}
                        for key, count, first, last in rows]


def projector_for(moodle_mapping_path: str | None) -> Projector:
    from courses.moodle import load_mapping

    catalogue = default_catalogue()
    return Projector(catalogue, load_mapping(moodle_mapping_path, catalogue))
