"""ECM events and the credit entries issued for them.

Credit entries are written once and never changed: a later fact (a voided statement, a corrected
learner) adds a correction entry that supersedes the previous one. A learner's current entry for
an event is the one with the highest id.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fse_fad.db import Base, JSONDocument

OUTCOMES = ("credits", "attendance", "revoked")
ENTRY_KINDS = ("issue", "correction")


class EcmEvent(Base):
    """An accredited ECM event (one edition) and the course whose completions it certifies."""

    __tablename__ = "ecm_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20))  # cod_evento
    edition: Mapped[int] = mapped_column(Integer, default=1)  # cod_edi
    title: Mapped[str] = mapped_column(String(300))
    provider_code: Mapped[str] = mapped_column(String(20))  # cod_org
    accrediting_body_code: Mapped[str] = mapped_column(String(3))  # cod_accr
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    hours: Mapped[int] = mapped_column(Integer)
    tutoring: Mapped[bool] = mapped_column(Boolean, default=False)
    credits: Mapped[Decimal] = mapped_column(Numeric(3, 1))
    training_form: Mapped[int] = mapped_column(Integer)  # tipo_form
    training_typology: Mapped[int] = mapped_column(Integer)  # cod_tipologia_form
    event_type: Mapped[str] = mapped_column(String(1))  # tipo_eve
    objective_code: Mapped[int] = mapped_column(Integer)  # cod_obi
    # {"14": [85], "1": [1, 2, ...]}: profession code -> accredited discipline codes.
    professions: Mapped[dict] = mapped_column(JSONDocument)
    course_code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("code", "edition"),)


class CreditEntry(Base):
    """One learner's outcome of an event as it was established at ``created_at``: ECM credits, a
    certificate of attendance, or the revocation of an earlier entry. It keeps the rule version, the
    statements it rests on and the learner's data it was issued for."""

    __tablename__ = "ecm_credit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(Integer, ForeignKey("ecm_events.id", ondelete="RESTRICT"))
    learner_id: Mapped[int] = mapped_column(Integer, ForeignKey("courses_learners.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str] = mapped_column(String(12))
    # The entry this one supersedes (corrections only).
    corrects_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("ecm_credit_entries.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    credits: Mapped[Decimal] = mapped_column(Numeric(3, 1))
    credit_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    rule_version: Mapped[str] = mapped_column(String(20))
    statement_ids: Mapped[list] = mapped_column(JSONDocument)
    # codice_fiscale, surname, name, profession, disciplines, employment at issue time.
    learner_data: Mapped[dict] = mapped_column(JSONDocument)
    # Corrections are flagged for the provider (a report or certificate may already be out).
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    verification_code: Mapped[str | None] = mapped_column(String(20), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_ecm_credit_entries_event_learner", "event_id", "learner_id", "id"),)
