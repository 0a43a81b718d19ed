"""Learners, the identities under which the FAD platform names them, their trust history and
their initial assessment."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fse_fad.db import Base, JSONDocument

EMPLOYMENT_TYPES = ("dipendente", "convenzionato", "libero_professionista", "privo_di_occupazione")
IDENTITY_KINDS = ("moodle_account", "moodle_username", "email")


class Learner(Base):
    """An operator of the regional health service. After a GDPR erasure the row stays, without
    personal data, so that counts per trust, cluster and profession keep adding up."""

    __tablename__ = "courses_learners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL once erased; otherwise uppercase, validated with its check character.
    codice_fiscale: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    surname: Mapped[str | None] = mapped_column(String(100), nullable=True)
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    trust_code: Mapped[str] = mapped_column(String(40))
    category_code: Mapped[str] = mapped_column(String(10))
    cluster: Mapped[int] = mapped_column(Integer)
    profession_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Age.na.s discipline codes of the profession.
    disciplines: Mapped[list] = mapped_column(JSONDocument, default=list)
    ecm_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    employment: Mapped[str | None] = mapped_column(String(30), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_courses_learners_trust_cluster", "trust_code", "cluster"),
        # A trust's reports read every learner of the trust with just these columns: an index-only scan.
        Index("ix_courses_learners_trust_report", "trust_code", "id",
              postgresql_include=["cluster", "category_code", "profession_code", "active", "erased_at"]),
        # The learners list walks learners in this order, a page at a time, instead of sorting them all.
        Index("ix_courses_learners_surname_name", "surname", "name", "id"),
    )


class LearnerIdentity(Base):
    """An xAPI agent that stands for the learner in statements: Moodle account by user id or by
    username (``account.homePage`` = the site's wwwroot), or email (``mbox``)."""

    __tablename__ = "courses_learner_identities"

    # ``lrs.identity.agent_key`` of the agent: a statement's actor finds its learner by this key.
    agent_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    learner_id: Mapped[int] = mapped_column(Integer, ForeignKey("courses_learners.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    agent: Mapped[dict] = mapped_column(JSONDocument)

    __table_args__ = (Index("ix_courses_learner_identities_learner", "learner_id"),)


class TrustMembership(Base):
    """From when to when a learner belonged to a trust: a learner who changes trust keeps one row
    and one history, and each trust's counts can still be read for the past."""

    __tablename__ = "courses_trust_memberships"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(Integer, ForeignKey("courses_learners.id", ondelete="CASCADE"))
    trust_code: Mapped[str] = mapped_column(String(40))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_courses_trust_memberships_learner", "learner_id"),)


class Assessment(Base):
    """The completed initial assessment of a learner in a course, and the levels it gave."""

    __tablename__ = "courses_assessments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(Integer, ForeignKey("courses_learners.id", ondelete="CASCADE"))
    course_code: Mapped[str] = mapped_column(String(40))
    # The cluster whose rules gave the levels (the learner's cluster at the time).
    cluster: Mapped[int] = mapped_column(Integer)
    scores: Mapped[dict] = mapped_column(JSONDocument)  # objective -> percent
    levels: Mapped[dict] = mapped_column(JSONDocument)  # module code -> level
    answers: Mapped[dict | None] = mapped_column(JSONDocument, nullable=True)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The statement that told of it; NULL when the FAD platform recorded it through the API.
    statement_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    __table_args__ = (UniqueConstraint("learner_id", "course_code"),)


class AssessmentObjective(Base):
    """One objective of an initial assessment: its score and the level it gave (the level of the
    objective's first module), written with the assessment; ``ObjectiveCount`` counts them for the
    assessments report."""

    __tablename__ = "courses_assessment_objectives"

    assessment_id: Mapped[int] = mapped_column(Integer, ForeignKey("courses_assessments.id", ondelete="CASCADE"),
                                               primary_key=True)
    objective: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The assessment's learner, course and cluster, so that counting reads no other row of it.
    learner_id: Mapped[int] = mapped_column(Integer)
    course_code: Mapped[str] = mapped_column(String(40))
    cluster: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(20), nullable=True)

    __table_args__ = (Index("ix_courses_assessment_objectives_learner", "learner_id", "course_code"),)


class ProgressFact(Base):
    """What one statement says about a learner's progress (``courses.interpretation``). Progress
    is recomputed from these; a fact whose agent matches no learner waits with ``learner_id``
    NULL (the unmatched report) until the learner is known."""

    __tablename__ = "courses_progress_facts"

    statement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agent_key: Mapped[str] = mapped_column(String(255))
    learner_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("courses_learners.id", ondelete="SET NULL"),
                                                   nullable=True)
    course_code: Mapped[str] = mapped_column(String(40))
    element_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stored_us: Mapped[int] = mapped_column(BigInteger)
    registration: Mapped[str | None] = mapped_column(String(36), nullable=True)
    score_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    success: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    completion: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    duration_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    data: Mapped[dict | None] = mapped_column(JSONDocument, nullable=True)

    __table_args__ = (
        Index("ix_courses_progress_facts_learner", "learner_id", "course_code"),
        Index("ix_courses_progress_facts_agent", "agent_key"),
    )


class LearnerProgress(Base):
    """A learner's progress in a course, as ``courses.progress.summarize`` computes it."""

    __tablename__ = "courses_learner_progress"

    learner_id: Mapped[int] = mapped_column(Integer, ForeignKey("courses_learners.id", ondelete="CASCADE"),
                                            primary_key=True)
    course_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    assessment_completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    objective_scores: Mapped[dict | None] = mapped_column(JSONDocument, nullable=True)
    modules_completed: Mapped[int] = mapped_column(Integer, default=0)
    test_attempts: Mapped[int] = mapped_column(Integer, default=0)
    test_best_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    test_passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # [{"number", "percent", "passed", "at", "statement_id"}] in order.
    attempts: Mapped[list | None] = mapped_column(JSONDocument, nullable=True)
    questionnaire_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    questionnaire_statement_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # {"1": attended at, ...} for courses made of sessions.
    sessions: Mapped[dict | None] = mapped_column(JSONDocument, nullable=True)
    hours_attended: Mapped[float] = mapped_column(Float, default=0.0)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_courses_learner_progress_course_status", "course_code", "status"),
        Index("ix_courses_learner_progress_completed", "course_code", "completed_at"),
        # What the grouped reports count of a course's progress, read without its rows.
        Index("ix_courses_learner_progress_course_learner", "course_code", "learner_id",
              postgresql_include=["status", "assessment_completed_at", "completed_at"]),
    )


