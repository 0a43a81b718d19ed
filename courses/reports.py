"""The training offices' reports: completions, assessments, targets, the learners list, a learner's
progress and the agents that match no learner. Plain functions over a session, no Flask.

Every grouped report is one ``GROUP BY`` over learners ⟕ learner progress (or module progress,
or assessments), so that it answers in milliseconds over 60,000 learners. ``trust`` limits a
report to one trust (a trust's training office); None means every trust. The definitions of
the counts are in docs/reports.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.orm import Session

from courses.catalogue import Catalogue, Course
from courses.counts import NOT_COMPLETED
from courses.models import Assessment, Learner, LearnerProgress, ModuleCount, ModuleProgress, ObjectiveCount
from courses.progress import STATUSES
from courses.schemas import iso_utc
from fse_fad.errors import BadRequest, Forbidden
from fse_fad.i18n import DEFAULT_LOCALE, _

# Dates of a period are days in Italy.
ROME = ZoneInfo("Europe/Rome")
GROUPS = ("cluster", "trust", "category", "profession", "module", "level")
ASSESSMENT_GROUPS = ("cluster", "trust")
IN_PROGRESS = ("in_progress", "test_failed", "attempts_exhausted")
# The key of the group of learners without a health profession, or of modules without a level.
NONE_KEY = "none"
# Who is expected to take a field-training course: its audience in the catalogue, as categories
# (MMG/PLS, their office staff, CUP and reception/URP staff). A course of kind ``res`` has no
# audience by category: its trainees are designated, so its learners are those enrolled.
AUDIENCE_CATEGORIES = {"FSC-MMG-PLS": ("1.i", "1.ii", "3.ii", "3.iii", "3.xi")}
# PNRR M6C2 milestone: 85% of MMG/PLS (cluster 1) feed the FSE; its training side is their FAD completion.
MILESTONE_CLUSTER = 1
MILESTONE_SHARE = 0.85
SCORE_BANDS = tuple((low, low + 10) for low in range(0, 100, 10))
LEVEL_LABELS = {"base": "Base", "intermedio": "Intermedio", "avanzato": "Avanzato"}


def rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


# --- parameters -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Days ``start``..``end`` inclusive, in Italian time; either end may be open."""

    start: date | None = None
    end: date | None = None

    @property
    def since(self) -> datetime | None:
        if self.start is None:
            return None
        return datetime.combine(self.start, time(), ROME).astimezone(timezone.utc)

    @property
    def until(self) -> datetime | None:
        """The first instant after the period."""
        if self.end is None:
            return None
        return datetime.combine(self.end + timedelta(days=1), time(), ROME).astimezone(timezone.utc)

    def within(self, column):
        clauses = []
        if self.since is not None:
            clauses.append(column >= self.since)
        if self.until is not None:
            clauses.append(column < self.until)
        return and_(column.is_not(None), *clauses)


def period(start: date | None, end: date | None) -> Period:
    if start is not None and end is not None and start > end:
        raise BadRequest("the period ends before it starts", field="to", rule="a date on or after from")
    return Period(start, end)


def course_of(catalogue: Catalogue, code: str | None, *, fad_only: bool = False) -> Course:
    if code is None:
        return catalogue.fad_course
    course = catalogue.course(code)
    if course is None:
        raise BadRequest(f"no course {code}", field="course", rule="a course code of the catalogue")
    if fad_only and course.kind != "fad":
        raise BadRequest(f"course {course.code} has no modules nor initial assessment", field="course",
                         rule="a FAD course")
    return course


def report_trust(catalogue: Catalogue, own: str | None, requested: str | None) -> str | None:
    """The trust a report is limited to: ``own`` (the reader's trust, None when the reader sees
    every trust) unless another is asked for; a trust's office asking for another trust is refused
    (403) rather than given an empty report that could be read as "no learners"."""
    if requested is None:
        return own
    trust = catalogue.reference.find("trust", requested)
    if trust is None:
        raise BadRequest(f"unknown trust {requested}", field="trust", rule="a trust code of the reference data")
    if own is not None and trust.code != own:
        raise Forbidden("a trust's training office sees only its own trust", field="trust",
                        rule=f"omitted, or {own}")
    return trust.code


