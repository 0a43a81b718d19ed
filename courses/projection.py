"""Keeping learner progress in the database, in the transaction that stores the statements.

The LRS calls :class:`Projector` with every batch it stores (and the ids it voids): each
statement about a catalogue element becomes a fact, and the progress of every learner touched is
brought up to date. Projections are thus updated in the same transaction as the statements: what
the LRS acknowledges is already counted, and a failure rolls both back.

Two ways, one result. The fast one adds a learner's new facts to their stored state
(``courses.progress.Fold``, a row of ``courses_progress_folds``) without reading their old facts;
when a new fact is a final-test attempt, a new first result of the initial assessment or an
answer that result counts, only the learner's facts about the assessment and the final test are
read again. The full one, :func:`refresh`, recomputes the learner from all of their facts with
``courses.progress.summarize`` and stores the state anew: it runs when facts are voided or change
owner, and for a learner without a stored state (or one of an older layout). Both write only the
rows that changed. ``rebuild`` recomputes everything from the stored statements and must agree
with what was built incrementally.
"""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import DateTime, delete, func, select, update
from sqlalchemy.orm import Session

from courses import counts
from courses.catalogue import Catalogue, Course, default_catalogue
from courses.interpretation import Fact, Interpreter
from courses.models import (Assessment, Learner, LearnerIdentity, LearnerProgress, ModuleCount, ModuleProgress,
                            ProgressFact, ProgressFold)
from courses.moodle import MoodleMapping
from courses.progress import FOLD_LAYOUT, Fold, Snapshot, status_of, summarize
from fse_fad.bulk import insert_many, matching, upsert_many


def _fact_row(fact: Fact, learner_id: int | None) -> dict:
    return {"statement_id": fact.statement_id, "agent_key": fact.agent_key, "learner_id": learner_id,
            "course_code": fact.course_code, "element_key": fact.element_key, "kind": fact.kind,
            "occurred_at": fact.occurred_at, "stored_us": fact.stored_us, "registration": fact.registration,
            "score_percent": fact.score_percent, "success": fact.success, "completion": fact.completion,
            "duration_seconds": fact.duration_seconds, "data": fact.data or None}


