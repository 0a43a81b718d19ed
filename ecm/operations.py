"""What can be done with ECM events and credits: create events, issue and correct credit entries,
read them. Plain functions over a session; the caller commits."""
from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Iterator

from marshmallow import ValidationError
from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from courses.catalogue import Catalogue
from courses.models import Learner, LearnerProgress, ModuleProgress, ProgressFact
from courses.reference import Reference
from ecm import rules
from ecm.models import OUTCOMES, CreditEntry, EcmEvent
from ecm.schemas import ALL, EventInputSchema, is_event_code
from fse_fad.errors import BadRequest, Conflict, NotFound, Problem

CORRECTION_REASONS = ("statement_voided", "learner_data_corrected", "progress_changed")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- events ---------------------------------------------------------------------------------------

def load_event_input(payload: object, field_prefix: str = "") -> dict:
    """An event's fields from a JSON object, or a 400 naming every offending field."""
    if not isinstance(payload, dict):
        raise BadRequest("an event must be a JSON object", field=field_prefix or "body", rule="JSON object")
    try:
        return EventInputSchema().load(payload)
    except ValidationError as exc:
        problems = [Problem(f"{field_prefix}{name}", "; ".join(map(str, messages if isinstance(messages, list)
                                                                       else [messages])))
                    for name, messages in exc.messages.items()]
        raise BadRequest("invalid event", problems=problems) from None


def create_event(session: Session, data: dict, catalogue: Catalogue, reference: Reference) -> EcmEvent:
    """Store a new event after checking every rule (docs/ecm.md); refuse it whole, naming each problem."""
    data = dict(data)
    if data["professions"] == ALL:
        data["professions"] = {p.code: sorted(d.code for d in p.disciplines)
                               for p in reference.professions.values() if p.ecm_eligible}
    problems = rules.check_event(data, reference)
    if catalogue.course(data["course_code"]) is None:
        problems.append(Problem("course_code", "a course of the catalogue"))
    if problems:
        raise BadRequest("the event breaks the ECM rules", problems=problems)
    existing = session.scalar(select(EcmEvent).where(EcmEvent.code == data["code"],
                                                     EcmEvent.edition == data["edition"]))
    if existing is not None:
        raise Conflict(f"event {data['code']} edition {data['edition']} exists", field="code",
                       rule="a new event code and edition")
    event = EcmEvent(
        code=data["code"], edition=data["edition"], title=data["title"], provider_code=data["provider_code"],
        accrediting_body_code=data["accrediting_body_code"], start_date=data["start_date"],
        end_date=data["end_date"], hours=data["hours"], tutoring=data["tutoring"],
        credits=rules.accredited_credits(data), training_form=data["training_form"],
        training_typology=data["training_typology"], event_type=data["event_type"],
        objective_code=data["objective_code"],
        professions={str(code): disciplines for code, disciplines in sorted(data["professions"].items())},
        course_code=data["course_code"], created_at=utcnow())
    session.add(event)
    session.flush()
    return event


def event_document(event: EcmEvent) -> dict:
    return {"code": event.code, "edition": event.edition, "title": event.title, "provider_code": event.provider_code,
            "accrediting_body_code": event.accrediting_body_code, "start_date": event.start_date,
            "end_date": event.end_date, "hours": event.hours, "tutoring": event.tutoring,
            "credits": event.credits, "training_form": event.training_form,
            "training_typology": event.training_typology, "event_type": event.event_type,
            "objective_code": event.objective_code, "professions": event.professions,
            "course_code": event.course_code, "report_due": rules.report_due(event.end_date)}


def list_events(session: Session) -> list[EcmEvent]:
    return list(session.scalars(select(EcmEvent).order_by(EcmEvent.start_date, EcmEvent.code, EcmEvent.edition)))


def get_event(session: Session, code: str, edition: int | None = None, *, for_update: bool = False) -> EcmEvent:
    """The event with this code (and edition, needed only when the code has several)."""
    if not is_event_code(code):
        raise NotFound("no ECM event with such a code", field="code", rule="letters, digits, '_', '.', '-'; at most 20")
    stmt = select(EcmEvent).where(EcmEvent.code == code)
    if edition is not None:
        stmt = stmt.where(EcmEvent.edition == edition)
    if for_update:
        stmt = stmt.with_for_update()
    events = list(session.scalars(stmt.order_by(EcmEvent.edition)))
    if not events:
        raise NotFound(f"no ECM event {code}" + (f" edition {edition}" if edition else ""), field="code",
                       rule="an existing event code and edition")
    if len(events) > 1:
        raise BadRequest(f"event {code} has {len(events)} editions", field="edition",
                         rule="one of " + ", ".join(str(e.edition) for e in events))
    return events[0]