# --- who counts -----------------------------------------------------------------------------------

def _with_progress(course: Course):
    return and_(LearnerProgress.learner_id == Learner.id, LearnerProgress.course_code == course.code)


def _audience(course: Course):
    """The learners who count in ``course`` without any progress in it, or None when only progress
    makes a learner count: active (or erased) learners of its audience, every one for the FAD course."""
    enrolled = or_(Learner.active.is_(True), Learner.erased_at.is_not(None))
    if course.kind == "fad":
        return enrolled
    audience = AUDIENCE_CATEGORIES.get(course.code)
    if audience:
        return and_(enrolled, Learner.category_code.in_(audience))
    return None


def counted(course: Course):
    """The learners a report of ``course`` counts. Active learners of its audience (every learner
    for the FAD course); erased learners too, since erasure keeps aggregate counts; and whoever has
    progress in the course, even if deactivated since."""
    started = LearnerProgress.learner_id.is_not(None)
    audience = _audience(course)
    return started if audience is None else or_(audience, started)


def _in_trust(trust: str | None) -> list:
    return [] if trust is None else [Learner.trust_code == trust]


# --- completions ----------------------------------------------------------------------------------

def _row(key: str, label: str, learners: int, assessed: int, in_progress: int, completed: int) -> dict:
    return {"key": key, "label": label, "learners": learners, "assessed": assessed, "in_progress": in_progress,
            "completed": completed, "completion_rate": rate(completed, learners)}


def _learner_groups(session: Session, course: Course, keys: tuple, trust: str | None, when: Period) -> list[tuple]:
    """(*keys, learners, assessed, in progress, completed) per value of ``keys``: one GROUP BY."""
    progress = LearnerProgress
    completed = and_(progress.status == "completed", when.within(progress.completed_at))
    stmt = (select(*keys, func.count(), func.count(progress.assessment_completed_at),
                   func.count().filter(progress.status.in_(IN_PROGRESS)), func.count().filter(completed))
            .select_from(Learner).outerjoin(progress, _with_progress(course))
            .where(counted(course), *_in_trust(trust)).group_by(*keys))
    return [tuple(r) for r in session.execute(stmt)]


def _module_groups(session: Session, course: Course, key, trust: str | None, when: Period) -> list[tuple]:
    """(key, learners, assessed, in progress, completed) per value of ``key`` over the modules
    learners launched: a learner counts once in each module they launched. Summed from the
    counts the projection keeps (``courses.counts``), not from the module rows themselves."""
    counted_rows = ModuleCount
    launched = func.sum(counted_rows.launched)
    day = counted_rows.completed_day
    completed = [day != NOT_COMPLETED]
    if when.start is not None:
        completed.append(day >= when.start.toordinal())
    if when.end is not None:
        completed.append(day <= when.end.toordinal())
    stmt = (select(key, launched, func.sum(counted_rows.assessed), launched.filter(day == NOT_COMPLETED),
                   launched.filter(and_(*completed)))
            .where(counted_rows.course_code == course.code,
                   *([] if trust is None else [counted_rows.trust_code == trust]))
            .group_by(key).having(launched > 0))
    return [(key or None, *numbers) for key, *numbers in session.execute(stmt)]


