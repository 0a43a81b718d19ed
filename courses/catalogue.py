"""The course catalogue: the JSON files of ``courses/catalogue/``, validated when they load.

Every element of a course (the course, its assessment and questions, modules and their levels,
final test, questionnaire, sessions) gets a stable activity IRI derived from the course's ``iri``:
``{course iri}/{element key}``, where the key is built from the catalogue's own codes
(``m01``, ``m01/base``, ``valutazione-iniziale/vi-03``, ``sessione-2``...). Renaming a code
renames an IRI: statements already stored keep the old one, so codes are for ever.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from courses import datafiles
from courses.reference import Reference, default_reference
from courses.schemas import LEVELS, CourseSchema

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"
RULES_FILE = "path-rules.json"

# xAPI activity types (ADL vocabulary; the survey type from the Tin Can registry).
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "assessment": "http://adlnet.gov/expapi/activities/assessment",
    "final-test": "http://adlnet.gov/expapi/activities/assessment",
    "question": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "module": "http://adlnet.gov/expapi/activities/module",
    "module-level": "http://adlnet.gov/expapi/activities/lesson",
    "questionnaire": "http://id.tincanapi.com/activitytype/survey",
    "session": "http://adlnet.gov/expapi/activities/meeting",
}
COURSE_KEY = "course"
# ECM rules the FAD course must meet (reference/ECM.md §1).
ECM_CREDITS_PER_HOUR = 1.0  # e-learning without tutoring
ECM_QUESTIONS_PER_CREDIT = 3
ECM_OPTIONS = 4
ECM_MIN_PASS_PERCENT = 75
ECM_MAX_ATTEMPTS = 5
MIN_QUESTIONS_PER_OBJECTIVE = 3


@dataclass(frozen=True)
class Element:
    key: str
    iri: str
    kind: str
    title: str
    objective: str | None = None
    module: int | None = None
    level: str | None = None
    minutes: int | None = None

    @property
    def type(self) -> str:
        return ACTIVITY_TYPES[self.kind]


@dataclass(frozen=True)
class Course:
    code: str
    kind: str
    iri: str
    title: str
    hours: float
    target_learners: int
    data: dict = field(repr=False, compare=False)
    elements: tuple[Element, ...] = field(repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_by_key", {e.key: e for e in self.elements})

    def element(self, key: str) -> Element | None:
        return self._by_key.get(key)

    def iri_of(self, key: str) -> str:
        return self.iri if key == COURSE_KEY else f"{self.iri}/{key}"

    @property
    def objectives(self) -> list[str]:
        return [o["code"] for o in self.data.get("objectives", ())]

    @property
    def modules(self) -> list[dict]:
        return self.data.get("modules", [])

    @property
    def assessment(self) -> dict | None:
        return self.data.get("assessment")

    @property
    def sessions(self) -> list[dict]:
        return self.data.get("sessions", [])

    def module_key(self, module: dict, level: str | None = None) -> str:
        return module["code"] if level is None else f"{module['code']}/{level}"


@dataclass(frozen=True)
class Catalogue:
    courses: dict[str, Course]
    reference: Reference
    rules: "PathRules"  # noqa: F821  (courses.rules)

    def course(self, code: str) -> Course | None:
        return self.courses.get(code) or next((c for c in self.courses.values() if c.code.lower() == code.lower()), None)

    @property
    def fad_course(self) -> Course:
        """The FAD course whose modules the adaptive path assigns."""
        return self.courses[self.rules.course]


def _check_questions(problems: datafiles.Problems, questions: list[dict], field: str) -> None:
    seen: set[str] = set()
    for index, question in enumerate(questions):
        where = f"{field}[{index}]"
        problems.check(question["id"] not in seen, f"{where}.id", f"duplicate question id {question['id']!r}")
        seen.add(question["id"])
        problems.check(len(question["options"]) == ECM_OPTIONS, f"{where}.options",
                       f"exactly {ECM_OPTIONS} options, one of them right")
        problems.check(0 <= question["correct"] < len(question["options"]), f"{where}.correct",
                       "the index (from 0) of one of the options")


def _check_fad(problems: datafiles.Problems, data: dict) -> None:
    for name in ("objectives", "assessment", "modules", "final_test", "questionnaire"):
        problems.check(name in data, name, "required for a FAD course")
    problems.check("sessions" not in data, "sessions", "a FAD course has modules, not sessions")
    if problems.items:
        return
    objectives = [o["code"] for o in data["objectives"]]
    problems.check(len(set(objectives)) == len(objectives), "objectives", "objective codes must be unique")
    numbers = sorted(o["number"] for o in data["objectives"])
    problems.check(numbers == list(range(1, len(numbers) + 1)), "objectives", "numbered 1, 2, ... without gaps")

    questions = data["assessment"]["questions"]
    _check_questions(problems, questions, "assessment.questions")
    for index, question in enumerate(questions):
        problems.check(question["objective"] in objectives, f"assessment.questions[{index}].objective",
                       f"one of {', '.join(objectives)}")
    for objective in objectives:
        count = sum(1 for q in questions if q["objective"] == objective)
        problems.check(count >= MIN_QUESTIONS_PER_OBJECTIVE, "assessment.questions",
                       f"at least {MIN_QUESTIONS_PER_OBJECTIVE} questions for objective {objective!r}, found {count}")

    modules = data["modules"]
    problems.check(sorted(m["number"] for m in modules) == list(range(1, len(modules) + 1)), "modules",
                   "numbered 1, 2, ... without gaps")
    codes = [m["code"] for m in modules]
    problems.check(len(set(codes)) == len(codes), "modules", "module codes must be unique")
    for index, module in enumerate(modules):
        problems.check(module["objective"] in objectives, f"modules[{index}].objective",
                       f"one of {', '.join(objectives)}")
        missing = [level for level in LEVELS if level not in module["levels"]]
        problems.check(not missing, f"modules[{index}].levels", f"missing level(s) {', '.join(missing)}")
    for objective in objectives:
        problems.check(any(m["objective"] == objective for m in modules), "modules",
                       f"no module for objective {objective!r}")
    minutes = sum(m["minutes"] for m in modules)
    problems.check(minutes == round(data["hours"] * 60), "modules",
                   f"the modules last {minutes} minutes, the course {data['hours']} hours")

    final = data["final_test"]
    _check_questions(problems, final["questions"], "final_test.questions")
    credits = data["hours"] * ECM_CREDITS_PER_HOUR
    needed = int(credits * ECM_QUESTIONS_PER_CREDIT + 0.999)
    problems.check(len(final["questions"]) >= needed, "final_test.questions",
                   f"at least {ECM_QUESTIONS_PER_CREDIT} questions per ECM credit: {needed} for {credits:g} credits")
    problems.check(final["pass_percent"] >= ECM_MIN_PASS_PERCENT, "final_test.pass_percent",
                   f"at least {ECM_MIN_PASS_PERCENT} (ECM)")
    problems.check(final["max_attempts"] <= ECM_MAX_ATTEMPTS, "final_test.max_attempts",
                   f"at most {ECM_MAX_ATTEMPTS} (ECM)")
    numbers = {m["number"] for m in modules}
    for index, question in enumerate(final["questions"]):
        problems.check(question["module"] in numbers, f"final_test.questions[{index}].module", "an existing module number")
    items = [i["id"] for i in data["questionnaire"]["items"]]
    problems.check(len(set(items)) == len(items), "questionnaire.items", "item ids must be unique")


def _check_sessions(problems: datafiles.Problems, data: dict) -> None:
    for name in ("objectives", "assessment", "modules", "final_test", "questionnaire"):
        problems.check(name not in data, name, f"only for FAD courses, not {data['kind'].upper()}")
    if not problems.check(bool(data.get("sessions")), "sessions", f"required for a {data['kind'].upper()} course"):
        return
    sessions = data["sessions"]
    problems.check(sorted(s["number"] for s in sessions) == list(range(1, len(sessions) + 1)), "sessions",
                   "numbered 1, 2, ... without gaps")
    hours = sum(s["hours"] for s in sessions)
    problems.check(abs(hours - data["hours"]) < 1e-9, "sessions",
                   f"the sessions last {hours:g} hours, the course {data['hours']:g}")


def _elements(data: dict) -> list[Element]:
    iri = data["iri"]

    def element(key, kind, title, **extra) -> Element:
        return Element(key, iri if key == COURSE_KEY else f"{iri}/{key}", kind, title, **extra)

    out = [element(COURSE_KEY, "course", data["title"], minutes=round(data["hours"] * 60))]
    if data["kind"] == "fad":
        assessment = data["assessment"]
        out.append(element(assessment["code"], "assessment", assessment["title"], minutes=assessment["minutes"]))
        out += [element(f"{assessment['code']}/{q['id']}", "question", q["text"], objective=q["objective"])
                for q in assessment["questions"]]
        for module in sorted(data["modules"], key=lambda m: m["number"]):
            common = dict(objective=module["objective"], module=module["number"], minutes=module["minutes"])
            out.append(element(module["code"], "module", module["title"], **common))
            out += [element(f"{module['code']}/{level}", "module-level", module["levels"][level]["title"],
                            level=level, **common) for level in LEVELS]
        final = data["final_test"]
        objective_of = {m["number"]: m["objective"] for m in data["modules"]}
        out.append(element(final["code"], "final-test", final["title"]))
        out += [element(f"{final['code']}/{q['id']}", "question", q["text"], module=q["module"],
                        objective=objective_of.get(q["module"])) for q in final["questions"]]
        questionnaire = data["questionnaire"]
        out.append(element(questionnaire["code"], "questionnaire", questionnaire["title"]))
        out += [element(f"{questionnaire['code']}/{i['id']}", "question", i["text"]) for i in questionnaire["items"]]
    for session in data.get("sessions", ()):
        out.append(element(f"sessione-{session['number']}", "session", session["title"],
                           minutes=round(session["hours"] * 60)))
    return out


def load_course(path: Path) -> Course:
    data = datafiles.load(path, CourseSchema())
    problems = datafiles.Problems(path.name)
    parts = urlsplit(data["iri"])
    problems.check(not parts.query and not parts.fragment and not data["iri"].endswith("/"), "iri",
                   "an IRI base without query, fragment or trailing slash")
    if data["kind"] == "fad":
        _check_fad(problems, data)
    else:
        _check_sessions(problems, data)
    problems.raise_any()
    elements = _elements(data)
    keys = [e.key for e in elements]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    problems.check(not duplicates, "code", f"two elements would share the IRI key(s) {', '.join(duplicates)}")
    problems.raise_any()
    return Course(data["code"], data["kind"], data["iri"], data["title"], data["hours"], data["target_learners"],
                  data, tuple(elements))


def load_catalogue(directory: Path = CATALOGUE_DIR, reference: Reference | None = None) -> Catalogue:
    """Load and validate every course file and the path rules of ``directory``."""
    from courses.rules import load_rules

    reference = reference or default_reference()
    courses: dict[str, Course] = {}
    iris: dict[str, str] = {}
    for path in sorted(directory.glob("*.json")):
        if path.name == RULES_FILE:
            continue
        course = load_course(path)
        if course.code in courses:
            raise datafiles.DataFileError(path.name, [("code", f"course {course.code} is defined twice")])
        if course.iri in iris:
            raise datafiles.DataFileError(path.name, [("iri", f"the same IRI as {iris[course.iri]}")])
        courses[course.code] = course
        iris[course.iri] = path.name
    if not courses:
        raise datafiles.DataFileError(str(directory), [("", "no course files")])
    rules = load_rules(directory / RULES_FILE, courses, reference)
    return Catalogue(courses, reference, rules)


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    return load_catalogue()
