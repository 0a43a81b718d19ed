"""Statements shaped like the region's traffic, written for these tests."""
from __future__ import annotations

import copy
import uuid

MOODLE = "https://fad.example.toscana.it"
COURSE = "https://fad.example.toscana.it/course/view.php?id=12"
VERB_COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
VERB_ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VERB_VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def moodle_actor(user_id: int) -> dict:
    return {"objectType": "Agent", "name": f"Utente {user_id}",
            "account": {"homePage": MOODLE, "name": str(user_id)}}


def statement(user_id: int = 7, verb: str = VERB_COMPLETED, activity: str = f"{MOODLE}/mod/scorm/view.php?id=41",
              registration: str | None = None, **extra) -> dict:
    body = {
        "actor": moodle_actor(user_id),
        "verb": {"id": verb, "display": {"it": "completato", "en": "completed"}},
        "object": {"objectType": "Activity", "id": activity,
                   "definition": {"type": "http://adlnet.gov/expapi/activities/lesson",
                                  "name": {"it": "Modulo 1", "en": "Module 1"}}},
        "context": {"platform": "Moodle", "language": "it",
                    "registration": registration or str(uuid.uuid4()),
                    "contextActivities": {"grouping": [{"id": COURSE, "definition": {
                        "type": "http://id.tincanapi.com/activitytype/lms/course", "name": {"it": "FSE 2.0"}}}],
                        "category": [{"id": "http://moodle.org", "definition": {
                            "type": "http://id.tincanapi.com/activitytype/source", "name": {"en": "Moodle"}}}]}},
        "timestamp": "2026-10-05T09:30:00+02:00",
    }
    body.update(extra)
    return copy.deepcopy(body)


def quiz_result(raw: float, minimum: float = 0, maximum: float = 100) -> dict:
    # Moodle's logstore_xapi scales scores to -1..1: ((raw-min)/(max-min))*2-1.
    scaled = ((raw - minimum) / (maximum - minimum)) * 2 - 1
    return {"score": {"raw": raw, "min": minimum, "max": maximum, "scaled": scaled}, "completion": True,
            "success": raw >= 75, "duration": "PT12M30S"}
