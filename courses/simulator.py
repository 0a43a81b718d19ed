"""The FAD simulator: a roster and the statements the FAD platform would send about it.

It drives a running server the way the region's FAD platform does: it imports a roster spread over
the trusts, clusters, categories and professions through ``POST /api/v1/learners/import``, then
sends, with tincan's ``RemoteLRS`` in batches of 30 (Moodle's default), what each learner's journey
produces: enrolment, the initial assessment (the course content's statements: one ``answered`` per
question, then ``completed``), the modules at the levels the path rules give the learner's cluster,
final-test attempts that fail and pass (some learners exhaust their five attempts), the quality
questionnaire, and dropouts at every stage. Moodle's logstore_xapi shapes (no ``id``,
``context.platform`` "Moodle", a registration, ``parent``/``category`` context activities, the
actor ``account{homePage: wwwroot, name: Moodle user id}``, ``score.scaled`` on -1..1) and the
content's shapes (catalogue IRIs, docs/xapi-profile.md) are mixed.

Everything is seeded: a learner's journey depends only on the seed and the learner's number, so the
first N learners are the same whatever the total. The report the server should give,
``expected_report``, is computed from the journeys generated here, never from the server: it is in
the shape of ``GET /api/v1/reports/completions?group_by=trust``.

Plain functions over small dataclasses, so that the CLI (``fse-fad simulate``), the end-to-end
tests, the benchmark and a demo share them.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import random
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from courses.catalogue import Catalogue, Course, default_catalogue
from courses.codice_fiscale import MONTHS, check_character
from courses.interpretation import ATTEMPT_EXTENSION
from courses.moodle import MoodleMapping, MoodleSite
from courses.reference import Reference

ADL = "http://adlnet.gov/expapi/verbs/"
ENROLLED = "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/enrolled"
SUBMITTED = "http://id.tincanapi.com/verb/submitted"
VOIDED = ADL + "voided"
MOODLE_INFO = "http://lrs.learninglocker.net/define/extensions/info"
CMI5_PROGRESS = "https://w3id.org/xapi/cmi5/result/extensions/progress"
COURSE_TYPE = "https://w3id.org/xapi/cmi5/activitytype/course"
# The course opens on this day; learners start within the following 240 days (fixed: reproducible).
EPOCH = datetime(2026, 1, 12, 8, 0, tzinfo=timezone.utc)
BATCH = 30
# Why learners stop, with weights (per hundred). "completed" learners pass after 0-4 failures.
PLANS = (("absent", 5), ("enrolled", 4), ("assessment_dropped", 4), ("assessed", 7), ("modules_dropped", 14),
         ("modules_done", 5), ("test_failed", 7), ("attempts_exhausted", 4), ("passed_no_questionnaire", 5),
         ("completed", 45))
TRUST_WEIGHTS = {"USL-TC": 30, "USL-TNO": 24, "USL-TSE": 18, "AOU-CAREGGI": 8, "AOU-PISANA": 6, "AOU-SENESE": 4,
                 "AOU-MEYER": 3, "ISPRO": 1, "ESTAR": 4, "RT": 2}
CLUSTER_WEIGHTS = {1: 10, 2: 60, 3: 28, "S": 2}
# Professions of the cluster-2 categories that do not name one in the reference data.
CATEGORY_PROFESSIONS = {"2.vi": (14, 14, 14, 15, 18), "2.vii": (14, 14, 15), "2.viii": (1, 14, 14, 9),
                        "2.ix": (5, 10, 12, 16, 20, 27, 28, 23), "S": (1,)}
SURNAMES = ("Rossi Bianchi Ferrari Esposito Romano Colombo Ricci Marino Greco Bruno Gallo Conti Mancini Costa "
            "Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi Caruso Ferri Galli").split()
FIRST_NAMES = ("Maria Giuseppe Anna Giovanni Francesca Antonio Sara Marco Chiara Niccolò Lucia Andrea Elena "
               "Matteo Giulia Lorenzo Martina Duccio Alessia Simone Caterina Iacopo").split()
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


# --- the roster -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SimLearner:
    number: int
    codice_fiscale: str
    surname: str
    name: str
    email: str
    trust: str
    category: str
    cluster: int
    profession: int | None
    discipline: int | None
    employment: str
    moodle_id: str | None
    moodle_username: str | None

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.surname}"


def _codice_fiscale(number: int, rng: random.Random) -> str:
    """Valid, and distinct for every number below 26**6: the six name letters spell the number."""
    letters = "".join(LETTERS[(number // 26 ** i) % 26] for i in range(6))
    female = rng.random() < 0.65
    day = rng.randint(1, 28) + (40 if female else 0)
    first15 = (f"{letters}{rng.randint(55, 99):02d}{rng.choice(MONTHS)}{day:02d}"
               f"{rng.choice('ADGHLMPS')}{rng.randint(1, 999):03d}")
    return first15 + check_character(first15)


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def make_learner(number: int, seed: int, reference: Reference, moodle_site: MoodleSite | None) -> SimLearner:
    rng = random.Random(f"fse-fad-simulator:{seed}:learner:{number}")
    trusts = {code: TRUST_WEIGHTS.get(code, 1) for code in reference.trusts}
    trust = _weighted(rng, trusts)
    cluster = _weighted(rng, CLUSTER_WEIGHTS)
    if cluster == "S":
        category = reference.categories["S"]
    else:
        category = rng.choice([c for c in reference.categories.values() if c.cluster == cluster and c.code != "S"])
    choices = category.professions or CATEGORY_PROFESSIONS.get(category.code, ())
    profession = reference.professions[rng.choice(choices)] if choices else None
    discipline = rng.choice(profession.disciplines).code if profession else None
    employment = "convenzionato" if category.cluster == 1 else rng.choice(
        ("dipendente",) * 8 + ("convenzionato", "libero professionista"))
    if category.code == "S":
        employment = "privo di occupazione"
    surname, name = rng.choice(SURNAMES), rng.choice(FIRST_NAMES)
    return SimLearner(
        number=number, codice_fiscale=_codice_fiscale(number, rng), surname=surname, name=name,
        email=f"{name.lower().replace('ò', 'o')}.{surname.lower()}.{number}@sim.fad.example.it", trust=trust,
        category=category.code, cluster=category.cluster, profession=profession.code if profession else None,
        discipline=discipline, employment=employment,
        moodle_id=str(20000 + number) if moodle_site else None,
        moodle_username=f"op{number:06d}" if moodle_site else None)


def make_roster(count: int, seed: int, reference: Reference, moodle_site: MoodleSite | None,
                first: int = 0) -> list[SimLearner]:
    return [make_learner(n, seed, reference, moodle_site) for n in range(first, first + count)]


def roster_csv(learners: Iterable[SimLearner]) -> bytes:
    """The roster as an HR office exports it: ``;``-separated UTF-8 with the Italian headers."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["codice_fiscale", "cognome", "nome", "email", "azienda", "categoria", "professione",
                     "disciplina", "rapporto", "moodle_id", "moodle_username"])
    for learner in learners:
        writer.writerow([learner.codice_fiscale, learner.surname, learner.name, learner.email, learner.trust,
                         learner.category, learner.profession or "", learner.discipline or "", learner.employment,
                         learner.moodle_id or "", learner.moodle_username or ""])
    return out.getvalue().encode("utf-8")


