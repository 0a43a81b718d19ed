"""What can be done to learners: find, deactivate, erase, record the initial assessment, read the
adaptive path. Plain functions over a session; the caller commits."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from courses import codice_fiscale as cf
from courses import counts
from fse_fad.bulk import matching
from courses.catalogue import Catalogue, Course, default_catalogue
from courses.models import Assessment, AssessmentObjective, Learner, LearnerIdentity, TrustMembership
from courses.moodle import MoodleMapping
from courses.rules import check_scores, score_answers
from courses.schemas import AssessmentOutputSchema, LearnerSchema, MembershipSchema, iso_utc
from fse_fad.errors import BadRequest, Conflict, NotFound
from lrs import documents, identity
from lrs.times import now_us

# The State document that carries a learner's levels to xAPI content (docs/xapi-profile.md).
LEVELS_STATE_ID = "https://formas.toscana.it/xapi/fse20/state/levels"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- identities -----------------------------------------------------------------------------------

def identity_agents(home_page: str | None, moodle_id: str | None, moodle_username: str | None,
                    email: str | None) -> dict[str, tuple[str, dict]]:
    """The xAPI agents that name a learner, by agent key: (kind, agent)."""
    candidates = []
    if home_page and moodle_id:
        candidates.append(("moodle_account", {"objectType": "Agent", "account": {"homePage": home_page, "name": moodle_id}}))
    if home_page and moodle_username:
        candidates.append(("moodle_username",
                           {"objectType": "Agent", "account": {"homePage": home_page, "name": moodle_username}}))
    if email:
        candidates.append(("email", {"objectType": "Agent", "mbox": f"mailto:{email}"}))
    agents: dict[str, tuple[str, dict]] = {}
    for kind, agent in candidates:
        agents.setdefault(identity.agent_key(agent), (kind, agent))
    return agents


def learner_agents(session: Session, learner_id: int) -> list[LearnerIdentity]:
    return list(session.scalars(select(LearnerIdentity).where(LearnerIdentity.learner_id == learner_id)
                                .order_by(LearnerIdentity.kind)))


# --- finding learners -----------------------------------------------------------------------------

def parse_codice_fiscale(value: str, field: str = "codice_fiscale") -> str:
    try:
        return cf.parse(value).code
    except cf.InvalidCodiceFiscale as exc:
        raise BadRequest(f"not a valid codice fiscale: {exc}", field=field, rule=str(exc)) from None


def get_learner(session: Session, codice_fiscale: str, trust: str | None = None, *, for_update: bool = False) -> Learner:
    """The learner with this codice fiscale; ``trust`` limits the search to one trust (a training
    office sees only its own learners: another trust's learner is not found)."""
    code = parse_codice_fiscale(codice_fiscale)
    stmt = select(Learner).where(Learner.codice_fiscale == code)
    if for_update:
        stmt = stmt.with_for_update()
    learner = session.scalar(stmt)
    if learner is None or (trust is not None and learner.trust_code != trust):
        raise learner_not_found(code, trust)
    return learner


def learner_not_found(code: str, trust: str | None) -> NotFound:
    return NotFound(f"no learner with codice fiscale {code}", field="codice_fiscale",
                    rule="a learner of the roster" + (f" of trust {trust}" if trust else ""))


def trust_history(session: Session, learner_id: int) -> list[TrustMembership]:
    return list(session.scalars(select(TrustMembership).where(TrustMembership.learner_id == learner_id)
                                .order_by(TrustMembership.since, TrustMembership.id)))


def assessments_of(session: Session, learner_id: int) -> list[Assessment]:
    return list(session.scalars(select(Assessment).where(Assessment.learner_id == learner_id)
                                .order_by(Assessment.course_code)))


def learner_document(session: Session, learner: Learner) -> dict:
    """A learner as the API and the CLI show it."""
    body = LearnerSchema().dump(learner)
    body["identities"] = [i.agent for i in learner_agents(session, learner.id)]
    body["trust_history"] = MembershipSchema(many=True).dump(trust_history(session, learner.id))
    body["assessments"] = AssessmentOutputSchema(many=True).dump(assessments_of(session, learner.id))
    return body


def set_active(session: Session, codice_fiscale: str, active: bool, trust: str | None = None,
               now: datetime | None = None) -> Learner:
    learner = get_learner(session, codice_fiscale, trust, for_update=True)
    if learner.active != active:
        now = now or utcnow()
        learner.active = active
        learner.deactivated_at = None if active else now
        learner.updated_at = now
        session.flush()
    return learner


def erase_learner(session: Session, codice_fiscale: str, trust: str | None = None, now: datetime | None = None,
                  catalogue: Catalogue | None = None) -> int:
    """Erase a learner's personal data (GDPR art. 17): codice fiscale, names, email, the identities
    under which the FAD platform names them and the levels State documents written for them. What
    aggregate counts need stays without a name: trust and its history, category and cluster,
    profession, ECM eligibility, assessment scores and levels. Returns the learner's id."""
    catalogue = catalogue or default_catalogue()
    learner = get_learner(session, codice_fiscale, trust, for_update=True)
    now = now or utcnow()
    keys = [i.agent_key for i in learner_agents(session, learner.id)]
    for assessment in assessments_of(session, learner.id):
        course = catalogue.course(assessment.course_code)
        if course is not None:
            _delete_levels_state(session, course, keys)
    session.execute(delete(LearnerIdentity).where(LearnerIdentity.learner_id == learner.id))
    # The statements stay in the LRS: their agents are remembered only as one-way hashes, so that a
    # rebuild still counts them for this (nameless) learner and never lists them as unmatched.
    from courses.projection import forget_agents

    forget_agents(session, learner.id, keys)
    for assessment in assessments_of(session, learner.id):
        assessment.answers = None
    learner.codice_fiscale = None
    learner.surname = None
    learner.name = None
    learner.email = None
    learner.disciplines = []
    learner.employment = None
    learner.active = False
    learner.deactivated_at = learner.deactivated_at or now
    learner.erased_at = now
    learner.updated_at = now
    session.flush()
    return learner.id


# --- assessment and path --------------------------------------------------------------------------

def _fad_course(catalogue: Catalogue, course_code: str | None) -> Course:
    if course_code is None:
        return catalogue.fad_course
    course = catalogue.course(course_code)
    if course is None:
        raise NotFound(f"no course {course_code}", field="course", rule="a course code of the catalogue")
    if course.code != catalogue.rules.course:
        raise BadRequest(f"course {course.code} has no initial assessment", field="course",
                         rule=f"the FAD course {catalogue.rules.course}")
    return course


def levels_state(course: Course, assessment: Assessment) -> dict:
    """The content of the levels State document (docs/xapi-profile.md)."""
    return {
        "course": course.iri,
        "assessedAt": iso_utc(assessment.completed_at),
        "cluster": assessment.cluster,
        "scores": assessment.scores,
        "levels": assessment.levels,
        "modules": {course.iri_of(code): {"level": level, "launch": course.iri_of(f"{code}/{level}")}
                    for code, level in assessment.levels.items()},
    }


def _scope(course: Course, agent_key: str) -> documents.DocumentScope:
    return documents.DocumentScope(kind=documents.STATE, activity_iri=course.iri, agent_key=agent_key,
                                   document_id=LEVELS_STATE_ID)


def _delete_levels_state(session: Session, course: Course, agent_keys: Iterable[str]) -> None:
    for key in agent_keys:
        documents.delete_documents(session, _scope(course, key))


def write_levels_state(session: Session, course: Course, assessment: Assessment, agent_keys: Iterable[str]) -> None:
    """Write the levels for each agent of the learner, so that content launched under any of the
    learner's identities reads them with GET /xapi/activities/state."""
    content = json.dumps(levels_state(course, assessment), ensure_ascii=False, sort_keys=True).encode("utf-8")
    stamp = now_us()
    for key in agent_keys:
        documents.put_document(session, _scope(course, key), content, "application/json", stamp)


def objective_rows(course: Course, assessment_id: int, learner_id: int, cluster: int, scores: dict,
                   levels: dict) -> list[dict]:
    """The rows of ``AssessmentObjective`` for an assessment: each objective of the course that has
    a score, with the level of its first module."""
    first_module: dict[str, str] = {}
    for module in sorted(course.modules, key=lambda m: m["number"]):
        first_module.setdefault(module["objective"], module["code"])
    rows = []
    for objective in course.data.get("objectives", ()):
        score = (scores or {}).get(objective["code"])
        if score is not None:
            rows.append({"assessment_id": assessment_id, "objective": objective["code"], "learner_id": learner_id,
                         "course_code": course.code, "cluster": cluster, "score": float(score),
                         "level": (levels or {}).get(first_module.get(objective["code"]))})
    return rows


def write_assessment_objectives(session: Session, course: Course, learner: Learner,
                                assessment: Assessment | None) -> Counter:
    """Replace the per-objective rows of the learner's assessment just written (flushed, so it has
    its id); with ``assessment`` None, take away those of the assessment about to be deleted.
    Returns what that changes in the reports' counts, for the caller to apply
    (``counts.apply_objective_change``) once all its learners are written."""
    old = [row for row in counts.objective_rows_of(session, [learner.id]) if row["course_code"] == course.code]
    session.execute(delete(AssessmentObjective).where(AssessmentObjective.learner_id == learner.id,
                                                      AssessmentObjective.course_code == course.code))
    rows = [] if assessment is None else objective_rows(course, assessment.id, learner.id, assessment.cluster,
                                                        assessment.scores, assessment.levels)
    if rows:
        session.execute(AssessmentObjective.__table__.insert(), rows)
    return counts.objective_change(old, rows, {learner.id: learner.trust_code})


def sync_levels_state(session: Session, learner_ids: Iterable[int], removed_keys: dict[int, set[str]],
                      catalogue: Catalogue | None = None) -> None:
    """After a learner's identities change: the levels reach the new agents and leave the old ones."""
    catalogue = catalogue or default_catalogue()
    for clause in matching(session, Assessment.learner_id, list(learner_ids)):
        for assessment in session.scalars(select(Assessment).where(clause)):
            course = catalogue.course(assessment.course_code)
            if course is None:
                continue
            _delete_levels_state(session, course, removed_keys.get(assessment.learner_id, ()))
            write_levels_state(session, course, assessment,
                               [i.agent_key for i in learner_agents(session, assessment.learner_id)])


def record_assessment(session: Session, codice_fiscale: str, *, answers: dict[str, int] | None = None,
                      scores: dict[str, float] | None = None, course_code: str | None = None,
                      catalogue: Catalogue | None = None, trust: str | None = None,
                      now: datetime | None = None) -> tuple[Assessment, bool]:
    """Record a learner's completed initial assessment, either as answers to the catalogue's
    questions or as a score (0-100) per objective, assign the module levels by the path rules of the
    learner's cluster and write them to the LRS as a State document.

    Returns the assessment and whether it was created. Recording the same result again changes
    nothing (a retried request is harmless); a different result for an assessed learner is a conflict.
    """
    catalogue = catalogue or default_catalogue()
    course = _fad_course(catalogue, course_code)
    if (answers is None) == (scores is None):
        raise BadRequest("send either the answers or the scores of the assessment", field="answers",
                         rule="exactly one of answers, scores")
    scores = score_answers(course, answers) if answers is not None else check_scores(course, scores)
    learner = get_learner(session, codice_fiscale, trust, for_update=True)
    if not learner.active:
        raise Conflict("the learner is deactivated", field="codice_fiscale", rule="an active learner")
    existing = session.scalar(select(Assessment).where(Assessment.learner_id == learner.id,
                                                       Assessment.course_code == course.code))
    if existing is not None:
        if existing.scores == scores:
            return existing, False
        raise Conflict("the learner's initial assessment is already recorded with other scores",
                       field="codice_fiscale", rule="one initial assessment per learner and course")
    levels = catalogue.rules.module_levels(course, scores, learner.cluster)
    assessment = Assessment(learner_id=learner.id, course_code=course.code, cluster=learner.cluster, scores=scores,
                            levels=levels, answers=answers, completed_at=now or utcnow())
    session.add(assessment)
    session.flush()
    counts.apply_objective_change(session, write_assessment_objectives(session, course, learner, assessment))
    write_levels_state(session, course, assessment, [i.agent_key for i in learner_agents(session, learner.id)])
    from courses.projection import refresh

    refresh(session, [learner.id], catalogue)
    return assessment, True


def learner_path(session: Session, codice_fiscale: str, *, course_code: str | None = None,
                 catalogue: Catalogue | None = None, moodle: MoodleMapping | None = None,
                 trust: str | None = None) -> dict:
    """The modules of the FAD course with the level assigned to the learner and the activity to
    launch; 409 before the initial assessment."""
    catalogue = catalogue or default_catalogue()
    moodle = moodle or MoodleMapping()
    course = _fad_course(catalogue, course_code)
    learner = get_learner(session, codice_fiscale, trust)
    assessment = session.scalar(select(Assessment).where(Assessment.learner_id == learner.id,
                                                         Assessment.course_code == course.code))
    if assessment is None:
        raise Conflict("the learner has not completed the initial assessment yet: no level is assigned",
                       field="assessment", rule="the initial assessment comes before the path")
    modules = []
    for module in sorted(course.modules, key=lambda m: m["number"]):
        level = assessment.levels[module["code"]]
        launch = course.element(course.module_key(module, level))
        modules.append({
            "number": module["number"],
            "code": module["code"],
            "objective": module["objective"],
            "title": module["title"],
            "level": level,
            "minutes": module["minutes"],
            "activity": {
                "iri": launch.iri,
                "type": launch.type,
                "title": launch.title,
                "moodle_url": moodle.launch_url(course.code, launch.key)
                or moodle.launch_url(course.code, module["code"]),
            },
        })
    return {
        "codice_fiscale": learner.codice_fiscale,
        "course": course.code,
        "course_iri": course.iri,
        "cluster": assessment.cluster,
        "assessed_at": iso_utc(assessment.completed_at),
        "scores": assessment.scores,
        "modules": modules,
        "state": {"activityId": course.iri, "stateId": LEVELS_STATE_ID},
    }


def close_memberships(session: Session, learner_ids: list[int], now: datetime) -> None:
    for clause in matching(session, TrustMembership.learner_id, learner_ids):
        session.execute(update(TrustMembership).where(clause, TrustMembership.until.is_(None)).values(until=now)
                        .execution_options(synchronize_session=False))
