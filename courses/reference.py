"""Reference data, loaded and validated at start: trusts (aziende), learner categories and their
clusters (seed 003; ``S`` for specialisation students, seed 001), Age.na.s professions and
disciplines (reference/ECM.md §3). The files are in ``courses/reference/``."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from courses import datafiles
from courses.schemas import CategoriesFileSchema, ProfessionsFileSchema, TrustsFileSchema

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
# Age.na.s codes of the health professions that earn ECM credits.
ECM_PROFESSION_CODES = range(1, 31)


@dataclass(frozen=True)
class Trust:
    code: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    code: str
    cluster: int
    label: str
    professions: tuple[int, ...] = ()


@dataclass(frozen=True)
class Discipline:
    code: int
    name: str
    profession: int


@dataclass(frozen=True)
class Profession:
    code: int
    name: str
    disciplines: tuple[Discipline, ...]

    @property
    def ecm_eligible(self) -> bool:
        return self.code in ECM_PROFESSION_CODES


def lookup_key(value: str) -> str:
    """How codes and names are compared: case and spacing forgiven."""
    return " ".join(str(value).replace("_", " ").split()).casefold()


@dataclass(frozen=True)
class Reference:
    trusts: dict[str, Trust]
    clusters: dict[int, str]
    categories: dict[str, Category]
    professions: dict[int, Profession]
    disciplines: dict[int, Discipline]

    def __post_init__(self):
        aliases: dict[str, dict[str, object]] = {"trust": {}, "category": {}, "profession": {}}
        for trust in self.trusts.values():
            aliases["trust"][lookup_key(trust.code)] = trust
            for name in (trust.name, *trust.aliases):
                aliases["trust"][lookup_key(name)] = trust
        for category in self.categories.values():
            aliases["category"][lookup_key(category.code)] = category
        for profession in self.professions.values():
            aliases["profession"][lookup_key(str(profession.code))] = profession
            aliases["profession"][lookup_key(profession.name)] = profession
        by_profession: dict[int, dict[str, Discipline]] = {}
        for profession in self.professions.values():
            own = by_profession.setdefault(profession.code, {})
            for discipline in profession.disciplines:
                own[lookup_key(str(discipline.code))] = discipline
                own[lookup_key(discipline.name)] = discipline
        object.__setattr__(self, "_aliases", aliases)
        object.__setattr__(self, "_disciplines_of", by_profession)

    def find(self, kind: str, value: str):
        """The trust, category or profession a roster cell names (code or name), or None."""
        return self._aliases[kind].get(lookup_key(value))

    def find_discipline(self, profession: Profession, value: str) -> Discipline | None:
        """The discipline of ``profession`` a roster cell names (code or name), or None."""
        return self._disciplines_of.get(profession.code, {}).get(lookup_key(value))

    def is_trust(self, code: str) -> bool:
        return code in self.trusts


def load_reference(directory: Path = REFERENCE_DIR) -> Reference:
    trusts_data = datafiles.load(directory / "trusts.json", TrustsFileSchema())
    categories_data = datafiles.load(directory / "categories.json", CategoriesFileSchema())
    professions_data = datafiles.load(directory / "professions.json", ProfessionsFileSchema())

    problems = datafiles.Problems("trusts.json")
    trusts: dict[str, Trust] = {}
    for index, item in enumerate(trusts_data["trusts"]):
        problems.check(item["code"] not in trusts, f"trusts[{index}].code", f"duplicate code {item['code']!r}")
        trusts[item["code"]] = Trust(item["code"], item["name"], item["kind"], tuple(item["aliases"]))
    problems.raise_any()

    problems = datafiles.Problems("professions.json")
    professions: dict[int, Profession] = {}
    disciplines: dict[int, Discipline] = {}
    for index, item in enumerate(professions_data["professions"]):
        code = item["code"]
        problems.check(code not in professions, f"professions[{index}].code", f"duplicate profession {code}")
        own = []
        for number, disc in enumerate(item["disciplines"]):
            problems.check(disc["code"] not in disciplines, f"professions[{index}].disciplines[{number}].code",
                           f"discipline {disc['code']} already belongs to another profession")
            discipline = Discipline(disc["code"], disc["name"], code)
            disciplines.setdefault(disc["code"], discipline)
            own.append(discipline)
        professions[code] = Profession(code, item["name"], tuple(own))
    problems.raise_any()

    problems = datafiles.Problems("categories.json")
    clusters: dict[int, str] = {}
    for index, item in enumerate(categories_data["clusters"]):
        problems.check(item["number"] not in clusters, f"clusters[{index}].number", "duplicate cluster")
        clusters[item["number"]] = item["label"]
    categories: dict[str, Category] = {}
    for index, item in enumerate(categories_data["categories"]):
        field = f"categories[{index}]"
        problems.check(item["code"] not in categories, f"{field}.code", f"duplicate category {item['code']!r}")
        problems.check(item["cluster"] in clusters, f"{field}.cluster", f"no cluster {item['cluster']}")
        prefix = item["code"].split(".")[0]
        if prefix.isdigit():
            problems.check(int(prefix) == item["cluster"], f"{field}.cluster",
                           f"category {item['code']} belongs to cluster {prefix}")
        for number, profession in enumerate(item["professions"]):
            problems.check(profession in professions, f"{field}.professions[{number}]", f"no profession {profession}")
        categories[item["code"]] = Category(item["code"], item["cluster"], item["label"], tuple(item["professions"]))
    problems.raise_any()
    return Reference(trusts, clusters, categories, professions, disciplines)


@lru_cache(maxsize=1)
def default_reference() -> Reference:
    return load_reference()
