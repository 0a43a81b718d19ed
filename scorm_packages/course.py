"""What the packages need of the catalogue: the FAD course's data, its activity IRIs and types, the
levels State document and the path thresholds.

The catalogue is read through ``courses.catalogue`` (validated there) when that loader is present;
otherwise the JSON file is read directly and the IRIs are derived the same way: ``{course iri}/{key}``
with the catalogue's own codes as keys (``valutazione-iniziale``, ``m01``, ``m01/base``,
``test-finale/tf-03``, ...).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
CATALOGUE_FILE = REPOSITORY / "courses" / "catalogue" / "fad-fse.json"
RULES_FILE = REPOSITORY / "courses" / "catalogue" / "path-rules.json"
LEVELS = ("base", "intermedio", "avanzato")
LEVEL_LABELS = {"base": "Base", "intermedio": "Intermedio", "avanzato": "Avanzato"}
IRI_ROOT = "https://formas.toscana.it/xapi/fse20"
# The State document in which the backend writes a learner's levels (docs/xapi-profile.md).
LEVELS_STATE_ID = f"{IRI_ROOT}/state/levels"
# Profile of the statements the content sends, and its extensions (docs/xapi-profile.md).
PROFILE_IRI = f"{IRI_ROOT}/profile/content"
EXTENSIONS = f"{IRI_ROOT}/extensions"
ACTIVITY_TYPES = {
    "course": "http://adlnet.gov/expapi/activities/course",
    "assessment": "http://adlnet.gov/expapi/activities/assessment",
    "final-test": "http://adlnet.gov/expapi/activities/assessment",
    "question": "http://adlnet.gov/expapi/activities/cmi.interaction",
    "module": "http://adlnet.gov/expapi/activities/module",
    "module-level": "http://adlnet.gov/expapi/activities/lesson",
    "questionnaire": "http://id.tincanapi.com/activitytype/survey",
}
DEFAULT_THRESHOLDS = {"intermedio": 40.0, "avanzato": 80.0}


@dataclass(frozen=True)
class CourseInfo:
    data: dict = field(repr=False)
    iri: str
    thresholds: dict[str, float]
    # cluster -> {"thresholds": {...} (optional), "objectives": {objective: {...}}}
    cluster_rules: dict[int, dict]
    types: dict[str, str] = field(default_factory=lambda: dict(ACTIVITY_TYPES))
    levels_state_id: str = LEVELS_STATE_ID

    @property
    def code(self) -> str:
        return self.data["code"]

    @property
    def title(self) -> str:
        return self.data["title"]

    def iri_of(self, key: str) -> str:
        return f"{self.iri}/{key}"

    @property
    def modules(self) -> list[dict]:
        return sorted(self.data["modules"], key=lambda m: m["number"])

    def objective(self, code: str) -> dict:
        return next(o for o in self.data["objectives"] if o["code"] == code)

    def thresholds_for(self, cluster: int | None, objective: str) -> dict[str, float]:
        """The level thresholds of a cluster for an objective: most specific first, as in courses.rules."""
        rules = self.cluster_rules.get(cluster, {}) if cluster is not None else {}
        return dict(rules.get("objectives", {}).get(objective) or rules.get("thresholds") or self.thresholds)


def _cluster_rule(rule: dict) -> dict:
    def floats(t: dict) -> dict[str, float]:
        return {k: float(v) for k, v in t.items()}

    out = {"objectives": {o: floats(t) for o, t in (rule.get("objectives") or {}).items()}}
    if rule.get("thresholds"):
        out["thresholds"] = floats(rule["thresholds"])
    return out


def _from_courses_package() -> CourseInfo | None:
    try:
        from courses.catalogue import ACTIVITY_TYPES as types, default_catalogue
    except ImportError:
        return None
    loaded = default_catalogue()
    course = loaded.fad_course
    rules = loaded.rules
    clusters = {int(number): _cluster_rule(rule) for number, rule in rules.clusters.items()}
    try:
        from courses.operations import LEVELS_STATE_ID as state_id
    except ImportError:
        state_id = LEVELS_STATE_ID
    return CourseInfo(data=course.data, iri=course.iri, thresholds=dict(rules.default), cluster_rules=clusters,
                      types={**ACTIVITY_TYPES, **types}, levels_state_id=state_id)


def read_course(path: Path = CATALOGUE_FILE, rules_path: Path = RULES_FILE) -> CourseInfo:
    """The FAD course read straight from its JSON file (and the path rules beside it)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    iri = data.get("iri") or f"{IRI_ROOT}/courses/{data['code'].lower()}"
    thresholds, clusters = dict(DEFAULT_THRESHOLDS), {}
    if rules_path.exists():
        rules = json.loads(rules_path.read_text(encoding="utf-8"))
        thresholds = {k: float(v) for k, v in rules.get("default", thresholds).items()}
        clusters = {int(n): _cluster_rule(rule) for n, rule in rules.get("clusters", {}).items()}
    return CourseInfo(data=data, iri=iri.rstrip("/"), thresholds=thresholds, cluster_rules=clusters)


def load_course() -> CourseInfo:
    """The FAD course, through the catalogue loader of ``courses`` when present."""
    return _from_courses_package() or read_course()