def _labels(catalogue: Catalogue, group_by: str, course: Course, locale: str):
    reference = catalogue.reference
    if group_by == "cluster":
        return lambda key: reference.clusters.get(int(key), key)
    if group_by == "trust":
        return lambda key: reference.trusts[key].name if key in reference.trusts else key
    if group_by == "category":
        return lambda key: reference.categories[key].label if key in reference.categories else key
    if group_by == "profession":
        return lambda key: (_("No health profession", locale) if key == NONE_KEY
                            else reference.professions[int(key)].name if int(key) in reference.professions else key)
    if group_by == "module":
        titles = {m["code"]: m["title"] for m in course.modules}
        return lambda key: titles.get(key, key)
    return lambda key: _("Level not known", locale) if key == NONE_KEY else LEVEL_LABELS.get(key, key)


def _order(catalogue: Catalogue, group_by: str):
    """Rows by key: numbers as numbers, categories in the order of the reference data."""
    if group_by == "category":
        position = {code: index for index, code in enumerate(catalogue.reference.categories)}
        return lambda key: (position.get(key, len(position)), key)
    if group_by == "level":
        position = {level: index for index, level in enumerate(LEVEL_LABELS)}
        return lambda key: (position.get(key, len(position)), key)
    return lambda key: (0, int(key), "") if key.isdigit() else (1, 0, key)


def completions(session: Session, catalogue: Catalogue, *, group_by: str, course_code: str | None = None,
                when: Period = Period(), trust: str | None = None, locale: str = DEFAULT_LOCALE) -> dict:
    """Learners, assessed, in progress and completed per cluster, trust, category, profession,
    module or level, with totals."""
    if group_by not in GROUPS:
        raise BadRequest(f"cannot group by {group_by}", field="group_by", rule=f"one of {', '.join(GROUPS)}")
    course = course_of(catalogue, course_code, fad_only=group_by in ("module", "level"))
    if group_by in ("module", "level"):
        column = ModuleCount.module_code if group_by == "module" else ModuleCount.level
        found = _module_groups(session, course, column, trust, when)
    else:
        column = {"cluster": Learner.cluster, "trust": Learner.trust_code, "category": Learner.category_code,
                  "profession": Learner.profession_code}[group_by]
        found = _learner_groups(session, course, (column,), trust, when)
    label = _labels(catalogue, group_by, course, locale)
    counts: dict[str, list[int]] = {}
    for key, *numbers in found:
        key = NONE_KEY if key is None else str(key)
        into = counts.setdefault(key, [0, 0, 0, 0])
        for index, number in enumerate(numbers):
            into[index] += int(number or 0)
    rows = [_row(key, label(key), *counts[key]) for key in sorted(counts, key=_order(catalogue, group_by))]
    totals = [sum(r[name] for r in rows) for name in ("learners", "assessed", "in_progress", "completed")]
    total = _row("", "", *totals)
    del total["key"], total["label"]
    return {"group_by": group_by, "course": course.code,
            "from": when.start.isoformat() if when.start else None,
            "to": when.end.isoformat() if when.end else None, "rows": rows, "totals": total}


# --- assessments ----------------------------------------------------------------------------------

class whole_points(FunctionElement):
    """A score (0-100, never negative) rounded down to whole points."""

    type = Integer()
    inherit_cache = True


@compiles(whole_points)
def _whole_points(element, compiler, **kw):
    return f"floor({compiler.process(element.clauses, **kw)})"


