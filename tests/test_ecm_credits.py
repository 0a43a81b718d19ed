"""Credits issued from learners' progress on SQLite and PostgreSQL: each eligibility rule at its edge,
idempotent issuing, voiding and data corrections as flagged correction entries."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select, update

from courses.models import Learner
from ecm.models import CreditEntry
from ecm.rules import RULE_VERSION
from fse_fad.db import session_scope
from tests.courses_support import make_cf
from tests.ecm_support import COMPLETION_DAY, create_event, entries, issue, learner_journey
from tests.test_progress_rules import full_course
from tests.test_progress_tracking import config, moodle_actor, post  # noqa: F401  (config: fixture)

VERB = "http://adlnet.gov/expapi/verbs/"


def outcomes(session_factory, numbers, code="123-4567"):
    found = {}
    for n in numbers:
        rows = entries(session_factory, n, code)
        found[n] = (rows[-1].outcome, str(rows[-1].credits), rows[-1].credit_date) if rows else None
    return found


def test_each_eligibility_rule_at_its_edge(http, xapi, session_factory):
    learner_journey(http, xapi, session_factory, 1, full_course(test_raws=(75,)))
    learner_journey(http, xapi, session_factory, 2, full_course(test_raws=(74.9,)))
    learner_journey(http, xapi, session_factory, 3, full_course(test_raws=(10, 20, 30, 40, 90)))
    learner_journey(http, xapi, session_factory, 4, full_course(test_raws=(10, 20, 30, 40, 50, 95)))
    learner_journey(http, xapi, session_factory, 5, categoria="3.ii", professione="", disciplina="")
    learner_journey(http, xapi, session_factory, 6, full_course()[:-1])  # no questionnaire
    learner_journey(http, xapi, session_factory, 7, categoria="S", professione="", disciplina="")
    # The event ends on the day the course is completed: the last day counts.
    create_event(session_factory)
    result = issue(session_factory)
    assert (result.credits, result.attendance, result.corrections) == (2, 2, 0)
    found = outcomes(session_factory, range(1, 8))
    assert found[1] == ("credits", "4.0", COMPLETION_DAY)  # 75% passes
    assert found[2] is None  # 74.9% does not
    assert found[3] == ("credits", "4.0", COMPLETION_DAY)  # passed at the 5th attempt
    assert found[4] is None  # passed only at the 6th attempt
    assert found[5] == ("attendance", "0.0", COMPLETION_DAY)  # administrative staff: never credits
    assert found[6] is None  # questionnaire missing
    assert found[7] == ("attendance", "0.0", COMPLETION_DAY)  # specialisation student without a profession
    # An event that ended the day before the completion gives nothing but attendance to nobody.
    create_event(session_factory, code="123-4568", end_date=(COMPLETION_DAY - timedelta(days=1)).isoformat())
    before = issue(session_factory, "123-4568")
    assert (before.credits, before.attendance) == (0, 0)


def test_profession_the_event_is_not_accredited_for_gives_attendance(http, xapi, session_factory):
    learner_journey(http, xapi, session_factory, 1)  # a nurse (14, discipline 85)
    create_event(session_factory, professions={"1": [58]})
    issue(session_factory)
    assert outcomes(session_factory, [1])[1] == ("attendance", "0.0", COMPLETION_DAY)


def test_issuing_twice_issues_nothing_new(http, xapi, session_factory):
    learner_journey(http, xapi, session_factory, 1)
    learner_journey(http, xapi, session_factory, 2)
    create_event(session_factory)
    first = issue(session_factory)
    second = issue(session_factory)
    assert (first.credits, second.credits, second.corrections, second.unchanged) == (2, 0, 0, 2)
    [entry] = entries(session_factory, 1)
    assert entry.kind == "issue" and entry.rule_version == RULE_VERSION and not entry.flagged
    # The passed attempt, the questionnaire and the completion of each of the 8 modules.
    assert len(entry.statement_ids) == 10 and entry.verification_code
    assert entry.learner_data["codice_fiscale"] == make_cf(1) and entry.credits == Decimal("4.0")


def test_voided_statement_gives_a_flagged_correction_and_the_record_stays(http, xapi, session_factory):
    posted = learner_journey(http, xapi, session_factory, 1)
    create_event(session_factory)
    issue(session_factory)
    [original] = entries(session_factory, 1)
    questionnaire = posted[-1]
    assert questionnaire["id"] in original.statement_ids
    post(http, xapi, [{"actor": moodle_actor(1), "verb": {"id": VERB + "voided"},
                       "object": {"objectType": "StatementRef", "id": questionnaire["id"]}}])
    result = issue(session_factory)
    assert result.corrections == 1
    kept, revoked = entries(session_factory, 1)
    # The original record is never changed in place.
    assert (kept.id, kept.outcome, kept.credits, kept.statement_ids, kept.verification_code, kept.flagged) == \
        (original.id, "credits", original.credits, original.statement_ids, original.verification_code, False)
    assert (revoked.kind, revoked.outcome, revoked.reason, revoked.corrects_id, revoked.flagged) == \
        ("correction", "revoked", "statement_voided", original.id, True)
    assert revoked.credits == Decimal("0.0") and revoked.verification_code is None
    assert issue(session_factory).corrections == 0  # and the correction is issued once
    # The questionnaire submitted again: credits again, resting on the new statement.
    again = as_questionnaire(posted[-1])
    post(http, xapi, [again])
    issue(session_factory)
    restored = entries(session_factory, 1)[-1]
    assert (restored.outcome, restored.reason, restored.corrects_id, restored.flagged) == \
        ("credits", "progress_changed", revoked.id, True)
    assert again["id"] in restored.statement_ids and restored.verification_code != original.verification_code


def as_questionnaire(statement: dict) -> dict:
    import uuid

    return {**statement, "id": str(uuid.uuid4())}


def test_corrected_learner_data_gives_a_flagged_correction(http, xapi, session_factory):
    learner_journey(http, xapi, session_factory, 1)
    create_event(session_factory)
    issue(session_factory)
    with session_scope(session_factory) as session:
        session.execute(update(Learner).where(Learner.codice_fiscale == make_cf(1)).values(surname="Bianchi"))
    result = issue(session_factory)
    assert result.corrections == 1
    original, corrected = entries(session_factory, 1)
    assert original.learner_data["surname"] != "Bianchi"
    assert (corrected.reason, corrected.outcome, corrected.flagged, corrected.learner_data["surname"]) == \
        ("learner_data_corrected", "credits", True, "Bianchi")
    with session_scope(session_factory) as session:
        assert session.scalar(select(CreditEntry).where(CreditEntry.id == original.id)).flagged is False


def test_a_voided_module_completion_revokes_the_credits(http, xapi, session_factory):
    posted = learner_journey(http, xapi, session_factory, 1)
    create_event(session_factory)
    issue(session_factory)
    [original] = entries(session_factory, 1)
    completion = next(s for s in posted if s["verb"]["id"].endswith("/completed") and "/m03/" in s["object"]["id"])
    assert completion["id"] in original.statement_ids
    post(http, xapi, [{"actor": moodle_actor(1), "verb": {"id": VERB + "voided"},
                       "object": {"objectType": "StatementRef", "id": completion["id"]}}])
    issue(session_factory)
    revoked = entries(session_factory, 1)[-1]
    assert (revoked.outcome, revoked.reason, revoked.flagged) == ("revoked", "statement_voided", True)
