"""Events, learners and their journeys for the tests of ``ecm``."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from courses.catalogue import default_catalogue
from courses.models import Learner
from ecm import operations
from ecm.models import CreditEntry
from fse_fad.db import session_scope
from tests.courses_support import make_cf
from tests.test_progress_rules import full_course
from tests.test_progress_tracking import as_learner, import_learners, post

CATALOGUE = default_catalogue()
# full_course() completes on 2026-10-05 (Italian time).
COMPLETION_DAY = date(2026, 10, 5)
EVENT_CODE = "123-4567"


def event_input(**overrides) -> dict:
    values = {"code": EVENT_CODE, "edition": 1, "title": "FSE 2.0 – formazione generale", "provider_code": "123",
              "accrediting_body_code": "090", "start_date": "2026-01-15", "end_date": COMPLETION_DAY.isoformat(),
              "hours": 4, "objective_code": 18, "professions": "all", "course_code": "FAD-FSE"}
    values.update(overrides)
    return values


def create_event(session_factory, **overrides) -> str:
    with session_scope(session_factory) as session:
        event = operations.create_event(session, operations.load_event_input(event_input(**overrides)), CATALOGUE,
                                        CATALOGUE.reference)
        return event.code


def issue(session_factory, code: str = EVENT_CODE, edition: int | None = None) -> operations.IssueResult:
    with session_scope(session_factory) as session:
        return operations.issue(session, operations.get_event(session, code, edition), CATALOGUE)


def learner_journey(http, xapi, session_factory, n: int, statements=None, **roster) -> list[dict]:
    """Import learner ``n`` (a nurse unless ``roster`` says otherwise) and post their statements."""
    import_learners(session_factory, n, **roster)
    posted = as_learner(statements if statements is not None else full_course(), n)
    post(http, xapi, posted)
    return posted


def entries(session_factory, n: int, code: str = EVENT_CODE) -> list[CreditEntry]:
    """Every entry of learner ``n`` for the event, oldest first."""
    with session_scope(session_factory) as session:
        event = operations.get_event(session, code)
        learner = session.scalar(select(Learner).where(Learner.codice_fiscale == make_cf(n)))
        rows = list(session.scalars(select(CreditEntry).where(CreditEntry.event_id == event.id,
                                                              CreditEntry.learner_id == learner.id)
                                    .order_by(CreditEntry.id)))
        session.expunge_all()
        return rows
