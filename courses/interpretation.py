"""What a statement says about a learner's progress, whoever sent it.

Three kinds of senders speak to the LRS about the same course: the course's own content (IRIs
of the catalogue, docs/xapi-profile.md), any xAPI content using the catalogue's IRIs, and
Moodle's logstore_xapi (Moodle URLs, mapped to catalogue elements per site). Each statement
about a catalogue element becomes at most one :class:`Fact`; progress is then a pure function
of a learner's facts, which is what makes it independent of the order and repetition of
statements.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from courses.catalogue import Catalogue, Course, Element
from courses.moodle import MoodleMapping
from lrs.identity import agent_key
from lrs.times import parse_us

ADL = "http://adlnet.gov/expapi/verbs/"
VERB_KINDS = {
    ADL + "registered": "enrolled",
    "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/enrolled": "enrolled",
    "https://w3id.org/xapi/adl/verbs/logged-in": None,
    ADL + "launched": "launched",
    ADL + "initialized": "launched",
    ADL + "attempted": "launched",
    "https://w3id.org/xapi/adl/verbs/viewed": None,
    ADL + "progressed": "progressed",
    ADL + "completed": "completed",
    ADL + "passed": "passed",
    ADL + "failed": "failed",
    ADL + "answered": "answered",
    ADL + "responded": "answered",
    ADL + "terminated": "terminated",
    ADL + "suspended": "terminated",
    ADL + "exited": "terminated",
    ADL + "attended": "attended",
    "http://id.tincanapi.com/verb/submitted": "submitted",
    "https://w3id.org/xapi/dod-isd/verbs/submitted": "submitted",
}
# Per-objective scores of the initial assessment, when the content reports them directly.
OBJECTIVE_SCORES_EXTENSION = "https://formas.toscana.it/xapi/fse20/extensions/objective-scores"
# The level the content was taken at, when its activity is the module rather than a level.
LEVEL_EXTENSION = "https://formas.toscana.it/xapi/fse20/extensions/level"
# The number of a final-test attempt, in the context: the statements of one attempt share it.
ATTEMPT_EXTENSION = "https://formas.toscana.it/xapi/fse20/extensions/attempt"

DURATION_RE = re.compile(r"^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)D)?"
                         r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


@dataclass(frozen=True)
class Fact:
    statement_id: str
    agent_key: str
    course_code: str
    element_key: str
    kind: str
    occurred_at: datetime
    stored_us: int
    registration: str | None = None
    score_percent: float | None = None
    success: bool | None = None
    completion: bool | None = None
    duration_seconds: float | None = None
    data: dict = field(default_factory=dict, compare=False)


def duration_seconds(value: str | None) -> float | None:
    if not value:
        return None
    match = DURATION_RE.match(value)
    if not match:
        return None
    weeks, years, months, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return ((((weeks * 7 + days + months * 30 + years * 365) * 24 + hours) * 60 + minutes) * 60) + seconds


def score_percent(result: dict | None) -> float | None:
    """A score in percent. Moodle's ``scaled`` runs from -1 to 1 (50/100 gives 0.0), so raw,
    min and max are read first; ``scaled`` alone is taken as the 0..1 fraction xAPI means."""
    score = (result or {}).get("score") or {}
    raw = score.get("raw")
    if raw is not None:
        low = score.get("min", 0)
        high = score.get("max", 100)
        if high > low:
            return round((raw - low) * 100.0 / (high - low), 4)
        return None
    scaled = score.get("scaled")
    if scaled is not None and scaled >= 0:
        return round(scaled * 100.0, 4)
    return None


def _timestamp(statement: dict) -> datetime:
    micros = parse_us(statement.get("timestamp") or statement["stored"])
    return datetime.fromtimestamp(micros / 1_000_000, tz=timezone.utc)


@dataclass(frozen=True)
class Interpreter:
    catalogue: Catalogue
    moodle: MoodleMapping

    def __post_init__(self):
        # Longest IRI first, so that a course whose IRI prefixes another's is not mistaken for it.
        object.__setattr__(self, "_courses", sorted(self.catalogue.courses.values(), key=lambda c: -len(c.iri)))

    def element_of(self, iri: str) -> tuple[Course, Element] | None:
        for course in self._courses:
            if iri == course.iri:
                return course, course.element("course")
            if iri.startswith(course.iri + "/"):
                element = course.element(iri[len(course.iri) + 1:])
                if element is not None:
                    return course, element
        resolved = self.moodle.resolve(iri, self.catalogue)
        if resolved is not None and resolved.element is not None:
            return self.catalogue.course(resolved.course), resolved.element
        return None

    def _resolve(self, statement: dict) -> tuple[Course, Element] | None:
        obj = statement["object"]
        if obj.get("objectType", "Activity") != "Activity":
            return None
        found = self.element_of(obj["id"])
        if found is not None:
            return found
        # Moodle names a quiz attempt or a SCO by a URL of its own; its parent is the activity.
        for parent in (statement.get("context") or {}).get("contextActivities", {}).get("parent", ()):
            found = self.element_of(parent["id"])
            if found is not None and found[1].kind != "course":
                return found
        return None

    def interpret(self, statement: dict) -> Fact | None:
        kind = VERB_KINDS.get(statement["verb"]["id"])
        if kind is None:
            return None
        actor = agent_key(statement["actor"])
        if actor is None:
            return None
        found = self._resolve(statement)
        if found is None:
            return None
        course, element = found
        obj = statement["object"]
        result = statement.get("result") or {}
        context = statement.get("context") or {}
        data = {}
        extensions = result.get("extensions") or {}
        if isinstance(extensions.get(OBJECTIVE_SCORES_EXTENSION), dict):
            data["objective_scores"] = {k: float(v) for k, v in extensions[OBJECTIVE_SCORES_EXTENSION].items()
                                        if isinstance(v, (int, float)) and not isinstance(v, bool)}
        context_extensions = context.get("extensions") or {}
        level = context_extensions.get(LEVEL_EXTENSION)
        if isinstance(level, str):
            data["level"] = level
        attempt = context_extensions.get(ATTEMPT_EXTENSION)
        if attempt is not None:
            data["attempt"] = str(attempt)[:40]
        elif obj["id"] != course.iri_of(element.key) and element.kind in ("final-test", "assessment"):
            data["attempt"] = obj["id"][:200]  # Moodle names each quiz attempt by its own URL
        if element.kind == "question" and "response" in result:
            data["response"] = str(result["response"])[:200]
        return Fact(
            statement_id=statement["id"],
            agent_key=actor,
            course_code=course.code,
            element_key=element.key,
            kind=kind,
            occurred_at=_timestamp(statement),
            stored_us=parse_us(statement["stored"]),
            registration=context.get("registration"),
            score_percent=score_percent(result),
            success=result.get("success"),
            completion=result.get("completion"),
            duration_seconds=duration_seconds(result.get("duration")),
            data=data,
        )
