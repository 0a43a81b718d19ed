"""The adaptive path: from the initial assessment's score per formative objective to the level of
each module of the FAD course, by the thresholds of ``courses/catalogue/path-rules.json``.

A score is the percentage (0-100) of the objective's assessment questions answered correctly. A
module takes the highest level whose threshold the score of its objective reaches; below every
threshold it is ``base``. Thresholds are chosen, most specific first, from the learner's cluster
and objective, the cluster, then the default.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from courses import datafiles
from courses.reference import Reference
from courses.schemas import LEVELS, PathRulesSchema
from fse_fad.errors import BadRequest


@dataclass(frozen=True)
class PathRules:
    course: str
    levels: tuple[str, ...]
    default: dict[str, float]
    # cluster -> {"thresholds": {...} | None, "objectives": {objective: {...}}}
    clusters: dict[int, dict]

    def thresholds(self, cluster: int, objective: str) -> dict[str, float]:
        rules = self.clusters.get(cluster, {})
        return rules.get("objectives", {}).get(objective) or rules.get("thresholds") or self.default

    def level_for(self, score: float, cluster: int, objective: str) -> str:
        thresholds = self.thresholds(cluster, objective)
        level = self.levels[0]
        for candidate in self.levels[1:]:
            if score >= thresholds[candidate]:
                level = candidate
        return level

    def module_levels(self, course, scores: dict[str, float], cluster: int) -> dict[str, str]:
        """The level of each module of ``course`` (by module code), in module order."""
        return {m["code"]: self.level_for(scores[m["objective"]], cluster, m["objective"])
                for m in sorted(course.modules, key=lambda m: m["number"])}


def _check_thresholds(problems: datafiles.Problems, thresholds: dict, field: str) -> None:
    problems.check(thresholds["intermedio"] <= thresholds["avanzato"], field,
                   "the threshold of 'avanzato' cannot be below that of 'intermedio'")


def load_rules(path: Path, courses: dict, reference: Reference) -> PathRules:
    data = datafiles.load(path, PathRulesSchema())
    problems = datafiles.Problems(path.name)
    course = courses.get(data["course"])
    if problems.check(course is not None and course.kind == "fad", "course", "the code of a FAD course of the catalogue"):
        objectives = course.objectives
    else:
        objectives = []
    problems.check(tuple(data["levels"]) == LEVELS, "levels", f"the module levels in order: {', '.join(LEVELS)}")
    _check_thresholds(problems, data["default"], "default")
    clusters: dict[int, dict] = {}
    for key, rules in data["clusters"].items():
        field = f"clusters.{key}"
        if not problems.check(key.isdigit() and int(key) in reference.clusters, field,
                              f"one of the clusters {', '.join(map(str, reference.clusters))}"):
            continue
        if "thresholds" in rules:
            _check_thresholds(problems, rules["thresholds"], f"{field}.thresholds")
        for objective, thresholds in rules["objectives"].items():
            if problems.check(objective in objectives, f"{field}.objectives.{objective}",
                              f"one of the objectives {', '.join(objectives)}"):
                _check_thresholds(problems, thresholds, f"{field}.objectives.{objective}")
        clusters[int(key)] = rules
    problems.raise_any()
    return PathRules(data["course"], tuple(data["levels"]), data["default"], clusters)


def score_answers(course, answers: dict[str, int]) -> dict[str, float]:
    """Per objective, the percentage of right answers; every assessment question must be answered."""
    questions = course.assessment["questions"]
    known = {q["id"] for q in questions}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise BadRequest(f"no assessment question {unknown[0]!r}", field=f"answers.{unknown[0]}",
                         rule="an assessment question of the course")
    missing = [q["id"] for q in questions if q["id"] not in answers]
    if missing:
        raise BadRequest(f"the assessment is not complete: {len(missing)} question(s) unanswered",
                         field=f"answers.{missing[0]}", rule="every assessment question answered")
    totals: dict[str, list[int]] = {}
    for question in questions:
        answer = answers[question["id"]]
        if not 0 <= answer < len(question["options"]):
            raise BadRequest("answer out of range", field=f"answers.{question['id']}",
                             rule=f"an option index from 0 to {len(question['options']) - 1}")
        right, count = totals.setdefault(question["objective"], [0, 0])
        totals[question["objective"]] = [right + (answer == question["correct"]), count + 1]
    return {objective: round(100 * right / count, 1) for objective, (right, count) in totals.items()}


def check_scores(course, scores: dict[str, float]) -> dict[str, float]:
    objectives = course.objectives
    unknown = sorted(set(scores) - set(objectives))
    if unknown:
        raise BadRequest(f"no objective {unknown[0]!r}", field=f"scores.{unknown[0]}",
                         rule=f"one of {', '.join(objectives)}")
    missing = [o for o in objectives if o not in scores]
    if missing:
        raise BadRequest("the assessment is not complete: a score per objective is needed",
                         field=f"scores.{missing[0]}", rule="a score from 0 to 100 for every objective")
    return {o: float(scores[o]) for o in objectives}