def terms_of(event: EcmEvent) -> rules.EventTerms:
    return rules.EventTerms(event.start_date, event.end_date, Decimal(event.credits),
                            {int(code): frozenset(d) for code, d in event.professions.items()})


# --- issuing and correcting -----------------------------------------------------------------------

def learner_data(learner: Learner) -> dict:
    """The learner's data a credit entry is issued for; a correction of any of it is a correction."""
    return {"codice_fiscale": learner.codice_fiscale, "surname": learner.surname, "name": learner.name,
            "profession": learner.profession_code, "disciplines": sorted(learner.disciplines or []),
            "employment": learner.employment}


def module_statements(session: Session, course_code: str, learner_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The statements that completed each module of the learners: the first completing fact of a
    module (the one whose time ``courses`` kept as the module's completion; the lowest id among
    facts of the same instant, as ``courses.progress`` orders them)."""
    rows = session.execute(
        select(ProgressFact.learner_id, ModuleProgress.module_code, ProgressFact.statement_id)
        .join(ModuleProgress, (ModuleProgress.learner_id == ProgressFact.learner_id)
              & (ModuleProgress.course_code == ProgressFact.course_code)
              & (ModuleProgress.completed_at == ProgressFact.occurred_at)
              & ((ProgressFact.element_key == ModuleProgress.module_code)
                 | ProgressFact.element_key.startswith(ModuleProgress.module_code + "/")))
        .where(ProgressFact.course_code == course_code, ProgressFact.learner_id.in_(learner_ids),
               ProgressFact.kind.in_(("completed", "passed")) | ProgressFact.completion.is_(True)))
    first: dict[tuple[int, str], str] = {}
    for learner_id, module_code, statement_id in rows:
        key = (learner_id, module_code)
        first[key] = min(first.get(key, statement_id), statement_id)
    found: dict[int, list[str]] = {}
    for (learner_id, _module), statement_id in first.items():
        found.setdefault(learner_id, []).append(statement_id)
    return {learner_id: tuple(sorted(ids)) for learner_id, ids in found.items()}


def record_of(progress: LearnerProgress | None, modules_total: int, learner: Learner,
              module_statement_ids: tuple[str, ...] = ()) -> rules.LearnerRecord:
    return rules.LearnerRecord(
        profession=learner.profession_code, disciplines=tuple(learner.disciplines or ()),
        modules_completed=progress.modules_completed if progress else 0, modules_total=modules_total,
        attempts=tuple(progress.attempts or ()) if progress else (),
        questionnaire_at=progress.questionnaire_at if progress else None,
        questionnaire_statement_id=progress.questionnaire_statement_id if progress else None,
        completed_at=progress.completed_at if progress else None, module_statement_ids=module_statement_ids)


def new_verification_code() -> str:
    """80 random bits in base32: short enough to type from paper, too many to guess."""
    return base64.b32encode(secrets.token_bytes(10)).decode("ascii")


def _latest_ids(*where):
    """The id of each learner's latest entry per event: entries are never changed, so the latest is current."""
    return (select(func.max(CreditEntry.id).label("id")).where(*where)
            .group_by(CreditEntry.event_id, CreditEntry.learner_id).subquery())


def current_entries_query(event_id: int):
    """Each learner's current entry for the event."""
    latest = _latest_ids(CreditEntry.event_id == event_id)
    return select(CreditEntry).join(latest, CreditEntry.id == latest.c.id)


def credited_learners_query(course_code: str):
    """The ids of the learners whose current entry for some event of the course holds ECM credits."""
    latest = _latest_ids(CreditEntry.event_id.in_(select(EcmEvent.id).where(EcmEvent.course_code == course_code)))
    return (select(CreditEntry.learner_id).join(latest, CreditEntry.id == latest.c.id)
            .where(CreditEntry.outcome == "credits").distinct())


def _same(entry: CreditEntry, decision: rules.Decision, data: dict) -> bool:
    outcome = decision.outcome or "revoked"
    return (entry.outcome == outcome and Decimal(entry.credits) == decision.credits
            and entry.credit_date == decision.credit_date and sorted(entry.statement_ids) == list(decision.statement_ids)
            and entry.learner_data == data)


def _reason(session: Session, entry: CreditEntry, data: dict) -> str:
    if entry.statement_ids:
        present = set(session.scalars(select(ProgressFact.statement_id)
                                      .where(ProgressFact.statement_id.in_(entry.statement_ids))))
        if set(entry.statement_ids) - present:
            return "statement_voided"
    if entry.learner_data != data:
        return "learner_data_corrected"
    return "progress_changed"


@dataclass
class IssueResult:
    event: str
    edition: int
    credits: int = 0
    attendance: int = 0
    corrections: int = 0
    unchanged: int = 0


def issue(session: Session, event: EcmEvent, catalogue: Catalogue, now: datetime | None = None) -> IssueResult:
    """Issue what the learners of the event's course have earned and correct what has changed.

    Idempotent: a learner whose current entry still holds adds nothing. When a statement an entry
    rests on was voided, or the learner's data was corrected, a correction entry supersedes it and
    is flagged for the provider; a learner who no longer qualifies gets a revocation entry."""
    now = now or utcnow()
    # One issuing run per event at a time: concurrent runs would both see "nothing issued yet".
    session.scalar(select(EcmEvent.id).where(EcmEvent.id == event.id).with_for_update())
    course = catalogue.course(event.course_code)
    if course is None:
        raise BadRequest(f"event {event.code} certifies course {event.course_code}, not in the catalogue",
                         field="course_code", rule="a course of the catalogue")
    modules_total = len(course.modules) if course.kind == "fad" else 0
    terms = terms_of(event)
    current = {e.learner_id: e for e in session.scalars(current_entries_query(event.id))}
    completed = select(LearnerProgress.learner_id).where(LearnerProgress.course_code == course.code,
                                                         LearnerProgress.completed_at.is_not(None))
    learner_ids = set(session.scalars(completed)) | set(current)
    result = IssueResult(event.code, event.edition)
    for chunk in _chunks(sorted(learner_ids), 1000):
        rows = session.execute(
            select(Learner, LearnerProgress)
            .outerjoin(LearnerProgress, (LearnerProgress.learner_id == Learner.id)
                       & (LearnerProgress.course_code == course.code))
            .where(Learner.id.in_(chunk)))
        completions = module_statements(session, course.code, chunk)
        new_entries: list[dict] = []
        for learner, progress in rows:
            if learner.erased_at is not None:
                continue  # entries of an erased learner stay as they were issued (docs/ecm.md)
            decision = rules.decide(terms, record_of(progress, modules_total, learner,
                                                     completions.get(learner.id, ())))
            data = learner_data(learner)
            entry = current.get(learner.id)
            if entry is None and decision.outcome is None:
                continue
            if entry is not None and _same(entry, decision, data):
                result.unchanged += 1
                continue
            outcome = decision.outcome or "revoked"
            new_entries.append({
                "event_id": event.id, "learner_id": learner.id, "kind": "issue" if entry is None else "correction",
                "outcome": outcome, "corrects_id": entry.id if entry else None,
                "reason": _reason(session, entry, data) if entry else None, "credits": decision.credits,
                "credit_date": decision.credit_date, "rule_version": rules.RULE_VERSION,
                "statement_ids": list(decision.statement_ids), "learner_data": data, "flagged": entry is not None,
                "verification_code": None if outcome == "revoked" else new_verification_code(), "created_at": now})
            if entry is not None:
                result.corrections += 1
            elif outcome == "credits":
                result.credits += 1
            else:
                result.attendance += 1
        if new_entries:
            # One multi-row INSERT per chunk: the entries need no identity in this session.
            session.execute(insert(CreditEntry), new_entries)
    session.flush()
    return result


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- reading --------------------------------------------------------------------------------------

def entry_document(entry: CreditEntry, trust: str) -> dict:
    data = entry.learner_data
    return {"id": entry.id, "codice_fiscale": data.get("codice_fiscale"), "surname": data.get("surname"),
            "name": data.get("name"), "trust": trust, "profession": data.get("profession"), "kind": entry.kind,
            "outcome": entry.outcome, "credits": entry.credits, "credit_date": entry.credit_date,
            "rule_version": entry.rule_version, "statement_ids": entry.statement_ids, "corrects": entry.corrects_id,
            "reason": entry.reason, "flagged": entry.flagged, "created_at": entry.created_at}


def credits_page(session: Session, event: EcmEvent, *, trust: str | None = None, flagged: bool | None = None,
                 page: int = 1, per_page: int = 100) -> dict:
    """The current entries of an event (a trust's learners only, when ``trust`` is given)."""
    stmt = current_entries_query(event.id).add_columns(Learner.trust_code).join(Learner,
                                                                               Learner.id == CreditEntry.learner_id)
    if trust is not None:
        stmt = stmt.where(Learner.trust_code == trust)
    if flagged is not None:
        stmt = stmt.where(CreditEntry.flagged.is_(flagged))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.execute(stmt.order_by(CreditEntry.learner_id).limit(per_page).offset((page - 1) * per_page))
    return {"event": event.code, "edition": event.edition, "page": page, "per_page": per_page, "total": total,
            "rows": [entry_document(entry, trust_code) for entry, trust_code in rows]}


def learner_entry(session: Session, event: EcmEvent, learner: Learner) -> CreditEntry:
    entry = session.scalar(current_entries_query(event.id).where(CreditEntry.learner_id == learner.id))
    if entry is None or entry.outcome == "revoked":
        raise NotFound("no certificate for this learner and event", field="codice_fiscale",
                       rule="a learner with credits or attendance for the event")
    return entry


def verify(session: Session, code: str) -> tuple[CreditEntry, EcmEvent, str]:
    """The entry a verification code names, its event, and whether it is still valid."""
    entry = session.scalar(select(CreditEntry).where(CreditEntry.verification_code == code.strip().upper()))
    if entry is None:
        raise NotFound("no certificate with this verification code", field="code",
                       rule="a code printed on a certificate")
    event = session.get(EcmEvent, entry.event_id)
    latest = session.scalar(select(func.max(CreditEntry.id)).where(CreditEntry.event_id == entry.event_id,
                                                                    CreditEntry.learner_id == entry.learner_id))
    if latest == entry.id:
        return entry, event, "valid"
    newest = session.get(CreditEntry, latest)
    return entry, event, "revoked" if newest.outcome == "revoked" else "superseded"


def entry_counts(session: Session, event: EcmEvent, trust: str | None = None) -> dict[str, int]:
    """How many current entries of the event hold each outcome, and how many are flagged (a
    trust's learners only, when ``trust`` is given)."""
    current = current_entries_query(event.id).subquery()
    stmt = select(current.c.outcome, func.count(), func.sum(case((current.c.flagged.is_(True), 1), else_=0)))
    if trust is not None:
        stmt = stmt.join(Learner, Learner.id == current.c.learner_id).where(Learner.trust_code == trust)
    counts = dict.fromkeys((*OUTCOMES, "flagged"), 0)
    for outcome, number, flagged in session.execute(stmt.group_by(current.c.outcome)):
        counts[outcome] = number
        counts["flagged"] += int(flagged or 0)
    return counts


def participants_count(session: Session, event: EcmEvent) -> int:
    return session.scalar(select(func.count()).select_from(
        current_entries_query(event.id).where(CreditEntry.outcome == "credits").subquery()))


def due_events(session: Session, today: date) -> list[dict]:
    """The events that have ended, with the deadline of their participant report (90 days after the
    end), soonest first; ``days_left`` is negative once a deadline has passed."""
    rows = []
    for event in list_events(session):
        due = rules.report_due(event.end_date)
        if event.end_date >= today:
            continue
        counts = entry_counts(session, event)
        rows.append({"code": event.code, "edition": event.edition, "title": event.title, "end_date": event.end_date,
                     "report_due": due, "days_left": (due - today).days,
                     "participants": counts["credits"], "flagged": counts["flagged"]})
    return sorted(rows, key=lambda r: (r["report_due"], r["code"], r["edition"]))


def create_events(session: Session, payload: object, catalogue: Catalogue, reference: Reference) -> list[EcmEvent]:
    """The events of a data file (one event object, or {"events": [...]}), all created or none: a
    refusal names every problem of every event."""
    if isinstance(payload, dict) and "events" in payload:
        items = payload["events"]
        if not isinstance(items, list):
            raise BadRequest("events must be a list", field="events", rule="list of event objects")
        prefixes = [f"events[{index}]." for index in range(len(items))]
    else:
        items, prefixes = [payload], [""]
    events, problems = [], []
    for item, prefix in zip(items, prefixes):
        try:
            events.append(create_event(session, load_event_input(item), catalogue, reference))
        except BadRequest as exc:
            problems += [Problem(prefix + p.field, p.rule) for p in exc.problems]
    if problems:
        raise BadRequest("the events break the ECM rules: none was added", problems=problems)
    return events