# --- journeys -------------------------------------------------------------------------------------

@dataclass(eq=False)
class SimStatement:
    """A statement to send; ``ids`` are those the LRS gave it (Moodle sends none: one per delivery)."""

    body: dict
    learner: int
    shape: str  # "moodle" or "content"
    part: str  # enrolment, assessment, module, final-test, questionnaire, course, void
    ids: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Event:
    """Something the learner did that the rules count; ``statements`` are those that tell it (all
    of them must be voided to undo it)."""

    kind: str  # enrolled, assessment_started, assessment_completed, module_launched, module_completed,
    #            attempt, questionnaire
    at: datetime
    module: str | None = None
    percent: float | None = None
    statements: list[SimStatement] = field(default_factory=list)
    voided: bool = False


@dataclass(eq=False)
class Journey:
    learner: SimLearner
    plan: str
    events: list[Event] = field(default_factory=list)
    statements: list[SimStatement] = field(default_factory=list)
    levels: dict[str, str] | None = None


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Builder:
    """Makes one learner's statements in the two shapes, in time order."""

    def __init__(self, journey: Journey, rng: random.Random, course: Course, site: MoodleSite | None,
                 moodle_paths: dict[str, str]):
        self.journey = journey
        self.rng = rng
        self.course = course
        self.site = site
        self.paths = moodle_paths
        learner = journey.learner
        day = rng.randint(0, 240)
        self.clock = EPOCH + timedelta(days=day, hours=rng.randint(0, 10), minutes=rng.randint(0, 59),
                                       seconds=rng.randint(0, 59))
        if site:
            self.moodle_actor = {"name": learner.full_name, "account": {"homePage": site.wwwroot,
                                                                        "name": learner.moodle_id}}
            # The content names the learner as Moodle passes it: by user id, username or email.
            self.content_actor = rng.choice([
                {"objectType": "Agent", "name": learner.full_name,
                 "account": {"homePage": site.wwwroot, "name": learner.moodle_id}},
                {"objectType": "Agent", "account": {"homePage": site.wwwroot, "name": learner.moodle_username}},
                {"objectType": "Agent", "name": learner.full_name, "mbox": f"mailto:{learner.email}"}])
        else:
            self.moodle_actor = None
            self.content_actor = {"objectType": "Agent", "name": learner.full_name, "mbox": f"mailto:{learner.email}"}
        self.session = self._uuid()

    # time and ids
    def tick(self, low: int = 20, high: int = 120) -> datetime:
        self.clock += timedelta(seconds=self.rng.randint(low, high), milliseconds=self.rng.randint(1, 999))
        return self.clock

    def later(self, days_low: int = 0, days_high: int = 6) -> None:
        """A new Moodle session, another day."""
        self.clock += timedelta(days=self.rng.randint(days_low, days_high), hours=self.rng.randint(1, 9))
        self.session = self._uuid()

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def moodle_url(self, key: str) -> str | None:
        path = self.paths.get(key)
        return f"{self.site.wwwroot}/{path}" if path and self.site else None

    def _add(self, body: dict, shape: str, part: str) -> SimStatement:
        statement = SimStatement(body, self.journey.learner.number, shape, part)
        self.journey.statements.append(statement)
        return statement

    def event(self, kind: str, statements: list[SimStatement], module: str | None = None,
              percent: float | None = None) -> Event:
        at = datetime.fromisoformat(statements[-1].body["timestamp"].replace("Z", "+00:00")) if statements \
            else self.clock
        made = Event(kind, at, module, percent, statements)
        self.journey.events.append(made)
        return made

    # the content's shape (docs/xapi-profile.md)
    def content(self, verb: str, key: str, registration: str, result: dict | None = None,
                extensions: dict | None = None, parent: str | None = None, part: str = "module",
                verb_id: str | None = None) -> SimStatement:
        element = self.course.element(key)
        body = {
            "id": self._uuid(), "actor": self.content_actor,
            "verb": {"id": verb_id or ADL + verb, "display": {"it-IT": verb}},
            "object": {"objectType": "Activity", "id": self.course.iri_of(key),
                       "definition": {"name": {"it-IT": element.title[:120]}, "type": element.type}},
            "context": {"registration": registration, "platform": "FSE 2.0 FAD (contenuto)", "language": "it-IT",
                        "contextActivities": {"grouping": [{"id": self.course.iri}],
                                              **({"parent": [{"id": self.course.iri_of(parent)}]} if parent else {})}},
            "timestamp": _timestamp(self.tick()),
        }
        if extensions:
            body["context"]["extensions"] = extensions
        if result is not None:
            body["result"] = result
        return self._add(body, "content", part)

    # Moodle's logstore_xapi shape
    def moodle(self, verb_id: str, display: str, object_id: str, object_type: str, name: str, event_name: str,
               parents: list[tuple[str, str, str]] = (), result: dict | None = None, part: str = "module",
               extensions: dict | None = None) -> SimStatement:
        site = self.site
        context = {
            "platform": "Moodle", "language": "it", "registration": self.session,
            "contextActivities": {"category": [{"id": site.wwwroot, "objectType": "Activity", "definition": {
                "name": {"it": "FAD Formas"}, "type": "http://id.tincanapi.com/activitytype/lms"}}]},
            "extensions": {MOODLE_INFO: {"event_name": event_name, "event_function": "\\src\\transformer\\events"
                                         + event_name.replace("\\event", ""), "http://moodle.org": "4.1.9",
                                         "https://github.com/xAPI-vle/moodle-logstore_xapi": "5.0.1"},
                           **(extensions or {})},
        }
        if parents:
            context["contextActivities"]["parent"] = [
                {"id": pid, "objectType": "Activity", "definition": {"name": {"it": pname}, "type": ptype}}
                for pid, ptype, pname in parents]
        body = {"actor": self.moodle_actor, "verb": {"id": verb_id, "display": {"en": display}},
                "object": {"id": object_id, "objectType": "Activity",
                           "definition": {"name": {"it": name}, "type": object_type}},
                "context": context, "timestamp": _timestamp(self.tick())}
        if result is not None:
            body["result"] = result
        return self._add(body, "moodle", part)

    def course_parent(self) -> list[tuple[str, str, str]]:
        return [(f"{self.site.wwwroot}/course/section.php?id=77", "http://id.tincanapi.com/activitytype/section",
                 "Sezione 1"), (self.moodle_url("course"), COURSE_TYPE, self.course.title)]


