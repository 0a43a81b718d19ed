"""Learners, the identities under which the FAD platform names them, their trust history and
their initial assessment."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
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

    __table_args__ = (Index("ix_courses_learners_trust_cluster", "trust_code", "cluster"),)


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

    __table_args__ = (UniqueConstraint("learner_id", "course_code"),)