@compiles(whole_points, "sqlite")
def _whole_points_sqlite(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


def band_of(points: int) -> int:
    """The index of the band of ten points of a score; 100 falls in the last."""
    return min(max(int(points), 0) // 10, len(SCORE_BANDS) - 1)


def assessments(session: Session, catalogue: Catalogue, *, group_by: str, course_code: str | None = None,
                trust: str | None = None, locale: str = DEFAULT_LOCALE) -> dict:
    """Per group and objective: the learners assessed, how many got each level, the mean score and
    the distribution of the scores in bands of ten points. One GROUP BY over the counts kept with
    the assessments' objectives (``courses.counts``) by objective, group, level and whole points
    (at most 101 points per level); the bands are summed here. The cluster is the one whose rules
    gave the levels (the assessment's); the trust is the learner's."""
    if group_by not in ASSESSMENT_GROUPS:
        raise BadRequest(f"cannot group assessments by {group_by}", field="group_by",
                         rule=f"one of {', '.join(ASSESSMENT_GROUPS)}")
    course = course_of(catalogue, course_code, fad_only=True)
    objectives = course.data["objectives"]
    position = {objective["code"]: index for index, objective in enumerate(objectives)}
    scored = ObjectiveCount
    key = scored.cluster if group_by == "cluster" else scored.trust_code
    points = whole_points(scored.score)
    assessed = func.sum(scored.assessed)
    stmt = (select(scored.objective, key, scored.level, points, assessed, func.sum(scored.assessed * scored.score))
            .where(scored.course_code == course.code, scored.objective.in_(list(position)),
                   *([] if trust is None else [scored.trust_code == trust]))
            .group_by(scored.objective, key, scored.level, points).having(assessed > 0))
    found = session.execute(stmt).all() if position else []
    label = _labels(catalogue, group_by, course, locale)
    groups: dict[tuple[str, int], dict] = {}
    totals: dict[int, dict] = {}
    for objective, group, level, points, learners, total in found:
        index = position[objective]
        for cell in (groups.setdefault((str(group), index), _empty_cell()), totals.setdefault(index, _empty_cell())):
            cell["assessed"] += learners
            cell["sum"] += float(total or 0)
            level = level if level in LEVEL_LABELS else NONE_KEY
            cell["levels"][level] = cell["levels"].get(level, 0) + learners
            cell["distribution"][band_of(points)] += learners
    order = _order(catalogue, group_by)
    rows = [{"key": group, "label": label(group), **_objective_cell(objectives[index], groups[(group, index)])}
            for group, index in sorted(groups, key=lambda g: (order(g[0]), g[1]))]
    return {"group_by": group_by, "course": course.code, "levels": list(LEVEL_LABELS),
            "bands": [list(b) for b in SCORE_BANDS], "rows": rows,
            "totals": [_objective_cell(objectives[index], totals[index]) for index in sorted(totals)]}


def _empty_cell() -> dict:
    return {"assessed": 0, "sum": 0.0, "levels": {}, "distribution": [0] * len(SCORE_BANDS)}


def _objective_cell(objective: dict, cell: dict) -> dict:
    levels = {level: cell["levels"].get(level, 0) for level in LEVEL_LABELS}
    if cell["levels"].get(NONE_KEY):
        levels[NONE_KEY] = cell["levels"][NONE_KEY]
    return {"objective": objective["code"], "objective_title": objective["title"], "assessed": cell["assessed"],
            "levels": levels, "mean_score": round(cell["sum"] / cell["assessed"], 2) if cell["assessed"] else None,
            "distribution": cell["distribution"]}


# --- targets --------------------------------------------------------------------------------------

def _per_trust(catalogue: Catalogue, counts: dict[str, list[int]]) -> list[dict]:
    names = catalogue.reference.trusts
    return [{"key": key, "label": names[key].name if key in names else key, "learners": learners,
             "completed": completed, "completion_rate": rate(completed, learners)}
            for key, (learners, completed) in sorted(counts.items()) if learners]


def _target_counts(session: Session, catalogue: Catalogue, trust: str | None) -> dict[str, dict[tuple, list[int]]]:
    """Learners and completed per course, per (trust, MMG/PLS or not), in two passes whatever the
    number of courses: the learners who count without progress (each course's audience) from the
    learners alone, then the progress rows of every course, counting only the learners who are not
    already counted through the audience."""
    courses = list(catalogue.courses.values())
    mmg = case((Learner.cluster == MILESTONE_CLUSTER, 1), else_=0)
    audiences = {course.code: _audience(course) for course in courses}
    with_audience = [code for code, audience in audiences.items() if audience is not None]
    counts: dict[str, dict[tuple, list[int]]] = {course.code: {} for course in courses}
    if with_audience:
        stmt = (select(Learner.trust_code, mmg, *[func.count().filter(audiences[code]) for code in with_audience])
                .where(*_in_trust(trust)).group_by(Learner.trust_code, mmg))
        for trust_code, flag, *numbers in session.execute(stmt):
            for code, number in zip(with_audience, numbers):
                counts[code][(trust_code, flag)] = [int(number), 0]
    progress = LearnerProgress
    outside = or_(progress.course_code.in_([code for code in audiences if code not in with_audience]),
                  *[and_(progress.course_code == code, ~audiences[code]) for code in with_audience])
    completed = and_(progress.status == "completed", progress.completed_at.is_not(None))
    stmt = (select(progress.course_code, Learner.trust_code, mmg, func.count().filter(outside),
                   func.count().filter(completed))
            .select_from(progress).join(Learner, Learner.id == progress.learner_id)
            # Rows neither outside the audience nor completed add nothing: not joined.
            .where(progress.course_code.in_(list(counts)), or_(outside, completed), *_in_trust(trust))
            .group_by(progress.course_code, Learner.trust_code, mmg))
    for code, trust_code, flag, learners, done in session.execute(stmt):
        into = counts[code].setdefault((trust_code, flag), [0, 0])
        into[0] += int(learners)
        into[1] += int(done)
    return counts


def _summed(counts: dict[tuple, list[int]], keep=lambda flag: True) -> dict[str, list[int]]:
    """Learners and completed per trust, from counts per (trust, flag) whose flag ``keep`` accepts."""
    summed: dict[str, list[int]] = {}
    for (trust, flag), (learners, completed) in counts.items():
        if keep(flag):
            into = summed.setdefault(trust, [0, 0])
            into[0] += learners
            into[1] += completed
    return summed


def targets(session: Session, catalogue: Catalogue, *, trust: str | None = None) -> dict:
    """Each project against its target, overall and per trust, and the share of MMG/PLS who
    completed the FAD course against the 85% milestone. A trust's office sees its own figures
    against the regional targets. The FAD course's counts also give the milestone."""
    fad = catalogue.fad_course
    counts = _target_counts(session, catalogue, trust)
    projects = []
    for course in catalogue.courses.values():
        per_trust = _per_trust(catalogue, _summed(counts[course.code]))
        learners = sum(t["learners"] for t in per_trust)
        completed = sum(t["completed"] for t in per_trust)
        projects.append({"course": course.code, "kind": course.kind, "title": course.title,
                         "target": course.target_learners, "learners": learners, "completed": completed,
                         "completion_rate": rate(completed, learners),
                         "progress": rate(completed, course.target_learners), "trusts": per_trust})
    milestone_rows = _per_trust(catalogue, _summed(counts[fad.code], lambda flag: flag == 1))
    for row in milestone_rows:
        row["met"] = row["completion_rate"] >= MILESTONE_SHARE
    learners = sum(t["learners"] for t in milestone_rows)
    completed = sum(t["completed"] for t in milestone_rows)
    share = rate(completed, learners)
    milestone = {"course": fad.code, "cluster": MILESTONE_CLUSTER, "target_share": MILESTONE_SHARE,
                 "learners": learners, "completed": completed, "completion_rate": share,
                 "target": math.ceil(round(MILESTONE_SHARE * learners, 6)), "met": learners > 0 and share >= MILESTONE_SHARE,
                 "trusts": milestone_rows}
    return {"trust": trust, "projects": projects, "milestone": milestone}


# --- learners -------------------------------------------------------------------------------------

def learners(session: Session, catalogue: Catalogue, *, course_code: str | None = None, status: str | None = None,
             cluster: int | None = None, trust: str | None = None, page: int = 1,
             per_page: int | None = 50) -> dict:
    """The learners a report counts, with their status in the course, by surname and name; erased
    learners, who have no name any more, are left out. ``per_page`` None gives every row."""
    course = course_of(catalogue, course_code)
    where = [counted(course), Learner.erased_at.is_(None), *_in_trust(trust)]
    if status is not None:
        if status not in STATUSES:
            raise BadRequest(f"unknown status {status}", field="status", rule=f"one of {', '.join(STATUSES)}")
        where.append(LearnerProgress.status == status if status != "not_started"
                     else or_(LearnerProgress.learner_id.is_(None), LearnerProgress.status == status))
    if cluster is not None:
        where.append(Learner.cluster == cluster)
    total = session.scalar(select(func.count()).select_from(Learner)
                           .outerjoin(LearnerProgress, _with_progress(course)).where(*where))
    order = (Learner.surname, Learner.name, Learner.id)
    stmt = (select(Learner, LearnerProgress).outerjoin(LearnerProgress, _with_progress(course)).where(*where)
            .order_by(*order))
    if per_page is not None:
        # The page's learners first, sorting only the sort keys; then their whole rows. Sorting
        # every whole row up to a deep page (tens of thousands) spills to disk.
        chosen = (select(*order).outerjoin(LearnerProgress, _with_progress(course)).where(*where)
                  .order_by(*order).limit(per_page).offset((page - 1) * per_page).subquery())
        stmt = (select(Learner, LearnerProgress).join(chosen, chosen.c.id == Learner.id)
                .outerjoin(LearnerProgress, _with_progress(course))
                .order_by(chosen.c.surname, chosen.c.name, chosen.c.id))
    rows = [_learner_row(learner, progress) for learner, progress in session.execute(stmt)]
    return {"course": course.code, "status": status, "trust": trust, "cluster": cluster, "page": page,
            "per_page": per_page, "total": total or 0, "rows": rows}


def _learner_row(learner: Learner, progress: LearnerProgress | None) -> dict:
    return {"codice_fiscale": learner.codice_fiscale, "surname": learner.surname, "name": learner.name,
            "trust": learner.trust_code, "category": learner.category_code, "cluster": learner.cluster,
            "profession": learner.profession_code, "active": learner.active,
            "status": progress.status if progress else "not_started",
            "assessment_completed_at": iso_utc(progress.assessment_completed_at) if progress else None,
            "modules_completed": progress.modules_completed if progress else 0,
            "test_attempts": progress.test_attempts if progress else 0,
            "test_best_percent": progress.test_best_percent if progress else None,
            "questionnaire_at": iso_utc(progress.questionnaire_at) if progress else None,
            "hours_attended": progress.hours_attended if progress else 0.0,
            "completed_at": iso_utc(progress.completed_at) if progress else None,
            "last_activity_at": iso_utc(progress.last_activity_at) if progress else None}


def _iso_text(value: str | None) -> str | None:
    return iso_utc(datetime.fromisoformat(value)) if value else None


_PROGRESS_COLUMNS = ("learner_id", "status", "enrolled_at", "last_activity_at", "completed_at",
                     "assessment_completed_at", "objective_scores", "sessions", "hours_attended", "attempts",
                     "test_best_percent", "test_passed_at", "questionnaire_at")
_MODULE_COLUMNS = ("module_number", "level", "launched_at", "completed_at", "seconds")


def learner_progress(session: Session, course: Course, codice_fiscale: str, trust: str | None = None) -> dict:
    """One learner's progress in a course: status, initial assessment, each module with its level,
    completion and time, the final-test attempts, the questionnaire, or the sessions attended.
    ``trust`` limits the search to one trust, as ``courses.operations.get_learner``."""
    from courses.operations import learner_not_found, parse_codice_fiscale

    code = parse_codice_fiscale(codice_fiscale)
    # The learner, progress, assessment and launched modules in one round trip (a row per module):
    # this answers the FAD platform and the offices for every learner page they open.
    progress, modules = LearnerProgress, ModuleProgress
    found = session.execute(
        select(Learner.trust_code, Learner.cluster, Learner.category_code,
               *[getattr(progress, name).label(f"p_{name}") for name in _PROGRESS_COLUMNS],
               Assessment.id.label("a_id"), Assessment.completed_at.label("a_completed_at"),
               Assessment.scores.label("a_scores"), Assessment.levels.label("a_levels"),
               *[getattr(modules, name).label(f"m_{name}") for name in _MODULE_COLUMNS])
        .select_from(Learner)
        .outerjoin(progress, _with_progress(course))
        .outerjoin(Assessment, and_(Assessment.learner_id == Learner.id, Assessment.course_code == course.code))
        .outerjoin(modules, and_(modules.learner_id == Learner.id, modules.course_code == course.code))
        .where(Learner.codice_fiscale == code)).all()
    if not found or (trust is not None and found[0].trust_code != trust):
        raise learner_not_found(code, trust)
    first = found[0]
    started = first.p_learner_id is not None
    body = {"codice_fiscale": code, "trust": first.trust_code, "cluster": first.cluster,
            "category": first.category_code, "course": course.code, "kind": course.kind,
            "status": first.p_status if started else "not_started"}
    for name in ("enrolled_at", "last_activity_at", "completed_at"):
        body[name] = iso_utc(getattr(first, f"p_{name}"))
    if course.kind != "fad":
        attended = first.p_sessions or {}
        body["sessions"] = [{"number": s["number"], "title": s["title"], "hours": s["hours"],
                             "attended_at": _iso_text(attended.get(str(s["number"])))} for s in course.sessions]
        body["hours_attended"] = first.p_hours_attended if started else 0.0
        body["hours"] = course.hours
        return body
    assessed = first.a_id is not None
    levels = first.a_levels if assessed else {}
    body["assessment"] = None if not assessed and first.p_assessment_completed_at is None else {
        "completed_at": iso_utc(first.a_completed_at if assessed else first.p_assessment_completed_at),
        "scores": first.a_scores if assessed else first.p_objective_scores, "levels": levels}
    taken = {row.m_module_number: row for row in found if row.m_module_number is not None}
    rows = []
    for module in sorted(course.modules, key=lambda m: m["number"]):
        state = taken.get(module["number"])
        rows.append({"number": module["number"], "code": module["code"], "title": module["title"],
                     "objective": module["objective"],
                     "level": (state.m_level if state and state.m_level else None) or levels.get(module["code"]),
                     "launched_at": iso_utc(state.m_launched_at) if state else None,
                     "completed_at": iso_utc(state.m_completed_at) if state else None,
                     "seconds": state.m_seconds if state else 0.0})
    body["modules"] = rows
    body["modules_completed"] = sum(1 for m in rows if m["completed_at"])
    body["seconds"] = round(sum(m["seconds"] for m in rows), 2)
    final = course.data["final_test"]
    attempts = [{**a, "at": _iso_text(a["at"])} for a in (first.p_attempts or [])]
    body["final_test"] = {"pass_percent": final["pass_percent"], "max_attempts": final["max_attempts"],
                          "attempts": attempts, "best_percent": first.p_test_best_percent,
                          "passed_at": iso_utc(first.p_test_passed_at)}
    body["questionnaire"] = {"submitted_at": iso_utc(first.p_questionnaire_at)}
    return body


# --- unmatched ------------------------------------------------------------------------------------

def unmatched(session: Session, *, page: int = 1, per_page: int | None = 100) -> dict:
    """The agents whose statements about the courses match no learner (yet)."""
    from courses.projection import unmatched as waiting

    total, rows = waiting(session, limit=per_page, offset=(page - 1) * (per_page or 0))
    return {"page": page, "per_page": per_page, "total": total,
            "rows": [{**r, "first": iso_utc(r["first"]), "last": iso_utc(r["last"])} for r in rows]}