def _utc(moment: datetime | None) -> datetime | None:
    """A time read from the database, in UTC (SQLite gives it without a zone, PostgreSQL in the
    session's)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


_FACT_COLUMNS = (ProgressFact.statement_id, ProgressFact.agent_key, ProgressFact.course_code, ProgressFact.element_key,
                 ProgressFact.kind, ProgressFact.occurred_at, ProgressFact.stored_us, ProgressFact.registration,
                 ProgressFact.score_percent, ProgressFact.success, ProgressFact.completion,
                 ProgressFact.duration_seconds, ProgressFact.data)


def _facts_of(session: Session, learner_ids: list[int]) -> dict[tuple[int, str], list[Fact]]:
    """All facts of these learners, by learner and course (a select of columns: no ORM objects)."""
    facts: dict[tuple[int, str], list[Fact]] = defaultdict(list)
    for clause in matching(session, ProgressFact.learner_id, learner_ids):
        for learner_id, *row in session.execute(select(ProgressFact.learner_id, *_FACT_COLUMNS).where(clause)):
            facts[(learner_id, row[2])].append(_fact(row))
    return facts


def _fact(row) -> Fact:
    (statement_id, agent, course_code, element_key, kind, occurred_at, stored_us, registration, score,
     success, completion, duration, data) = row
    return Fact(statement_id, agent, course_code, element_key, kind, _utc(occurred_at), stored_us, registration,
                score, success, completion, duration, data or {})


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

    def has_work(self, visible: list[dict], voided: set[str]) -> bool:
        """Whether a call with these statements would read or write anything: not when none is about
        the catalogue and none was voided."""
        return bool(voided) or any(self.interpreter.interpret(s) is not None for s in visible)

    def __call__(self, session: Session, visible: list[dict], voided: set[str]) -> None:
        facts = [f for f in (self.interpreter.interpret(s) for s in visible) if f is not None]
        recompute: set[int] = set()
        new: dict[int, list[Fact]] = defaultdict(list)
        if voided:
            # A fact taken away: only a recomputation from the facts that remain tells what it changed.
            recompute |= {lid for lid in session.scalars(select(ProgressFact.learner_id).where(
                ProgressFact.statement_id.in_(voided), ProgressFact.learner_id.is_not(None)))}
            session.execute(delete(ProgressFact).where(ProgressFact.statement_id.in_(voided)))
        if facts:
            owners = owners_of(session, {f.agent_key for f in facts})
            insert_many(session, ProgressFact.__table__, [_owned_fact_row(f, owners) for f in facts])
            for fact in facts:
                if fact.agent_key in owners:
                    new[owners[fact.agent_key][0]].append(fact)
        if recompute or new:
            project(session, self.catalogue, new, recompute)


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
    """Recompute the progress of these learners from all their facts (and store their fold state)."""
    project(session, catalogue, {}, set(learner_ids))


def project(session: Session, catalogue: Catalogue, new: dict[int, list[Fact]], recompute: set[int]) -> None:
    """Bring the progress of learners up to date: of those in ``new`` by adding these facts (just
    stored) to their stored state, of those without one and of those in ``recompute`` from all
    their facts. Only the rows that changed are written."""
    ids = sorted(set(new) | set(recompute))
    if not ids:
        return
    # One writer per learner at a time: a concurrent batch about the same learner waits here and
    # then reads the state and facts this one committed, so no fact is left out or added twice.
    # FOR NO KEY UPDATE: the facts a concurrent batch has just inserted hold a key-share lock on
    # their learners (the foreign key), which FOR UPDATE would wait for while that batch waits
    # for this one's lock, a deadlock; this lock does not conflict with it, and still with itself.
    learners = {l.id: l for l in session.scalars(select(Learner).where(Learner.id.in_(ids))
                                                 .order_by(Learner.id).with_for_update(key_share=True))}
    stored = _stored_folds(session, ids)
    full = {lid for lid in recompute if lid in learners}
    snapshots: dict[tuple[int, str], Snapshot] = {}
    folds: dict[tuple[int, str], Fold | None] = {}
    for learner_id in ids:
        if learner_id in full or learner_id not in learners:
            continue
        added = _added(catalogue, learner_id, new[learner_id], stored)
        if added is None:
            full.add(learner_id)
        else:
            folds.update(added)
    full_ids = sorted(full)
    facts = _facts_of(session, full_ids) if full_ids else {}
    assessments = {(a.learner_id, a.course_code): a for a in session.scalars(
        select(Assessment).where(Assessment.learner_id.in_(ids)))}
    for learner_id, course_code in sorted(set(facts) | {k for k in assessments if k[0] in full}):
        course = catalogue.course(course_code)
        if course is None:
            continue
        mine = facts.get((learner_id, course_code), [])
        snapshots[(learner_id, course_code)] = summarize(course, mine)
        folds[(learner_id, course_code)] = Fold.of(course, mine)
    _reread(session, catalogue, {key: fold for key, fold in folds.items() if fold is not None and fold.stale})
    for key, fold in folds.items():
        if key not in snapshots:
            snapshots[key] = fold.snapshot(catalogue.course(key[1]))

    progress_rows, module_rows = {}, {}
    objective_change = Counter()
    for (learner_id, course_code), snapshot in sorted(snapshots.items()):
        course = catalogue.course(course_code)
        learner = learners[learner_id]
        levels = {}
        if course.kind == "fad":
            assessment = _sync_assessment(session, course, learner, snapshot,
                                          assessments.get((learner_id, course_code)), catalogue, objective_change)
            if assessment is not None:
                levels = assessment.levels
                # An assessment recorded by the FAD platform counts like one told by statements.
                snapshot.assessment_completed_at = snapshot.assessment_completed_at or assessment.completed_at
                snapshot.objective_scores = snapshot.objective_scores or assessment.scores
                snapshot.status = status_of(course, snapshot)
        for state in snapshot.modules.values():
            state.level = state.level or levels.get(state.code)
        if snapshot.status == "not_started" and snapshot.enrolled_at is None:
            folds.pop((learner_id, course_code), None)
            continue
        progress_rows[(learner_id, course_code)] = _progress_row(learner_id, snapshot)
        for m in snapshot.modules.values():
            if m.launched_at is not None:
                module_rows[(learner_id, course_code, m.number)] = {
                    "learner_id": learner_id, "course_code": course_code, "module_number": m.number,
                    "module_code": m.code, "level": m.level, "launched_at": m.launched_at,
                    "completed_at": m.completed_at, "seconds": m.seconds}
    fold_rows = {key: {"learner_id": key[0], "course_code": key[1], "layout": FOLD_LAYOUT, "state": fold.as_json()}
                 for key, fold in folds.items() if fold is not None}

    # What is recomputed replaces all of the learner's rows; what is added to replaces the rows of
    # the courses it is about.
    def in_scope(key: tuple) -> bool:
        return key[0] in full or (key[0], key[1]) in snapshots

    old_progress, old_modules = _stored_rows(session, ids)
    trust_of = {learner_id: learner.trust_code for learner_id, learner in learners.items()}
    # Written last: the counts are the rows most batches share, so they are locked for the shortest time.
    count_change = (counts.tally([row for key, row in old_modules.items() if in_scope(key)], trust_of,
                                 counts.assessed_pairs(old_progress.values())),
                    counts.tally(module_rows.values(), trust_of, counts.assessed_pairs(progress_rows.values())))
    _write(session, LearnerProgress.__table__, old_progress, progress_rows, in_scope)
    _write(session, ModuleProgress.__table__, old_modules, module_rows, in_scope)
    _write(session, ProgressFold.__table__, {k: {"learner_id": k[0], "course_code": k[1], "layout": layout,
                                                 "state": state} for k, (layout, state) in stored.items()},
           fold_rows, in_scope)
    counts.apply_objective_change(session, objective_change)
    counts.apply_change(session, *count_change)


def _stored_folds(session: Session, learner_ids: list[int]) -> dict[tuple[int, str], tuple[int, dict]]:
    out = {}
    for clause in matching(session, ProgressFold.learner_id, learner_ids):
        for learner_id, course_code, layout, state in session.execute(select(
                ProgressFold.learner_id, ProgressFold.course_code, ProgressFold.layout, ProgressFold.state).where(clause)):
            out[(learner_id, course_code)] = (layout, state)
    return out


def _added(catalogue: Catalogue, learner_id: int, facts: list[Fact],
           stored: dict[tuple[int, str], tuple[int, dict]]) -> dict[tuple[int, str], Fold] | None:
    """The learner's stored states with these new facts added, by course (some maybe stale: to be
    read again); None when one of them is missing, of another layout, or cannot take a fact."""
    by_course: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_course[fact.course_code].append(fact)
    out = {}
    for course_code, mine in by_course.items():
        course = catalogue.course(course_code)
        if course is None:
            continue
        layout, state = stored.get((learner_id, course_code), (None, None))
        if layout != FOLD_LAYOUT:
            return None
        fold = Fold.from_json(course_code, state)
        if not all(fold.add(course, fact) for fact in mine):
            return None
        out[(learner_id, course_code)] = fold
    return out


def _reread(session: Session, catalogue: Catalogue, stale: dict[tuple[int, str], Fold]) -> None:
    """Recompute the assessment and attempts of these states from the learners' facts about the
    initial assessment and the final test (in this transaction: with the new ones)."""
    by_course: dict[str, list[int]] = defaultdict(list)
    for learner_id, course_code in stale:
        by_course[course_code].append(learner_id)
    for course_code, learner_ids in by_course.items():
        course = catalogue.course(course_code)
        assessment, final = course.assessment["code"], course.data["final_test"]["code"]
        with_assessment = [lid for lid in learner_ids if "assessment" in stale[(lid, course_code)].stale]
        only_attempts = [lid for lid in learner_ids if "assessment" not in stale[(lid, course_code)].stale]
        for ids, about in (
                (with_assessment, ProgressFact.element_key.in_([assessment, final])
                 | ProgressFact.element_key.startswith(assessment + "/")),
                (only_attempts, ProgressFact.element_key == final)):
            facts: dict[int, list[Fact]] = defaultdict(list)
            for clause in matching(session, ProgressFact.learner_id, sorted(ids)):
                for learner_id, *row in session.execute(select(ProgressFact.learner_id, *_FACT_COLUMNS).where(
                        clause, ProgressFact.course_code == course_code, about)):
                    facts[learner_id].append(_fact(row))
            for learner_id in ids:
                stale[(learner_id, course_code)].reread(course, facts[learner_id], assessment=ids is with_assessment)


_PROGRESS_COLUMNS = tuple(LearnerProgress.__table__.columns)
_MODULE_COLUMNS = tuple(ModuleProgress.__table__.columns)


def _stored_rows(session: Session, learner_ids: list[int]) -> tuple[dict, dict]:
    """The learners' progress and module rows as they are stored, comparable with new ones."""

    def rows(columns, key_names):
        out = {}
        names = [c.name for c in columns]
        times = [c.name for c in columns if isinstance(c.type, DateTime)]
        table = columns[0].table
        for clause in matching(session, table.c.learner_id, learner_ids):
            for values in session.execute(select(*columns).where(clause)):
                row = dict(zip(names, values))
                for name in times:  # PostgreSQL's times compare as they are; SQLite's have no zone
                    if row[name] is not None and row[name].tzinfo is None:
                        row[name] = row[name].replace(tzinfo=timezone.utc)
                out[tuple(row[k] for k in key_names)] = row
        return out

    return (rows(_PROGRESS_COLUMNS, ("learner_id", "course_code")),
            rows(_MODULE_COLUMNS, ("learner_id", "course_code", "module_number")))