def _moodle_score(raw: float, high: float) -> dict:
    """logstore_xapi's score: raw, min, max and ``scaled`` on -1..1 (get_scaled_score.php)."""
    return {"raw": raw, "min": 0, "max": high, "scaled": round((raw / high) * 2 - 1, 4)}


def _module_levels(course: Course, catalogue: Catalogue, right: dict[str, int], per_objective: dict[str, int],
                   cluster: int) -> dict[str, str]:
    scores = {o: round(100.0 * right[o] / per_objective[o], 2) for o in course.objectives}
    return catalogue.rules.module_levels(course, scores, cluster)


def _enrol(b: _Builder) -> None:
    if b.site and b.moodle_url("course"):
        made = b.moodle(ENROLLED, "Enrolled", b.moodle_url("course"), COURSE_TYPE, b.course.title,
                        "\\core\\event\\user_enrolment_created", part="enrolment",
                        extensions={"https://xapi.edlm/profiles/edlm-lms/concepts/context-extensions/"
                                    "enrolment-type": "manual"})
    else:
        made = b.content("registered", "course", b.session, part="enrolment")
    b.event("enrolled", [made])


def _assessment(b: _Builder, catalogue: Catalogue, complete: bool) -> None:
    """The content's initial assessment: initialized, one ``answered`` per question, completed."""
    course, rng = b.course, b.rng
    code = course.assessment["code"]
    questions = course.assessment["questions"]
    registration = b._uuid()
    b.later(0, 3)
    skill = rng.random()
    per_objective = Counter(q["objective"] for q in questions)
    right: Counter = Counter()
    started = b.content("initialized", code, registration, part="assessment")
    b.event("assessment_started", [started])
    answered = questions if complete else questions[:rng.randint(0, len(questions) - 1)]
    for question in answered:
        success = rng.random() < 0.25 + 0.7 * skill
        right[question["objective"]] += success
        wrong = [i for i in range(len(question["options"])) if i != question["correct"]]
        response = question["correct"] if success else rng.choice(wrong)
        b.content("answered", f"{code}/{question['id']}", registration, part="assessment", parent=code,
                  result={"success": success, "response": str(response), "completion": True})
    if not complete:
        b.content("terminated", code, registration, part="assessment", result={"duration": "PT4M"})
        return
    total = sum(right.values())
    done = b.content("completed", code, registration, part="assessment",
                     result={"completion": True, "score": {"raw": total, "min": 0, "max": len(questions),
                                                           "scaled": round(total / len(questions), 4)},
                             "duration": f"PT{rng.randint(8, 20)}M"})
    b.event("assessment_completed", [done])
    b.journey.levels = _module_levels(course, catalogue, right, per_objective, b.journey.learner.cluster)