class ModuleProgress(Base):
    """A module a learner launched: at which level, when completed, how long."""

    __tablename__ = "courses_module_progress"

    learner_id: Mapped[int] = mapped_column(Integer, ForeignKey("courses_learners.id", ondelete="CASCADE"),
                                            primary_key=True)
    course_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    module_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    module_code: Mapped[str] = mapped_column(String(20))
    level: Mapped[str | None] = mapped_column(String(20), nullable=True)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)



class ModuleCount(Base):
    """How many module rows (``ModuleProgress``) there are of a course, trust, module, level and day
    of completion, and how many of them belong to an assessed learner: what the module and level
    reports add up (``courses.counts``), instead of counting every module row joined to its
    learner's progress. Changed in the transaction that changes the module rows."""

    __tablename__ = "courses_module_counts"

    course_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    trust_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    module_code: Mapped[str] = mapped_column(String(20), primary_key=True)
    # "" when the level is not known (a key column cannot be NULL).
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    # The day in Italy the module was completed, as ``date.toordinal()``; 0 while it is not.
    completed_day: Mapped[int] = mapped_column(Integer, primary_key=True)
    launched: Mapped[int] = mapped_column(Integer, default=0)
    assessed: Mapped[int] = mapped_column(Integer, default=0)


class ObjectiveCount(Base):
    """How many assessments of a course, trust and cluster gave an objective this score and level:
    what the assessments report adds up (``courses.counts``), instead of every assessment's
    objective rows joined to their learners. Changed in the transaction that changes those rows."""

    __tablename__ = "courses_objective_counts"

    course_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    trust_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The cluster whose rules gave the levels, as in ``AssessmentObjective``.
    cluster: Mapped[int] = mapped_column(Integer, primary_key=True)
    objective: Mapped[str] = mapped_column(String(40), primary_key=True)
    # "" when the objective's first module has no level (a key column cannot be NULL).
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    # Scores come from a few questions per objective: few values, each counted exactly.
    score: Mapped[float] = mapped_column(Float, primary_key=True)
    assessed: Mapped[int] = mapped_column(Integer, default=0)


class ProgressFold(Base):
    """What the projection keeps of a learner's facts in a course besides their progress, to add
    new facts without reading the old ones (``courses.progress.Fold``, as of ``layout``). A
    learner without one, or with one of another layout, has their progress recomputed from all
    their facts, which stores it."""

    __tablename__ = "courses_progress_folds"

    learner_id: Mapped[int] = mapped_column(Integer, ForeignKey("courses_learners.id", ondelete="CASCADE"),
                                            primary_key=True)
    course_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    layout: Mapped[int] = mapped_column(Integer)
    # Read and written whole, never queried into: plain JSON (text) is cheaper than JSONB for that.
    state: Mapped[dict] = mapped_column(JSON)
