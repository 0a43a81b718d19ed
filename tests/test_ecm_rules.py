"""The ECM rules as pure functions: event credits and checks, and each eligibility rule at its edge
(Italian days, 75%, the 5th attempt)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from courses.reference import default_reference
from ecm import rules
from ecm.rules import EventTerms, LearnerRecord, decide

TERMS = EventTerms(date(2026, 1, 15), date(2026, 10, 5), Decimal("4.0"), {14: frozenset({85}), 1: frozenset({58})})
DONE = datetime(2026, 10, 5, 14, 0, tzinfo=timezone.utc)


def attempt(number: int, percent: float | None, at: datetime = DONE, passed: bool | None = None) -> dict:
    return {"number": number, "percent": percent, "passed": passed if passed is not None else (percent or 0) >= 75,
            "at": (at - timedelta(minutes=10 - number)).isoformat(), "statement_id": f"attempt-{number}"}


def learner(profession=14, disciplines=(85,), percents=(80,), questionnaire=True, completed_at=DONE,
            modules=8) -> LearnerRecord:
    return LearnerRecord(profession, tuple(disciplines), modules, 8,
                         tuple(attempt(n, p) for n, p in enumerate(percents, start=1)),
                         DONE - timedelta(minutes=1) if questionnaire else None,
                         "questionnaire" if questionnaire else None, completed_at)


@pytest.mark.parametrize("hours, tutoring, credits", [(4, False, "4.0"), (4, True, "6.0"), (1, True, "1.5"),
                                                      (50, False, "50.0"), (40, True, "50.0"), (999, False, "50.0")])
def test_event_credits_one_per_hour_one_and_a_half_with_tutoring_at_most_fifty(hours, tutoring, credits):
    assert rules.event_credits(hours, tutoring) == Decimal(credits)


def test_report_due_ninety_days_after_the_end():
    assert rules.report_due(date(2026, 12, 31)) == date(2027, 3, 31)


@pytest.mark.parametrize("end, ok", [(date(2027, 1, 15), True), (date(2027, 1, 16), False)])
def test_a_fad_event_lasts_at_most_365_days(end, ok):
    event = {"start_date": date(2026, 1, 15), "end_date": end, "training_form": 1, "tutoring": False,
             "training_typology": 10, "hours": 4, "credits": None, "professions": {14: [85]}}
    problems = rules.check_event(event, default_reference())
    assert (problems == []) is ok, problems


def test_credits_at_the_edges():
    assert decide(TERMS, learner(percents=(75,))).outcome == "credits"
    assert decide(TERMS, learner(percents=(74.9,))).unmet == ("test_not_passed",)
    assert decide(TERMS, learner(percents=(10, 20, 30, 40, 75))).outcome == "credits"
    assert "test_not_passed" in decide(TERMS, learner(percents=(10, 20, 30, 40, 50, 100))).unmet
    assert decide(TERMS, learner(questionnaire=False)).unmet == ("questionnaire_missing",)
    assert decide(TERMS, learner(modules=7)).outcome is None


def test_a_pass_without_a_score_counts_by_its_outcome():
    record = learner(percents=())
    record = LearnerRecord(**{**record.__dict__, "attempts": (attempt(1, None, passed=True),)})
    assert decide(TERMS, record).outcome == "credits"


def test_the_last_day_is_an_italian_day():
    # 23:30 in Rome on the last day is 21:30 UTC the same day (summer time): within the event.
    late = datetime(2026, 10, 5, 21, 30, tzinfo=timezone.utc)
    assert decide(TERMS, learner(completed_at=late)).credit_date == date(2026, 10, 5)
    # 00:30 in Rome on the next day is still 22:30 UTC on the last day: outside the event.
    after = datetime(2026, 10, 5, 22, 30, tzinfo=timezone.utc)
    assert decide(TERMS, learner(completed_at=after)).unmet == ("completed_outside_event",)
    before = datetime(2026, 1, 14, 22, 59, tzinfo=timezone.utc)  # 23:59 in Rome, the day before the start
    assert decide(TERMS, learner(completed_at=before)).unmet == ("completed_outside_event",)


def test_the_credit_date_is_when_the_last_condition_was_met():
    record = learner()
    decision = decide(TERMS, record)
    assert decision.credit_date == date(2026, 10, 5) and decision.credits == Decimal("4.0")
    assert decision.statement_ids == ("attempt-1", "questionnaire")


@pytest.mark.parametrize("profession, disciplines, unmet", [
    (None, (), "profession_not_health"),  # administrative staff
    (31, (), "profession_not_health"),
    (3, (66,), "profession_not_accredited"),  # a pharmacist, the event is not for pharmacists
    (1, (3,), "profession_not_accredited"),  # a cardiologist, the event is for general practitioners only
])
def test_without_an_accredited_health_profession_only_attendance(profession, disciplines, unmet):
    decision = decide(TERMS, learner(profession=profession, disciplines=disciplines))
    assert (decision.outcome, decision.credits, decision.unmet) == ("attendance", Decimal("0.0"), (unmet,))
    assert decide(TERMS, learner(profession=profession, disciplines=disciplines, percents=(50,))).outcome is None


def test_other_training_forms_take_the_accredited_credits():
    event = {"start_date": date(2026, 1, 15), "end_date": date(2026, 1, 15), "training_form": 3, "tutoring": False,
             "hours": 8, "credits": None, "professions": {14: [85]}}
    problems = {(p.field, p.rule) for p in rules.check_event(event, default_reference())}
    assert problems == {("training_typology", "1 to 11"),
                        ("credits", "required for an event other than FAD: the accredited credits")}
    event.update(training_typology=1, credits=Decimal("8.0"))
    assert rules.check_event(event, default_reference()) == []
    assert rules.accredited_credits(event) == Decimal("8.0")