def _module(b: _Builder, module: dict, level: str, complete: bool, pages: int, moodle: bool) -> None:
    code = module["code"]
    key = f"{code}/{level}"
    rng = b.rng
    b.later(0, 4)
    url = b.moodle_url(key) or b.moodle_url(code)
    if moodle and url:
        name = f"{module['title']} ({level})"
        scorm_type = "http://adlnet.gov/expapi/activities/module"
        sco = "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/scorm-content-object"
        launched = b.moodle(ADL + "launched", "Launched", url + "#sco", sco, name, "\\mod_scorm\\event\\sco_launched",
                            parents=[(url, scorm_type, name)] + b.course_parent())
        b.event("module_launched", [launched], module=code)
        if not complete:
            return
        b.tick(600, 1700)
        told = [b.moodle(ADL + "completed", "Completed", url + "#sco", sco, name,
                         "\\mod_scorm\\event\\scoreraw_submitted", parents=[(url, scorm_type, name)] + b.course_parent(),
                         result={"score": _moodle_score(100, 100)}),
                b.moodle(ADL + "completed", "Completed", url + "#sco", sco, name,
                         "\\mod_scorm\\event\\status_submitted", parents=[(url, scorm_type, name)] + b.course_parent()),
                b.moodle(ADL + "completed", "Completed", url, scorm_type, name,
                         "\\core\\event\\course_module_completion_updated", parents=b.course_parent(),
                         result={"completion": True, "success": True})]
        b.event("module_completed", told, module=code)
        return
    registration = b._uuid()
    level_extension = {"https://formas.toscana.it/xapi/fse20/extensions/level": level}
    started = b.content("initialized", key, registration, parent=code, extensions=level_extension)
    b.event("module_launched", [started], module=code)
    steps = pages if complete else rng.randint(0, pages)
    for step in range(1, steps + 1):
        b.tick(90, 240)
        b.content("progressed", key, registration, parent=code, extensions=level_extension,
                  result={"extensions": {CMI5_PROGRESS: round(100 * step / (pages + 1))}})
    minutes = rng.randint(18, 40)
    if complete:
        done = b.content("completed", key, registration, parent=code, extensions=level_extension,
                         result={"completion": True, "duration": f"PT{minutes}M{rng.randint(0, 59)}S"})
        b.event("module_completed", [done], module=code)
    b.content("terminated" if complete else "suspended", key, registration, parent=code, extensions=level_extension,
              result={"duration": f"PT{minutes}M{rng.randint(0, 59)}S"})


