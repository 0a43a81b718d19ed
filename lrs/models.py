"""Storage of the LRS: statements with their filter keys, attachments, documents, activities."""
from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fse_fad.db import Base, JSONDocument

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Statement(Base):
    __tablename__ = "lrs_statements"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    statement_id: Mapped[str] = mapped_column(String(36), unique=True)
    # Microseconds since the epoch: exact, portable and cheap to compare for since/until and paging.
    stored_us: Mapped[int] = mapped_column(BigInteger)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    is_voiding: Mapped[bool] = mapped_column(Boolean, default=False)
    # The statement a StatementRef object points at: voiding and filter inheritance follow it.
    ref_statement_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    authority_key: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict] = mapped_column(JSONDocument)

    __table_args__ = (
        Index("ix_lrs_statements_stored", "stored_us", "pk"),
        Index("ix_lrs_statements_ref", "ref_statement_id"),
        Index("ix_lrs_statements_authority", "authority_key", "stored_us"),
    )


class StatementKey(Base):
    """One row per filter a statement answers to (verb, agent, activity, registration; see
    ``lrs.identity.filter_keys``), so that every filter of GET statements is an index range scan."""

    __tablename__ = "lrs_statement_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    statement_pk: Mapped[int] = mapped_column(BigId, ForeignKey("lrs_statements.pk", ondelete="CASCADE"),
                                              primary_key=True)

    __table_args__ = (Index("ix_lrs_statement_keys_statement", "statement_pk"),)


class Attachment(Base):
    __tablename__ = "lrs_attachments"

    sha2: Mapped[str] = mapped_column(String(128), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Activity(Base):
    """The canonical definition of an activity, as its statements defined it."""

    __tablename__ = "lrs_activities"

    iri_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    iri: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict] = mapped_column(JSONDocument)
    updated_us: Mapped[int] = mapped_column(BigInteger)


class Document(Base):
    """State, activity profile and agent profile documents. Absent parts of the key are stored
    as empty strings so that the unique constraint holds on every database."""

    __tablename__ = "lrs_documents"

    pk: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    activity_key: Mapped[str] = mapped_column(String(255), default="")
    agent_key: Mapped[str] = mapped_column(String(255), default="")
    registration: Mapped[str] = mapped_column(String(36), default="")
    document_key: Mapped[str] = mapped_column(String(255))
    document_id: Mapped[str] = mapped_column(Text)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(255))
    etag: Mapped[str] = mapped_column(String(64))
    updated_us: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("uq_lrs_documents_key", "kind", "activity_key", "agent_key", "registration", "document_key", unique=True),
    )
