"""Realistic xAPI traffic for the LRS benchmarks: what the region's Moodle and SCORM content send.

Two families of statements, mixed as a day of the FAD course produces them:

* Moodle logstore_xapi shapes (``course_completed``, ``course_module_completion_updated``,
  ``quiz attempt_submitted`` with its ``answered`` statements, ``scoreraw_submitted``,
  ``status_submitted``, ``user_enrolment_created``, ``course_module_viewed``, ``sco_launched``),
  with what the plugin's test harness merges into every statement: ``context.platform`` "Moodle",
  ``context.registration`` (UUIDv5 of the Moodle session key) and ``timestamp``; no ``id``;
  ``contextActivities`` ``parent``/``category`` with definitions; ``result.score`` with
  raw/min/max/scaled (scaled computed as the plugin does: ((raw-min)/(max-min))*2-1).
* SCORM-content shapes, sent by the package's own xAPI wrapper during a launch: verbs
  initialized, progressed, answered, completed, passed/failed, terminated (and suspended/resumed),
  with ``contextActivities`` ``parent`` (the Moodle SCORM module), ``grouping`` (the course) and
  ``category`` (the SCORM profile), each with its definition.

Learners are Moodle accounts ``{"homePage": SITE, "name": <user id>}``. Activities are a fixed
set of about 200 IRIs (site, course editions, sections, SCORM modules and SCOs, self-check
interactions, quizzes and their questions); Moodle quiz attempts add one IRI per attempt, as
the plugin does. Everything is drawn from a seeded ``random.Random``: the same seed gives the
same statements.
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

SITE = "https://fad.formazione-fse.example.org"
CONTENT = "https://scorm.formazione-fse.example.org/fad-fse"
SCORM_PROFILE = "https://w3id.org/xapi/scorm"
MOODLE_NS = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # uuid.NAMESPACE_URL

LEARNERS = 60_000
FIRST_USER_ID = 1_000
COURSE_EDITIONS = 3
MODULES = [f"m{n:02d}" for n in range(1, 9)]
LEVELS = ("base", "intermedio", "avanzato")
SELF_CHECKS_PER_SCO = 2
QUIZ_QUESTIONS = (10, 5)  # final test, initial assessment

ADL = "http://adlnet.gov/expapi/verbs/"
VERB_IDS = {
    "initialized": ADL + "initialized",
    "progressed": ADL + "progressed",
    "answered": ADL + "answered",
    "completed": ADL + "completed",
    "passed": ADL + "passed",
    "failed": ADL + "failed",
    "terminated": ADL + "terminated",
    "suspended": ADL + "suspended",
    "resumed": ADL + "resumed",
    "attempted": ADL + "attempted",
    "experienced": ADL + "experienced",
    "launched": ADL + "launched",
    "scored": ADL + "scored",
    "interacted": ADL + "interacted",
    "registered": ADL + "registered",
    "commented": ADL + "commented",
    "viewed": "http://id.tincanapi.com/verb/viewed",
    "enrolled": "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/enrolled",
    "unenrolled": "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/unenrolled",
    "submitted": "http://activitystrea.ms/schema/1.0/submit",
}
VERBS = {name: {"id": iri, "display": {"en": name.capitalize()}} for name, iri in VERB_IDS.items()}

PLUGIN = "https://github.com/xAPI-vle/moodle-logstore_xapi"
T_COURSE = "https://w3id.org/xapi/cmi5/activitytype/course"
T_LMS = "http://id.tincanapi.com/activitytype/lms"
T_SECTION = "http://id.tincanapi.com/activitytype/section"
T_MODULE = "http://adlnet.gov/expapi/activities/module"
T_SCO = "https://xapi.edlm/profiles/edlm-lms/concepts/activity-types/scorm-content-object"
T_ASSESSMENT = "http://adlnet.gov/expapi/activities/assessment"
T_ATTEMPT = "http://adlnet.gov/expapi/activities/attempt"
T_INTERACTION = "http://adlnet.gov/expapi/activities/cmi.interaction"
T_PROFILE = "http://adlnet.gov/expapi/activities/profile"
PROGRESS_EXT = "https://w3id.org/xapi/cmi5/result/extensions/progress"


def _activity(iri: str, name: str, type_: str, **definition) -> dict:
    return {"id": iri, "definition": {"name": {"it": name}, "type": type_, **definition}, "objectType": "Activity"}


def _info(event: str, function: str) -> dict:
    return {"http://lrs.learninglocker.net/define/extensions/info": {
        "event_function": function, "event_name": event,
        "http://moodle.org": "4.5.3", PLUGIN: "5.0.1"}}


class Catalogue:
    """The fixed activities of the benchmark: about 200 IRIs."""

    def __init__(self) -> None:
        self.site = _activity(SITE, "FAD Formazione FSE 2.0 – Regione Toscana", T_LMS)
        self.profile = _activity(SCORM_PROFILE, "SCORM profile", T_PROFILE)
        # SCORM content is the same package in every course edition: its IRIs are the package's.
        self.scos: dict[tuple[str, str], dict] = {}
        self.self_checks: dict[tuple[str, str], list[dict]] = {}
        for module in MODULES:
            for level in LEVELS:
                sco = _activity(f"{CONTENT}/{module}/{level}", f"Modulo {module[1:]} – livello {level}", T_SCO)
                self.scos[module, level] = sco
                self.self_checks[module, level] = [
                    _activity(f"{CONTENT}/{module}/{level}/q{q}", f"Autoverifica {q}", T_INTERACTION,
                              description={"it": f"Domanda di autoverifica {q} del modulo {module}"},
                              interactionType="choice", correctResponsesPattern=["b"],
                              choices=[{"id": c, "description": {"it": f"Risposta {c}"}} for c in "abc"])
                    for q in range(1, SELF_CHECKS_PER_SCO + 1)]
        self.editions = [self._edition(e) for e in range(COURSE_EDITIONS)]
        self.all_activities = [self.site, self.profile, *self.scos.values(),
                               *(a for qs in self.self_checks.values() for a in qs)]
        for edition in self.editions:
            self.all_activities += [edition["course"], *edition["sections"], *edition["modules"].values(),
                                    *edition["module_scos"].values(), *edition["quizzes"],
                                    *(q for qs in edition["questions"] for q in qs)]

    def _edition(self, e: int) -> dict:
        course_id = 10 + e
        base = 100 * (e + 1)
        course = _activity(f"{SITE}/course/view.php?id={course_id}",
                           f"FSE 2.0 – formazione generale (edizione {e + 1})", T_COURSE)
        sections = [_activity(f"{SITE}/course/section.php?id={base + s}", f"Obiettivo {s + 1}", T_SECTION)
                    for s in range(4)]
        modules = {}
        module_scos = {}
        for i, module in enumerate(MODULES):
            cmid = base + 10 + i
            modules[module] = _activity(f"{SITE}/mod/scorm/view.php?id={cmid}", f"Modulo {module[1:]}", T_MODULE)
            module_scos[module] = _activity(f"{SITE}/mod/scorm/view.php?id={cmid}#sco",
                                            f"Modulo {module[1:]} Content", T_SCO)
        quizzes = [_activity(f"{SITE}/mod/quiz/view.php?id={base + 50 + q}", title, T_ASSESSMENT)
                   for q, title in enumerate(("Test finale ECM", "Valutazione iniziale"))]
        questions = [[_activity(f"{SITE}/question/question.php?cmid={base + 50 + q}&id={base * 10 + q * 100 + n}",
                                f"Domanda {n + 1}", T_INTERACTION,
                                description={"it": f"Domanda {n + 1}"}, interactionType="true-false",
                                correctResponsesPattern=["true"])
                      for n in range(count)] for q, count in enumerate(QUIZ_QUESTIONS)]
        return {"number": e, "course": course, "sections": sections, "modules": modules,
                "module_scos": module_scos, "quizzes": quizzes, "questions": questions,
                "quiz_cmids": [base + 50, base + 51]}


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _duration(seconds: int) -> str:
    return f"PT{seconds // 60}M{seconds % 60}S" if seconds >= 60 else f"PT{seconds}S"


def moodle_scaled(raw: float, lo: float = 0, hi: float = 100) -> float:
    """logstore_xapi's get_scaled_score: ((raw-min)/(max-min))*2-1."""
    return ((raw - lo) / (hi - lo)) * 2 - 1


