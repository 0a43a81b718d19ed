"""The ECM rules for a FAD event and for the credits of one learner (reference in docs/ecm.md).

Pure functions over plain values: nothing here reads the database or knows of HTTP. A credit
entry records ``RULE_VERSION``, so that an entry can always be read against the rules that made it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from courses.reference import ECM_PROFESSION_CODES, Reference
from fse_fad.errors import Problem

RULE_VERSION = "fad-2019.1"
ROME = ZoneInfo("Europe/Rome")

FAD_MAX_DAYS = 365
REPORT_DUE_DAYS = 90
PASS_PERCENT = 75.0
MAX_ATTEMPTS = 5
MAX_CREDITS = Decimal("50.0")
CREDITS_PER_HOUR = Decimal("1.0")
CREDITS_PER_HOUR_WITH_TUTORING = Decimal("1.5")

TRAINING_FORMS = {1: "FAD", 2: "FSC", 3: "RES", 4: "blended"}
FAD = 1
# cod_tipologia_form of e-learning FAD: 10 without, 11 with the support of an expert (tutor).
FAD_TYPOLOGY = {False: 10, True: 11}
TRAINING_TYPOLOGIES = range(1, 12)
EVENT_TYPES = ("E", "P")

# Why a learner does not earn credits; the order is the order in which a provider reads them.
UNMET = ("profession_not_health", "profession_not_accredited", "course_not_completed",
         "completed_outside_event", "test_not_passed", "questionnaire_missing")


def event_credits(hours: int, tutoring: bool) -> Decimal:
    """Credits of an e-learning FAD event: 1 per hour, 1.5 with tutoring, at most 50."""
    per_hour = CREDITS_PER_HOUR_WITH_TUTORING if tutoring else CREDITS_PER_HOUR
    return min(MAX_CREDITS, (per_hour * hours).quantize(Decimal("0.1"), ROUND_HALF_UP))


def accredited_credits(event: dict) -> Decimal:
    """The event's credits: computed for FAD, as accredited for the other forms."""
    if event["training_form"] == FAD:
        return event_credits(event["hours"], event["tutoring"])
    return Decimal(str(event["credits"])).quantize(Decimal("0.1"))


def report_due(end_date: date) -> date:
    return end_date + timedelta(days=REPORT_DUE_DAYS)


def check_event(event: dict, reference: Reference) -> list[Problem]:
    """Every rule an event breaks. ``event`` holds the fields of ``schemas.EventInputSchema``."""
    problems: list[Problem] = []

    def check(ok: bool, name: str, rule: str) -> None:
        if not ok:
            problems.append(Problem(name, rule))

    start, end = event["start_date"], event["end_date"]
    check(end >= start, "end_date", "on or after start_date")
    if event["training_form"] == FAD:
        check(end <= start + timedelta(days=FAD_MAX_DAYS), "end_date",
              f"a FAD event lasts at most {FAD_MAX_DAYS} days: on or before {start + timedelta(days=FAD_MAX_DAYS)}")
        expected = FAD_TYPOLOGY[event["tutoring"]]
        check(event["training_typology"] == expected, "training_typology",
              f"{expected} for e-learning FAD {'with' if event['tutoring'] else 'without'} tutoring")
    check(event.get("training_typology") in TRAINING_TYPOLOGIES, "training_typology", "1 to 11")
    given = event.get("credits")
    if event["training_form"] == FAD:
        credits = event_credits(event["hours"], event["tutoring"])
        if given is not None:
            check(Decimal(str(given)) == credits, "credits",
                  f"{credits} ({event['hours']} hours × {'1.5' if event['tutoring'] else '1.0'} credits per hour, "
                  f"at most {MAX_CREDITS})")
    else:
        # Residential and field training earn credits by rules of their own: the accredited value is taken.
        check(given is not None, "credits", "required for an event other than FAD: the accredited credits")
    check(bool(event["professions"]), "professions", "at least one profession")
    for code, disciplines in event["professions"].items():
        name = f"professions.{code}"
        profession = reference.professions.get(code)
        if code not in ECM_PROFESSION_CODES or profession is None:
            problems.append(Problem(name, "an Age.na.s health profession code, 1 to 30"))
            continue
        check(bool(disciplines), name, "at least one discipline")
        own = {d.code for d in profession.disciplines}
        for discipline in disciplines:
            check(discipline in own, f"{name}.{discipline}", f"a discipline of profession {code}")
    return problems


@dataclass(frozen=True)
class EventTerms:
    start_date: date
    end_date: date
    credits: Decimal
    professions: dict[int, frozenset[int]]


@dataclass(frozen=True)
class LearnerRecord:
    """What the rules need of a learner's data and of their progress in the event's course."""

    profession: int | None
    disciplines: tuple[int, ...]
    modules_completed: int
    modules_total: int
    # [{"number", "percent", "passed", "at", "statement_id"}] in order (courses.progress.Attempt).
    attempts: tuple[dict, ...]
    questionnaire_at: datetime | None
    questionnaire_statement_id: str | None
    completed_at: datetime | None
    # The statements that completed each module.
    module_statement_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Decision:
    outcome: str | None  # "credits", "attendance" or None
    credits: Decimal = Decimal("0.0")
    credit_date: date | None = None
    statement_ids: tuple[str, ...] = ()
    unmet: tuple[str, ...] = field(default=())


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes, which are UTC here."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def local_date(moment: datetime) -> date:
    return aware(moment).astimezone(ROME).date()


def passed_attempt(attempts: tuple[dict, ...]) -> dict | None:
    """The first of the first five attempts with at least 75%."""
    for attempt in attempts[:MAX_ATTEMPTS]:
        percent = attempt.get("percent")
        if (percent >= PASS_PERCENT) if percent is not None else attempt.get("passed"):
            return attempt
    return None


def accredited_disciplines(terms: EventTerms, profession: int | None, disciplines: tuple[int, ...]) -> list[int]:
    return sorted(set(disciplines) & terms.professions.get(profession, frozenset()))


def decide(terms: EventTerms, learner: LearnerRecord) -> Decision:
    """Whether the learner earns the event's credits, a certificate of attendance, or nothing yet."""
    unmet = []
    health = learner.profession in ECM_PROFESSION_CODES
    if not health:
        unmet.append("profession_not_health")
    elif not accredited_disciplines(terms, learner.profession, learner.disciplines):
        unmet.append("profession_not_accredited")
    completed = learner.completed_at is not None and learner.modules_completed >= learner.modules_total
    if not completed:
        unmet.append("course_not_completed")
    elif not terms.start_date <= local_date(learner.completed_at) <= terms.end_date:
        unmet.append("completed_outside_event")
    passed = passed_attempt(learner.attempts)
    if passed is None:
        unmet.append("test_not_passed")
    if learner.questionnaire_at is None:
        unmet.append("questionnaire_missing")
    course_met = not set(unmet) & {"course_not_completed", "completed_outside_event", "test_not_passed",
                                   "questionnaire_missing"}
    if not course_met:
        return Decision(None, unmet=tuple(unmet))
    moments = [aware(m) for m in (learner.completed_at, datetime.fromisoformat(passed["at"]), learner.questionnaire_at)]
    statements = tuple(sorted({passed["statement_id"], learner.questionnaire_statement_id,
                               *learner.module_statement_ids} - {None}))
    credit_date = local_date(max(moments))
    if unmet:
        return Decision("attendance", Decimal("0.0"), credit_date, statements, tuple(unmet))
    return Decision("credits", terms.credits, credit_date, statements)
