"""The document resources: activity state, activity profile and agent profile.

Concurrency follows the specification: an ETag (the SHA-1 of the content) on every document;
If-Match / If-None-Match are checked before any write; a profile write without either header
on an existing document is refused with 409, so that one client cannot silently overwrite
another's changes.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fse_fad.errors import BadRequest, Conflict, PreconditionFailed
from lrs import identity
from lrs.models import Document

STATE = "state"
ACTIVITY_PROFILE = "activity_profile"
AGENT_PROFILE = "agent_profile"


@dataclass(frozen=True)
class DocumentScope:
    """Which documents a request addresses; ``document_id`` None means all of them."""

    kind: str
    activity_iri: str = ""
    agent_key: str = ""
    registration: str = ""
    document_id: str | None = None

    def _where(self):
        clauses = [Document.kind == self.kind,
                   Document.activity_key == (identity.compact(self.activity_iri) if self.activity_iri else ""),
                   Document.agent_key == self.agent_key]
        if self.kind == STATE:
            clauses.append(Document.registration == self.registration)
        if self.document_id is not None:
            clauses.append(Document.document_key == identity.compact(self.document_id))
        return clauses


def etag_of(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


def _matches(header: str, etag: str) -> bool:
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.strip('"').removeprefix("W/").strip('"') == etag for t in tags)


def check_preconditions(existing: Document | None, if_match: str | None, if_none_match: str | None,
                        require_one: bool) -> None:
    if if_match is not None and (existing is None or not _matches(if_match, existing.etag)):
        raise PreconditionFailed("the document has changed (If-Match)", field="If-Match", rule="must match the current ETag")
    if if_none_match is not None and existing is not None and _matches(if_none_match, existing.etag):
        raise PreconditionFailed("the document already exists (If-None-Match)", field="If-None-Match",
                                 rule="no current document may match")
    if require_one and if_match is None and if_none_match is None:
        if existing is not None:
            raise Conflict("the document exists: send If-Match with its ETag, or If-None-Match: *",
                           field="If-Match", rule="required to overwrite an existing document")
        raise BadRequest("send If-None-Match: * to create a document, or If-Match to replace one",
                         field="If-None-Match", rule="a precondition header is required")


def get_document(session: Session, scope: DocumentScope) -> Document | None:
    return session.scalar(select(Document).where(*scope._where()))


def list_document_ids(session: Session, scope: DocumentScope, since_us: int | None) -> list[str]:
    stmt = select(Document.document_id).where(*scope._where())
    if since_us is not None:
        stmt = stmt.where(Document.updated_us > since_us)
    return list(session.scalars(stmt.order_by(Document.document_id)))


def put_document(session: Session, scope: DocumentScope, content: bytes, content_type: str, now_us: int,
                 *, if_match: str | None = None, if_none_match: str | None = None,
                 require_precondition: bool = False) -> Document:
    existing = session.scalar(select(Document).where(*scope._where()).with_for_update())
    check_preconditions(existing, if_match, if_none_match, require_precondition)
    return _write(session, scope, existing, content, content_type, now_us)


def _write(session, scope, existing, content, content_type, now_us) -> Document:
    if existing is None:
        existing = Document(kind=scope.kind,
                            activity_key=identity.compact(scope.activity_iri) if scope.activity_iri else "",
                            agent_key=scope.agent_key, registration=scope.registration if scope.kind == STATE else "",
                            document_key=identity.compact(scope.document_id), document_id=scope.document_id)
        session.add(existing)
    existing.content = content
    existing.content_type = content_type
    existing.etag = etag_of(content)
    existing.updated_us = now_us
    session.flush()
    return existing


def _json_object(content: bytes, field: str) -> dict:
    try:
        value = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise BadRequest("merging needs JSON objects on both sides", field=field, rule="JSON object")
    return value


def post_document(session: Session, scope: DocumentScope, content: bytes, content_type: str, now_us: int,
                  *, if_match: str | None = None, if_none_match: str | None = None) -> Document:
    """Create the document, or merge a JSON object into the stored JSON object (top-level keys)."""
    existing = session.scalar(select(Document).where(*scope._where()).with_for_update())
    check_preconditions(existing, if_match, if_none_match, False)
    if existing is None:
        if content_type.split(";")[0].strip() == "application/json":
            _json_object(content, "body")
        return _write(session, scope, None, content, content_type, now_us)
    if not existing.content_type.split(";")[0].strip() == "application/json":
        raise BadRequest("the stored document is not JSON and cannot be merged", field="Content-Type",
                         rule="merge only JSON documents")
    if content_type.split(";")[0].strip() != "application/json":
        raise BadRequest("only a JSON object can be merged into a JSON document", field="Content-Type",
                         rule="application/json")
    merged = _json_object(existing.content, "document")
    merged.update(_json_object(content, "body"))
    return _write(session, scope, existing, json.dumps(merged, ensure_ascii=False).encode(),
                  "application/json", now_us)


def delete_documents(session: Session, scope: DocumentScope, *, if_match: str | None = None,
                     if_none_match: str | None = None) -> None:
    if scope.document_id is not None:
        existing = session.scalar(select(Document).where(*scope._where()).with_for_update())
        check_preconditions(existing, if_match, if_none_match, False)
    session.execute(delete(Document).where(*scope._where()))
