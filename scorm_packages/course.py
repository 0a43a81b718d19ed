"""What the packages need of the catalogue (``courses.catalogue``): the FAD course's data, its
activity IRIs (``{course iri}/{key}``, keys from the catalogue's own codes: ``valutazione-iniziale``,
``m01``, ``m01/base``, ``test-finale/tf-03``...) and types, the path thresholds and the levels State
document the backend writes (docs/xapi-profile.md)."""
from __future__ import annotations

from dataclasses import dataclass, field

from courses.catalogue import ACTIVITY_TYPES, Course, default_catalogue
from courses.operations import LEVELS_STATE_ID
from courses.rules import PathRules
from courses.schemas import LEVELS

LEVEL_LABELS = {"base": "Base", "intermedio": "Intermedio", "avanzato": "Avanzato"}
IRI_ROOT = LEVELS_STATE_ID.rsplit("/state/", 1)[0]
# Profile of the statements the content sends, and its extensions (docs/xapi-profile.md).
PROFILE_IRI = f"{IRI_ROOT}/profile/content"
EXTENSIONS = f"{IRI_ROOT}/extensions"

__all__ = ["CourseInfo", "EXTENSIONS", "IRI_ROOT", "LEVELS", "LEVEL_LABELS", "PROFILE_IRI", "load_course"]


@dataclass(frozen=True)
class CourseInfo:
    course: Course = field(repr=False)
    rules: PathRules = field(repr=False)
    levels_state_id: str = LEVELS_STATE_ID
    types: dict[str, str] = field(default_factory=lambda: dict(ACTIVITY_TYPES))

    @property
    def data(self) -> dict:
        return self.course.data

    @property
    def iri(self) -> str:
        return self.course.iri

    @property
    def code(self) -> str:
        return self.course.code

    @property
    def title(self) -> str:
        return self.course.title

    def iri_of(self, key: str) -> str:
        return self.course.iri_of(key)

    @property
    def modules(self) -> list[dict]:
        return sorted(self.course.modules, key=lambda m: m["number"])

    def objective(self, code: str) -> dict:
        return next(o for o in self.data["objectives"] if o["code"] == code)

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self.rules.default)

    @property
    def cluster_rules(self) -> dict[int, dict]:
        return self.rules.clusters

    def thresholds_for(self, cluster: int | None, objective: str) -> dict[str, float]:
        """The level thresholds of a cluster (None: the default) for an objective."""
        return dict(self.rules.thresholds(cluster, objective))


def load_course() -> CourseInfo:
    """The FAD course whose modules the adaptive path assigns."""
    catalogue = default_catalogue()
    return CourseInfo(course=catalogue.fad_course, rules=catalogue.rules)