class TrafficGenerator:
    """Learner sessions, each a run of statements sharing one registration.

    ``statements()`` yields statement dicts (no ``id``) forever; ``describe`` tells what GET
    filters find a statement again."""

    def __init__(self, seed: int = 1, start: datetime | None = None, span_days: float = 120.0) -> None:
        self.rng = random.Random(seed)
        self.catalogue = Catalogue()
        self.start = start or datetime(2026, 1, 12, 8, 0, tzinfo=timezone.utc)
        self.span = timedelta(days=span_days)
        self.attempt_seq = seed * 10_000_000
        self._actors: dict[int, dict] = {}
        self._teacher = {"account": {"homePage": SITE, "name": "2"}, "name": "Tutor FAD"}

    # -- pieces ---------------------------------------------------------------------------------

    def actor(self, uid: int) -> dict:
        actor = self._actors.get(uid)
        if actor is None:
            actor = {"account": {"homePage": SITE, "name": str(uid)}, "name": f"Discente {uid}",
                     "objectType": "Agent"}
            self._actors[uid] = actor
        return actor

    def _moodle(self, actor, verb, obj, registration, when, parents, event, extra_ext=None, **rest) -> dict:
        ext = _info(event, "\\src\\transformer\\events\\" + event.strip("\\").replace("\\event\\", "\\"))
        if extra_ext:
            ext.update(extra_ext)
        activities = {"category": [self.catalogue.site]}
        if parents:
            activities["parent"] = parents
        statement = {"actor": actor, "verb": VERBS[verb], "object": obj,
                     "context": {"contextActivities": activities, "extensions": ext, "language": "it",
                                 "platform": "Moodle", "registration": registration},
                     "timestamp": _ts(when)}
        statement.update(rest)
        return statement

    def _content(self, actor, verb, sco, edition, module, registration, when, result=None, obj=None) -> dict:
        statement = {"actor": actor, "verb": VERBS[verb], "object": obj or sco,
                     "context": {"registration": registration, "language": "it-IT",
                                 "contextActivities": {
                                     "parent": [sco] if obj is not None else [edition["modules"][module]],
                                     "grouping": [edition["course"], edition["modules"][module]],
                                     "category": [self.catalogue.profile]}},
                     "timestamp": _ts(when)}
        if result is not None:
            statement["result"] = result
        return statement

    # -- sessions -------------------------------------------------------------------------------

    def _scorm_session(self, uid, actor, edition, reg, t):
        rng = self.rng
        module = rng.choice(MODULES)
        level = rng.choices(LEVELS, (5, 3, 2))[0]
        sco = self.catalogue.scos[module, level]
        section = edition["sections"][MODULES.index(module) // 2]
        mod = edition["modules"][module]
        mod_sco = edition["module_scos"][module]
        parents = [mod, section, edition["course"]]
        out = [self._moodle(actor, "viewed", mod, reg, t, [section, edition["course"]],
                            "\\mod_scorm\\event\\course_module_viewed")]
        t += timedelta(seconds=rng.randint(2, 20))
        out.append(self._moodle(actor, "launched", mod_sco, reg, t, parents, "\\mod_scorm\\event\\sco_launched"))
        t += timedelta(seconds=rng.randint(1, 5))
        out.append(self._content(actor, "initialized", sco, edition, module, reg, t))
        elapsed = 0
        pages = rng.randint(2, 5)
        for page in range(1, pages + 1):
            step = rng.randint(60, 420)
            elapsed += step
            t += timedelta(seconds=step)
            if rng.random() < 0.05:
                out.append(self._content(actor, "suspended", sco, edition, module, reg, t))
                t += timedelta(hours=rng.randint(1, 30))
                out.append(self._content(actor, "resumed", sco, edition, module, reg, t))
            out.append(self._content(actor, "progressed", sco, edition, module, reg, t,
                                     {"extensions": {PROGRESS_EXT: int(100 * page / (pages + 1))}}))
        for question in self.catalogue.self_checks[module, level]:
            if rng.random() < 0.8:
                t += timedelta(seconds=rng.randint(10, 90))
                response = rng.choices("abc", (1, 3, 1))[0]
                out.append(self._content(actor, "answered", sco, edition, module, reg, t,
                                         {"response": response, "success": response == "b",
                                          "duration": _duration(rng.randint(5, 80))}, obj=question))
        finished = rng.random() < 0.85
        if finished:
            raw = rng.choice((40, 50, 60, 70, 80, 90, 100))
            t += timedelta(seconds=rng.randint(5, 60))
            out.append(self._content(actor, "completed", sco, edition, module, reg, t,
                                     {"completion": True, "duration": _duration(elapsed)}))
            t += timedelta(seconds=1)
            out.append(self._content(actor, "passed" if raw >= 60 else "failed", sco, edition, module, reg, t,
                                     {"score": {"raw": raw, "min": 0, "max": 100, "scaled": raw / 100},
                                      "success": raw >= 60, "completion": True, "duration": _duration(elapsed)}))
            # What Moodle itself logs when the SCO reports its score and status.
            out.append(self._moodle(actor, "completed", mod_sco, reg, t, parents,
                                    "\\mod_scorm\\event\\scoreraw_submitted",
                                    result={"score": {"max": 100, "min": 0, "raw": raw,
                                                      "scaled": moodle_scaled(raw)}}))
            out.append(self._moodle(actor, "completed", mod_sco, reg, t, parents,
                                    "\\mod_scorm\\event\\status_submitted"))
            if raw >= 60:
                out.append(self._moodle(actor, "completed", mod, reg, t, [section, edition["course"]],
                                        "\\core\\event\\course_module_completion_updated",
                                        result={"completion": True, "success": True}))
        t += timedelta(seconds=rng.randint(1, 30))
        out.append(self._content(actor, "terminated", sco, edition, module, reg, t,
                                 {"duration": _duration(elapsed + 30)}))
        return out

    def _quiz_session(self, uid, actor, edition, reg, t):
        rng = self.rng
        which = rng.choices((0, 1), (3, 2))[0]
        quiz = edition["quizzes"][which]
        cmid = edition["quiz_cmids"][which]
        section = edition["sections"][3]
        self.attempt_seq += 1
        attempt = _activity(f"{SITE}/mod/quiz/attempt.php?attempt={self.attempt_seq}&cmid={cmid}",
                            f"{quiz['definition']['name']['it']} Attempt 1", T_ATTEMPT)
        parents = [quiz, section, edition["course"]]
        out = [self._moodle(actor, "viewed", quiz, reg, t, [section, edition["course"]],
                            "\\mod_quiz\\event\\course_module_viewed")]
        questions = edition["questions"][which]
        right = 0
        answers = []
        for question in questions:
            t += timedelta(seconds=rng.randint(15, 120))
            ok = rng.random() < 0.75
            right += ok
            answer = "true" if ok else "false"
            answers.append((question, answer, ok, t))
        raw = round(100 * right / len(questions))
        out.append(self._moodle(actor, "completed", attempt, reg, t, parents,
                                "\\mod_quiz\\event\\attempt_submitted",
                                result={"completion": True, "duration": _duration(60 * len(questions)),
                                        "score": {"max": 100, "min": 0, "raw": raw, "scaled": moodle_scaled(raw)},
                                        "success": raw >= 75}))
        for question, answer, ok, when in answers:
            out.append(self._moodle(actor, "answered", question, reg, when, [attempt, *parents],
                                    "\\mod_quiz\\event\\attempt_submitted",
                                    result={"completion": True, "response": answer, "success": ok,
                                            "extensions": {"http://learninglocker.net/xapi/cmi/true-false/response":
                                                           answer == "true"}}))
        return out

    def _enrolment(self, uid, actor, edition, reg, t):
        return [self._moodle(actor, "enrolled", edition["course"], reg, t, None,
                             "\\core\\event\\user_enrolment_created",
                             extra_ext={"https://xapi.edlm/profiles/edlm-lms/concepts/context-extensions/"
                                        "enrolment-type": "manual"})]

    def _course_completed(self, uid, actor, edition, reg, t):
        statement = self._moodle(actor, "completed", edition["course"], reg, t, None,
                                 "\\core\\event\\course_completed")
        return [statement]

    def _other(self, uid, actor, edition, reg, t):
        """The long tail: forum posts, page views inside a SCO, unenrolments..."""
        rng = self.rng
        verb = rng.choice(("experienced", "interacted", "commented", "submitted", "scored", "attempted",
                           "registered", "unenrolled"))
        if verb in ("experienced", "interacted", "attempted", "scored"):
            module = rng.choice(MODULES)
            sco = self.catalogue.scos[module, rng.choice(LEVELS)]
            result = {"score": {"raw": 80, "min": 0, "max": 100, "scaled": 0.8}} if verb == "scored" else None
            return [self._content(actor, verb, sco, edition, module, reg, t, result)]
        obj = edition["course"] if verb in ("registered", "unenrolled") else rng.choice(edition["sections"])
        parents = None if obj is edition["course"] else [edition["course"]]
        return [self._moodle(actor, verb, obj, reg, t, parents, "\\core\\event\\" + verb)]

    def session(self) -> list[dict]:
        """One learner's session: the statements Moodle and the SCORM content send in it."""
        rng = self.rng
        uid = FIRST_USER_ID + rng.randrange(LEARNERS)
        actor = self.actor(uid)
        edition = self.catalogue.editions[uid % COURSE_EDITIONS]
        # Moodle's registration: the UUIDv5 of the session key.
        reg = str(uuid.uuid5(MOODLE_NS, f"sesskey:{uid}:{rng.getrandbits(48):012x}"))
        t = self.start + self.span * rng.random()
        kind = rng.choices((self._scorm_session, self._quiz_session, self._enrolment, self._course_completed,
                            self._other), (78, 10, 6, 3, 3))[0]
        return kind(uid, actor, edition, reg, t)

    @staticmethod
    def describe(statement: dict) -> dict:
        """The agent, verb, activity, registration and course under which a statement is found."""
        activities = statement["context"]["contextActivities"]
        # The course: first of a SCORM grouping, last of a Moodle parent list, or the object itself.
        if "grouping" in activities:
            course = activities["grouping"][0]["id"]
        elif "parent" in activities:
            course = activities["parent"][-1]["id"]
        else:
            course = statement["object"]["id"]
        return {"agent": {"account": statement["actor"]["account"]}, "verb": statement["verb"]["id"],
                "activity": statement["object"]["id"], "registration": statement["context"]["registration"],
                "course": course}

    def statements(self):
        while True:
            yield from self.session()


def batches(generator: TrafficGenerator, size: int):
    """Consecutive batches of ``size`` statements; a session may span two batches, as in Moodle."""
    buffer: list[dict] = []
    while True:
        while len(buffer) < size:
            buffer.extend(generator.session())
        yield buffer[:size]
        buffer = buffer[size:]
