"""The /api/v1/ecm endpoints: events, issuing credits, the participant report, certificates.

Access: ``ecm-provider`` (and ``admin``) for everything; a training office reads the events, the
credits and the certificates of its trust's learners (a regional office: every trust's);
certificate verification is open to all three roles and shows only what the paper already says.
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, jsonify, request

from courses.api import courses_runtime
from ecm import certificates, operations, participant_report
from ecm.schemas import (CreditsPageSchema, CreditsQuerySchema, DueListSchema, EditionQuerySchema, EventInputSchema,
                         EventListSchema, EventSchema, IssueResultSchema, VerificationSchema)
from fse_fad.errors import BadRequest
from fse_fad.openapi import documented
from fse_fad.web import db, in_transaction, query_args as _query, require_role, runtime, visible_trust

blueprint = Blueprint("ecm", __name__, url_prefix="/api/v1/ecm")

PROVIDER = ("ecm-provider",)
READERS = ("ecm-provider", "training-office")
TAGS = ["ecm"]
CHUNK = 64 * 1024


def _event(code: str, for_update: bool = False):
    return operations.get_event(db(), code, _query(EditionQuerySchema()).get("edition"), for_update=for_update)


def _reference():
    return courses_runtime().catalogue.reference


def reader_trust(principal) -> str | None:
    """A trust's training office reads only its trust; the provider, admin and regional offices all."""
    return visible_trust(principal) if principal.role == "training-office" else None


@blueprint.get("/events")
@documented("The ECM events", tags=TAGS, responses={200: ("the events", EventListSchema)})
def list_events():
    require_role(*READERS)
    return jsonify(EventListSchema().dump({"events": [operations.event_document(e)
                                                      for e in operations.list_events(db())]}))


@blueprint.post("/events")
@documented("Create an ECM event (validated: dates, 365-day FAD limit, credits, codes)", tags=TAGS,
            body=EventInputSchema, responses={201: ("the event", EventSchema), 409: ("the event exists", "Error")})
def create_event():
    require_role(*PROVIDER)
    data = operations.load_event_input(request.get_json(silent=True))

    def work(session):
        event = operations.create_event(session, data, courses_runtime().catalogue, _reference())
        return operations.event_document(event)

    return jsonify(EventSchema().dump(in_transaction(work))), 201


@blueprint.get("/events/<code>")
@documented("An ECM event", tags=TAGS, query=EditionQuerySchema,
            responses={200: ("the event", EventSchema), 404: ("no such event", "Error")})
def get_event(code: str):
    require_role(*READERS)
    return jsonify(EventSchema().dump(operations.event_document(_event(code))))


@blueprint.post("/events/<code>/credits")
@documented("Issue the event's credits and certificates of attendance, and correct what changed", tags=TAGS,
            query=EditionQuerySchema, responses={200: ("what was issued", IssueResultSchema)})
def issue_credits(code: str):
    """Idempotent: a second run issues nothing new. Corrections (a voided statement, corrected learner
    data) supersede an entry and are flagged for the provider."""
    require_role(*PROVIDER)
    edition = _query(EditionQuerySchema()).get("edition")

    def work(session):
        event = operations.get_event(session, code, edition)
        return operations.issue(session, event, courses_runtime().catalogue)

    return jsonify(IssueResultSchema().dump(in_transaction(work)))


@blueprint.get("/events/<code>/credits")
@documented("Each learner's current credit entry for the event (a trust's office: its learners only)", tags=TAGS,
            query=CreditsQuerySchema, responses={200: ("a page of entries", CreditsPageSchema)})
def list_credits(code: str):
    principal = require_role(*READERS)
    args = _query(CreditsQuerySchema())
    event = operations.get_event(db(), code, args.get("edition"))
    page = operations.credits_page(db(), event, trust=reader_trust(principal), flagged=args.get("flagged"),
                                   page=args["page"], per_page=args["per_page"])
    return jsonify(CreditsPageSchema().dump(page))


def _report(code: str, fmt: str) -> Response:
    require_role(*PROVIDER)
    session = db()
    event = _event(code)
    spool = participant_report.spooled(session, event, _reference(), fmt)
    session.rollback()

    def chunks():
        try:
            while block := spool.read(CHUNK):
                yield block
        finally:
            spool.close()

    return Response(chunks(), content_type=participant_report.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{participant_report.file_name(event, fmt)}"'})


@blueprint.get("/events/<code>/report.xml")
@documented("The participant report for Co.Ge.A.P.S. (XML, ISO-8859-1); refused with every problem listed",
            tags=TAGS, query=EditionQuerySchema,
            responses={200: ("the report", {"type": "string", "format": "binary"}),
                       400: ("the report breaks rules of the format: every problem is listed", "Error")})
def report_xml(code: str):
    return _report(code, "xml")


@blueprint.get("/events/<code>/report.csv")
@documented("The provider's CSV of the participant report (ISO-8859-1, ';')", tags=TAGS, query=EditionQuerySchema,
            responses={200: ("the CSV", {"type": "string", "format": "binary"}),
                       400: ("the report breaks rules of the format: every problem is listed", "Error")})
def report_csv(code: str):
    return _report(code, "csv")


@blueprint.get("/events/<code>/certificates/<codice_fiscale>")
@documented("A learner's certificate (PDF, Italian): ECM credits or attendance", tags=TAGS, query=EditionQuerySchema,
            responses={200: ("the PDF", {"type": "string", "format": "binary"}),
                       404: ("no certificate for this learner (in the caller's trust)", "Error")})
def certificate(code: str, codice_fiscale: str):
    principal = require_role(*READERS)
    pdf, name = certificates.of_learner(db(), _event(code), codice_fiscale, reader_trust(principal), _reference(),
                                        runtime().config.public_url)
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blueprint.get("/certificates/<code>")
@documented("Verify a certificate by its code: valid, superseded by a correction, or revoked", tags=TAGS,
            responses={200: ("what the certificate states, and whether it holds", VerificationSchema),
                       404: ("no certificate with this code", "Error")})
def verify_certificate(code: str):
    """Only what the certificate itself prints (no codice fiscale); a superseded or revoked
    certificate shows its status alone."""
    require_role(*READERS)
    if not code.isalnum() or len(code) > 20:
        raise BadRequest("not a verification code", field="code", rule="letters and digits, at most 20")
    entry, event, status = operations.verify(db(), code)
    body = {"code": entry.verification_code, "status": status}
    if status == "valid":
        data = entry.learner_data
        body.update(kind=entry.outcome, holder=" ".join(p for p in (data.get("name"), data.get("surname")) if p),
                    event=event.code, edition=event.edition, title=event.title, credits=entry.credits,
                    date=entry.credit_date)
    return jsonify(VerificationSchema().dump(body))


@blueprint.get("/reports/due")
@documented("The ended events and the deadline of their participant report (90 days after the end)", tags=TAGS,
            responses={200: ("the events, soonest deadline first", DueListSchema)})
def due_reports():
    require_role(*PROVIDER)
    return jsonify(DueListSchema().dump({"events": operations.due_events(db(), date.today())}))