def _write(session: Session, table, old: dict[tuple, dict], new: dict[tuple, dict], in_scope) -> None:
    """Make the rows in scope what ``new`` says: insert or update those that differ, delete those
    no longer there."""
    changed = [row for key, row in new.items() if old.get(key) != row]
    upsert_many(session, table, changed)
    gone = [key for key in old if in_scope(key) and key not in new]
    if gone:
        names = [c.name for c in table.primary_key.columns]
        for key in gone:
            session.execute(delete(table).where(*[table.c[n] == v for n, v in zip(names, key)]))


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
                     existing: Assessment | None, catalogue: Catalogue, objective_change: Counter) -> Assessment | None:
    """The initial assessment as the statements tell it. One recorded by the FAD platform
    through the API (no statement behind it) is never overridden. What it changes in the reports'
    counts is added to ``objective_change``."""
    from courses.operations import (_delete_levels_state as delete_levels_state, learner_agents,
                                    write_assessment_objectives, write_levels_state)

    if existing is not None and existing.statement_id is None:
        return existing
    if snapshot.assessment_completed_at is None:
        if existing is not None:
            delete_levels_state(session, course, [i.agent_key for i in learner_agents(session, learner.id)])
            objective_change.update(write_assessment_objectives(session, course, learner, None))
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
    objective_change.update(write_assessment_objectives(session, course, learner, existing))
    write_levels_state(session, course, existing, [i.agent_key for i in learner_agents(session, learner.id)])
    return existing


def rebuild(session: Session, catalogue: Catalogue, moodle: MoodleMapping, batch: int = 2000) -> int:
    """Recompute every fact and all progress from the stored statements; returns the facts made."""
    from lrs.models import Statement

    session.execute(delete(ModuleCount))
    session.execute(delete(ModuleProgress))
    session.execute(delete(LearnerProgress))
    session.execute(delete(ProgressFold))
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
