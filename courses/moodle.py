"""Which catalogue element a Moodle activity IRI stands for: configuration per Moodle site.

The logstore_xapi plugin names activities by their Moodle URLs (``{wwwroot}/mod/scorm/view.php?id=N``,
``{wwwroot}/mod/quiz/view.php?id=N``, ``{wwwroot}/course/view.php?id=N``...), which differ from site
to site. A JSON file, named by ``FSE_FAD_MOODLE_MAPPING``, maps them to catalogue elements::

    {"sites": [{"wwwroot": "https://fad.example.it", "default": true,
                "courses": {"FAD-FSE": {"course/view.php?id=12": "course",
                                        "mod/quiz/view.php?id=301": "valutazione-iniziale",
                                        "mod/scorm/view.php?id=311": "m01/base", ...}}}]}

Values are element keys of the course (see ``courses.catalogue``). A SCORM package holding the
three levels of a module maps to the module (``"m01"``) instead of a level.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from courses import datafiles
from courses.catalogue import Catalogue, Element
from courses.schemas import MoodleMappingSchema

MOODLE_PATH = re.compile(r"^(course|mod/[a-z0-9_]+)/view\.php\?id=[1-9][0-9]*$")


@dataclass(frozen=True)
class Resolved:
    course: str
    element: Element
    site: str


@dataclass(frozen=True)
class MoodleSite:
    wwwroot: str
    default: bool
    # Moodle path -> (course code, element key)
    paths: dict[str, tuple[str, str]]

    @property
    def home_page(self) -> str:
        """The ``account.homePage`` of the Moodle users of the site in statements."""
        return self.wwwroot


@dataclass(frozen=True)
class MoodleMapping:
    sites: tuple[MoodleSite, ...] = ()

    @property
    def default_site(self) -> MoodleSite | None:
        marked = [s for s in self.sites if s.default]
        if marked:
            return marked[0]
        return self.sites[0] if len(self.sites) == 1 else None

    def site(self, wwwroot: str) -> MoodleSite | None:
        wwwroot = wwwroot.rstrip("/")
        return next((s for s in self.sites if s.wwwroot == wwwroot), None)

    def resolve(self, iri: str, catalogue: Catalogue) -> Resolved | None:
        """The catalogue element a Moodle activity IRI maps to, or None. A fragment (``#sco``) is
        ignored, and a quiz attempt (``mod/quiz/attempt.php?attempt=N&cmid=M``) stands for its quiz."""
        base = iri.split("#", 1)[0]
        for site in self.sites:
            if not base.startswith(site.wwwroot + "/"):
                continue
            path = base[len(site.wwwroot) + 1:]
            target = site.paths.get(path) or site.paths.get(_view_of(path) or "")
            if target:
                course = catalogue.course(target[0])
                return Resolved(course.code, course.element(target[1]), site.wwwroot)
        return None

    def launch_url(self, course_code: str, key: str) -> str | None:
        """The Moodle URL of an element on the default site (else the first site that maps it)."""
        sites = sorted(self.sites, key=lambda s: not s.default)
        for site in sites:
            for path, target in site.paths.items():
                if target == (course_code, key):
                    return f"{site.wwwroot}/{path}"
        return None


def _view_of(path: str) -> str | None:
    parts = urlsplit(path)
    module = re.fullmatch(r"mod/([a-z0-9_]+)/[a-z_]+\.php", parts.path)
    cmid = parse_qs(parts.query).get("cmid")
    if module and cmid:
        return f"mod/{module.group(1)}/view.php?id={cmid[0]}"
    return None


def load_mapping(path: str | Path | None, catalogue: Catalogue) -> MoodleMapping:
    """The mapping of the file at ``path``; no path means no Moodle site is configured."""
    if not path:
        return MoodleMapping()
    path = Path(path)
    data = datafiles.load(path, MoodleMappingSchema(), name=str(path))
    problems = datafiles.Problems(str(path))
    sites = []
    seen_roots: set[str] = set()
    for index, site in enumerate(data["sites"]):
        where = f"sites[{index}]"
        wwwroot = site["wwwroot"].rstrip("/")
        problems.check(wwwroot not in seen_roots, f"{where}.wwwroot", "two sites with the same wwwroot")
        seen_roots.add(wwwroot)
        paths: dict[str, tuple[str, str]] = {}
        for code, mapping in site["courses"].items():
            course = catalogue.courses.get(code)
            if not problems.check(course is not None, f"{where}.courses.{code}", "a course code of the catalogue"):
                continue
            for moodle_path, key in mapping.items():
                field = f"{where}.courses.{code}.{moodle_path}"
                problems.check(bool(MOODLE_PATH.match(moodle_path)), field,
                               "a Moodle path relative to wwwroot, like mod/scorm/view.php?id=12")
                problems.check(course.element(key) is not None, field, f"no element {key!r} in course {code}")
                problems.check(moodle_path not in paths, field, "the same Moodle activity is mapped twice")
                paths[moodle_path] = (code, key)
        sites.append(MoodleSite(wwwroot, site["default"], paths))
    problems.check(sum(s.default for s in sites) <= 1, "sites", "at most one default site")
    problems.raise_any()
    return MoodleMapping(tuple(sites))