def _attempt(b: _Builder, number: int, passes: bool, moodle: bool) -> None:
    course, rng = b.course, b.rng
    final = course.data["final_test"]
    questions = final["questions"]
    count = len(questions)
    needed = -(-int(final["pass_percent"]) * count // 100)  # the fewest right answers that pass
    right = rng.randint(needed, count) if passes else rng.randint(count // 4, needed - 1)
    correct = set(rng.sample(range(count), right))
    b.later(0, 5 if passes else 2)
    percent = round(100.0 * right / count, 4)
    url = b.moodle_url(final["code"])
    if moodle and url:
        cmid = url.rsplit("=", 1)[1]
        attempt_url = f"{b.site.wwwroot}/mod/quiz/attempt.php?attempt={b.journey.learner.number * 10 + number}&cmid={cmid}"
        quiz = (url, "http://adlnet.gov/expapi/activities/assessment", final["title"])
        attempt_parent = (attempt_url, "http://adlnet.gov/expapi/activities/attempt", f"{final['title']} Tentativo {number}")
        for index, question in enumerate(questions):
            b.moodle(ADL + "answered", "Answered", f"{b.site.wwwroot}/question/question.php?cmid={cmid}&id={9000 + index}",
                     "http://adlnet.gov/expapi/activities/cmi.interaction", question["id"],
                     "\\mod_quiz\\event\\attempt_submitted", parents=[attempt_parent, quiz] + b.course_parent(),
                     result={"success": index in correct, "completion": True, "response": str(index in correct).lower()},
                     part="final-test")
        told = b.moodle(ADL + "completed", "Completed", attempt_url, "http://adlnet.gov/expapi/activities/attempt",
                        attempt_parent[2], "\\mod_quiz\\event\\attempt_submitted",
                        parents=[quiz] + b.course_parent(), part="final-test",
                        result={"score": _moodle_score(right, count), "completion": True, "success": passes,
                                "duration": f"PT{rng.randint(5, 25)}M"})
        b.event("attempt", [told], percent=percent)
        return
    registration = b._uuid()
    marker = {ATTEMPT_EXTENSION: number}
    code = final["code"]
    b.content("initialized", code, registration, part="final-test", extensions=marker)
    for index, question in enumerate(questions):
        b.content("answered", f"{code}/{question['id']}", registration, parent=code, part="final-test",
                  extensions=marker, result={"success": index in correct, "response": str(question["correct"]
                                                                                          if index in correct else 0)})
    score = {"score": {"raw": right, "min": 0, "max": count, "scaled": round(right / count, 4)}, "completion": True}
    told = [b.content("completed", code, registration, part="final-test", extensions=marker, result=score),
            b.content("passed" if passes else "failed", code, registration, part="final-test", extensions=marker,
                      result={**score, "success": passes})]
    b.event("attempt", told, percent=percent)


def _questionnaire(b: _Builder, moodle: bool) -> None:
    questionnaire = b.course.data["questionnaire"]
    code = questionnaire["code"]
    b.later(0, 2)
    url = b.moodle_url(code)
    if moodle and url:
        told = b.moodle(ADL + "completed", "Completed", url, "http://id.tincanapi.com/activitytype/survey",
                        questionnaire["title"], "\\mod_feedback\\event\\response_submitted", parents=b.course_parent(),
                        part="questionnaire", result={"completion": True})
        b.event("questionnaire", [told])
        return
    registration = b._uuid()
    for item in questionnaire["items"]:
        b.content("answered", f"{code}/{item['id']}", registration, parent=code, part="questionnaire",
                  result={"response": str(b.rng.randint(2, 5))})
    told = b.content("submitted", code, registration, part="questionnaire", verb_id=SUBMITTED,
                     result={"completion": True})
    b.event("questionnaire", [told])


def make_journey(learner: SimLearner, seed: int, catalogue: Catalogue, site: MoodleSite | None,
                 moodle_paths: dict[str, str], pages: int = 3) -> Journey:
    """One learner's journey through the FAD course, and the statements that tell it."""
    rng = random.Random(f"fse-fad-simulator:{seed}:journey:{learner.number}")
    course = catalogue.fad_course
    plan = rng.choices([p for p, _w in PLANS], weights=[w for _p, w in PLANS])[0]
    journey = Journey(learner, plan)
    if plan == "absent":
        return journey
    b = _Builder(journey, rng, course, site, moodle_paths)
    moodle_share = 0.5 if site else 0.0
    _enrol(b)
    if plan == "enrolled":
        return journey
    _assessment(b, catalogue, complete=plan != "assessment_dropped")
    if plan in ("assessment_dropped", "assessed"):
        return journey
    modules = sorted(course.modules, key=lambda m: m["number"])
    done = rng.randint(0, len(modules) - 1) if plan == "modules_dropped" else len(modules)
    for index, module in enumerate(modules[:done + (plan == "modules_dropped" and rng.random() < 0.7)]):
        _module(b, module, journey.levels[module["code"]], complete=index < done, pages=pages,
                moodle=rng.random() < moodle_share)
    if plan in ("modules_dropped", "modules_done"):
        return journey
    max_attempts = int(course.data["final_test"]["max_attempts"])
    failures = {"test_failed": rng.randint(1, max_attempts - 1), "attempts_exhausted": max_attempts}.get(
        plan, rng.choices(range(max_attempts), weights=(60, 20, 10, 6, 4)[:max_attempts])[0])
    # One learner in six fills the questionnaire before the test (ECM asks both, in any order).
    questionnaire_first = plan == "completed" and rng.random() < 1 / 6
    if questionnaire_first:
        _questionnaire(b, rng.random() < moodle_share)
    quiz_on_moodle = rng.random() < moodle_share
    for number in range(1, failures + 1):
        _attempt(b, number, False, quiz_on_moodle)
    # A few who exhausted their attempts pass a sixth (a quiz without a limit): it must not count.
    late_pass = plan == "attempts_exhausted" and rng.random() < 0.2
    if plan in ("completed", "passed_no_questionnaire") or late_pass:
        _attempt(b, failures + 1, True, quiz_on_moodle)
    if (plan == "completed" and not questionnaire_first) or late_pass:
        _questionnaire(b, rng.random() < moodle_share)
    if plan == "completed" and b.site and b.moodle_url("course"):
        b.later(0, 0)
        b.moodle(ADL + "completed", "Completed", b.moodle_url("course"), COURSE_TYPE, course.title,
                 "\\core\\event\\course_completed", part="course")
    return journey


# --- what the server should report ----------------------------------------------------------------

def outcome(journey: Journey, course: Course) -> tuple[bool, str]:
    """(initial assessment completed, status) by the rules of docs/xapi-profile.md, from the events
    that were not voided: computed here, independently of ``courses.progress``."""
    live = [e for e in journey.events if not e.voided]
    kinds = {e.kind for e in live}
    final = course.data["final_test"]
    max_attempts, pass_percent = int(final["max_attempts"]), float(final["pass_percent"])
    attempts = sorted((e for e in live if e.kind == "attempt"), key=lambda e: e.at)
    first = attempts[:max_attempts]
    passed = any(a.percent >= pass_percent for a in first)
    modules_done = {e.module for e in live if e.kind == "module_completed"}
    assessed = "assessment_completed" in kinds
    if passed and "questionnaire" in kinds and len(modules_done) == len(course.modules):
        return assessed, "completed"
    if len(first) >= max_attempts and not passed:
        return assessed, "attempts_exhausted"
    if attempts and not any(a.percent >= pass_percent for a in attempts):
        return assessed, "test_failed"
    if "module_launched" in kinds or attempts or "questionnaire" in kinds:
        return assessed, "in_progress"
    if assessed:
        return assessed, "assessed"
    return assessed, "in_progress" if "assessment_started" in kinds else "not_started"


def _rate(completed: int, learners: int) -> float:
    return round(completed / learners, 4) if learners else 0.0


def expected_report(journeys: Iterable[Journey], catalogue: Catalogue) -> dict:
    """The completions report by trust, in the shape of ``GET /api/v1/reports/completions?group_by=trust``."""
    course = catalogue.fad_course
    rows: dict[str, Counter] = {}
    for journey in journeys:
        assessed, status = outcome(journey, course)
        counts = rows.setdefault(journey.learner.trust, Counter())
        counts["learners"] += 1
        counts["assessed"] += assessed
        counts["in_progress"] += status in ("in_progress", "test_failed", "attempts_exhausted")
        counts["completed"] += status == "completed"
    names = ("learners", "assessed", "in_progress", "completed")
    totals = Counter()
    out = []
    for key in sorted(rows):
        counts = rows[key]
        totals.update(counts)
        out.append({"key": key, "label": catalogue.reference.trusts[key].name, **{n: counts[n] for n in names},
                    "completion_rate": _rate(counts["completed"], counts["learners"])})
    return {"group_by": "trust", "course": course.code, "from": None, "to": None, "rows": out,
            "totals": {**{n: totals[n] for n in names}, "completion_rate": _rate(totals["completed"],
                                                                                 totals["learners"])}}


def statuses(journeys: Iterable[Journey], catalogue: Catalogue) -> Counter:
    return Counter(outcome(j, catalogue.fad_course)[1] for j in journeys)


# --- a whole simulation ---------------------------------------------------------------------------

def moodle_paths(site: MoodleSite | None, course_code: str) -> dict[str, str]:
    """Element key -> the Moodle path that stands for it on ``site``."""
    if site is None:
        return {}
    return {key: path for path, (code, key) in sorted(site.paths.items()) if code == course_code}


@dataclass
class Simulation:
    seed: int
    catalogue: Catalogue
    site: MoodleSite | None
    journeys: list[Journey]

    @property
    def learners(self) -> list[SimLearner]:
        return [j.learner for j in self.journeys]

    @property
    def statements(self) -> list[SimStatement]:
        return [s for j in self.journeys for s in j.statements]

    def expected_report(self) -> dict:
        return expected_report(self.journeys, self.catalogue)

    def roster_csv(self) -> bytes:
        return roster_csv(self.learners)

    def choose_voids(self, count: int) -> list[Event]:
        """Mark ``count`` events of completed learners as voided, alternately a passed final-test
        attempt and a module completion: the learners are no longer completed."""
        course = self.catalogue.fad_course
        rng = random.Random(f"fse-fad-simulator:{self.seed}:voids")
        candidates = [j for j in self.journeys if outcome(j, course)[1] == "completed"]
        chosen = []
        for index, journey in enumerate(rng.sample(candidates, min(count, len(candidates)))):
            if index % 2 == 0:
                events = [e for e in journey.events if e.kind == "attempt" and e.percent >= 75 and not e.voided]
            else:
                events = [rng.choice([e for e in journey.events if e.kind == "module_completed" and not e.voided])]
            for event in events:
                event.voided = True
                chosen.append(event)
        return chosen


def simulate(learners: int, seed: int = 1, catalogue: Catalogue | None = None, moodle: MoodleMapping | None = None,
             pages: int = 3, first: int = 0) -> Simulation:
    """The roster of ``learners`` learners (numbers ``first`` ...) and their journeys."""
    catalogue = catalogue or default_catalogue()
    site = moodle.default_site if moodle else None
    paths = moodle_paths(site, catalogue.fad_course.code)
    journeys = [make_journey(learner, seed, catalogue, site, paths, pages)
                for learner in make_roster(learners, seed, catalogue.reference, site, first)]
    return Simulation(seed, catalogue, site, journeys)


def delivery(statements: list[SimStatement], seed: int, batch_size: int = BATCH, shuffle: bool = False,
             duplicates: bool = False) -> list[list[SimStatement]]:
    """Batches in the order they are sent. Like Moodle's log: in time order across learners;
    ``shuffle`` sends statements in any order (late and out-of-order delivery); ``duplicates``
    sends one batch in eight a second time, later (Moodle's failed log replayed)."""
    rng = random.Random(f"fse-fad-simulator:{seed}:delivery")
    ordered = sorted(statements, key=lambda s: (s.body["timestamp"], s.learner))
    if shuffle:
        rng.shuffle(ordered)
    batches = [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]
    if duplicates:
        for index in sorted(rng.sample(range(len(batches)), len(batches) // 8), reverse=True):
            batches.insert(rng.randint(index + 1, len(batches)), list(batches[index]))
    return batches


def voiding_statements(events: list[Event], actor: dict) -> list[SimStatement]:
    """One voiding statement for every stored copy of every statement of the events."""
    out = []
    for event in events:
        for statement in event.statements:
            for statement_id in dict.fromkeys(statement.ids):
                out.append(SimStatement({"actor": actor, "verb": {"id": VOIDED, "display": {"en": "voided"}},
                                         "object": {"objectType": "StatementRef", "id": statement_id}},
                                        statement.learner, "content", "void"))
    return out


# --- talking to the server ------------------------------------------------------------------------

class SimulatorError(RuntimeError):
    pass


def _basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def api_request(url: str, key: str, secret: str, method: str = "GET", body: bytes | None = None,
                content_type: str | None = None, timeout: float = 300) -> dict:
    request = urllib.request.Request(url, data=body, method=method, headers={"Authorization": _basic(key, secret)})
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise SimulatorError(f"{method} {url}: HTTP {exc.code} {exc.read()[:2000].decode(errors='replace')}") from None


def import_roster_http(base_url: str, key: str, secret: str, roster: bytes, moodle_site: str | None) -> dict:
    """``POST /api/v1/learners/import`` with the roster as ``multipart/form-data``."""
    boundary = "fse-fad-simulator-" + uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"roster.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + roster + f"\r\n--{boundary}--\r\n".encode()
    query = "?" + urllib.parse.urlencode({"moodle_site": moodle_site}) if moodle_site else ""
    return api_request(f"{base_url.rstrip('/')}/api/v1/learners/import{query}", key, secret, "POST", body,
                       f"multipart/form-data; boundary={boundary}")


def _save(lrs, batch: list[SimStatement]) -> None:
    from tincan import Statement

    # tincan changes the dicts it is given: it gets copies.
    response = lrs.save_statements([Statement(json.loads(json.dumps(s.body))) for s in batch])
    if not response.success:
        raise SimulatorError(f"POST statements: HTTP {response.response.status} {str(response.data)[:2000]}")
    for statement, saved in zip(batch, response.content):
        statement.ids.append(str(saved.id))


def send_batches(base_url: str, key: str, secret: str, batches: list[list[SimStatement]], clients: int = 1,
                 progress: Callable[[int], None] | None = None) -> None:
    """POST the batches with tincan's RemoteLRS, ``clients`` at once."""
    from tincan import RemoteLRS

    def lrs():
        return RemoteLRS(endpoint=f"{base_url.rstrip('/')}/xapi/", version="1.0.3", username=key, password=secret)

    if clients <= 1:
        client = lrs()
        for index, batch in enumerate(batches, start=1):
            _save(client, batch)
            if progress:
                progress(index)
        return
    client = lrs()  # it opens a connection per request: threads may share it
    with ThreadPoolExecutor(clients) as pool:
        for index, _done in enumerate(pool.map(lambda batch: _save(client, batch), batches), start=1):
            if progress:
                progress(index)


@dataclass
class RunReport:
    learners: int
    imported: dict
    statements: int
    sent: int
    batches: int
    duplicated_batches: int
    voided: int
    by_part: dict[str, int]
    by_shape: dict[str, int]
    statuses: dict[str, int]
    seconds: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def run(simulation: Simulation, base_url: str, key: str, secret: str, *, shuffle: bool = False,
        duplicates: bool = False, void: int = 0, clients: int = 1, batch_size: int = BATCH,
        import_roster: bool = True, progress: Callable[[int, int], None] | None = None) -> RunReport:
    """Import the roster, send every statement, then void ``void`` completions and test passes.
    The simulation's expected report accounts for the voids afterwards."""
    started = time.monotonic()
    imported = {}
    if import_roster:
        imported = import_roster_http(base_url, key, secret, simulation.roster_csv(),
                                      simulation.site.wwwroot if simulation.site else None)
    statements = simulation.statements
    batches = delivery(statements, simulation.seed, batch_size, shuffle, duplicates)
    unique_batches = -(-len(statements) // batch_size)
    send_batches(base_url, key, secret, batches, clients,
                 (lambda done: progress(done, len(batches))) if progress else None)
    voided = simulation.choose_voids(void) if void else []
    voids = voiding_statements(voided, {"objectType": "Agent", "name": "Amministratore FAD",
                                        "mbox": "mailto:amministratore.fad@sim.fad.example.it"})
    void_batches = [voids[i:i + batch_size] for i in range(0, len(voids), batch_size)]
    send_batches(base_url, key, secret, void_batches, clients)
    sent = sum(len(b) for b in batches) + len(voids)
    return RunReport(
        learners=len(simulation.journeys), imported=imported, statements=len(statements), sent=sent,
        batches=len(batches) + len(void_batches), duplicated_batches=len(batches) - unique_batches,
        voided=len(voids), by_part=dict(sorted(Counter(s.part for s in statements).items())),
        by_shape=dict(sorted(Counter(s.shape for s in statements).items())),
        statuses=dict(sorted(statuses(simulation.journeys, simulation.catalogue).items())),
        seconds=round(time.monotonic() - started, 2))


def iter_statement_bodies(journeys: Iterable[Journey]) -> Iterator[dict]:
    for journey in journeys:
        for statement in journey.statements:
            yield statement.body
