"""What the overview shows, each part a report of ``courses.reports`` and the table of
``courses.report_files`` that its file holds: the page and its CSV/XLSX export are built from the
same table, so a download is exactly what is on screen. Plain functions, no Flask."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses import report_files, reports
from courses.catalogue import Catalogue
from courses.models import Learner, LearnerProgress
from courses.report_files import Table
from ecm.operations import credited_learners_query
from fse_fad.i18n import _

# The weekly trend covers at most this many weeks, up to the week of the latest completion.
TREND_WEEKS = 26


@dataclass
class Part:
    """A part of the overview: the report it shows and its table (what the export holds)."""

    name: str
    report: dict
    table: Table


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def trend_weeks(session: Session, catalogue: Catalogue, trust: str | None, today: date) -> list[tuple[date, date]]:
    """The weeks (Monday to Sunday, Italian days) of the trend: up to the week of the latest
    completion of the FAD course (or this week, without completions), at most ``TREND_WEEKS``,
    never before the week of the first completion."""
    course = catalogue.fad_course
    stmt = (select(func.min(LearnerProgress.completed_at), func.max(LearnerProgress.completed_at))
            .join(Learner, Learner.id == LearnerProgress.learner_id)
            .where(LearnerProgress.course_code == course.code, LearnerProgress.status == "completed",
                   *([Learner.trust_code == trust] if trust else [])))
    first, last = session.execute(stmt).one()
    if last is None:
        end = _monday(today)
        start = end
    else:
        end = _monday(_rome_day(last))
        start = max(_monday(_rome_day(first)), end - timedelta(weeks=TREND_WEEKS - 1))
    weeks = []
    monday = start
    while monday <= end:
        weeks.append((monday, monday + timedelta(days=6)))
        monday += timedelta(weeks=1)
    return weeks


def _rome_day(moment: datetime) -> date:
    if moment.tzinfo is None:  # SQLite gives back naive datetimes, stored in UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(reports.ROME).date()


def weekly_trend(session: Session, catalogue: Catalogue, trust: str | None, today: date, locale: str) -> Part:
    """FAD completions per week: each week's count is the completions report for that period."""
    rows = []
    for monday, sunday in trend_weeks(session, catalogue, trust, today):
        report = reports.completions(session, catalogue, group_by="cluster", trust=trust,
                                     when=reports.period(monday, sunday), locale=locale)
        rows.append({"from": monday.isoformat(), "to": sunday.isoformat(), "completed": report["totals"]["completed"]})
    table = Table(_("Completions per week", locale), [_("Week from", locale), _("Week to", locale),
                                                      _("Completed", locale)],
                  [[r["from"], r["to"], r["completed"]] for r in rows])
    return Part("trend", {"course": catalogue.fad_course.code, "trust": trust, "weeks": rows}, table)


def targets(session: Session, catalogue: Catalogue, trust: str | None, today: date, locale: str) -> Part:
    report = reports.targets(session, catalogue, trust=trust)
    return Part("targets", report, report_files.targets_table(report, locale))


def credits_issued(session: Session, course_code: str, trust: str | None) -> dict[str, int]:
    """Per cluster, the learners whose current ECM entry for an event of the course holds credits."""
    stmt = (select(Learner.cluster, func.count()).where(Learner.id.in_(credited_learners_query(course_code)),
                                                         *([Learner.trust_code == trust] if trust else []))
            .group_by(Learner.cluster))
    return {str(cluster): number for cluster, number in session.execute(stmt)}


def funnel(session: Session, catalogue: Catalogue, trust: str | None, today: date, locale: str) -> Part:
    """The completions per cluster and, as the last step, the learners with ECM credits issued: the
    table is the completions report's with one more column, the file the same table."""
    report = reports.completions(session, catalogue, group_by="cluster", trust=trust, locale=locale)
    issued = credits_issued(session, report["course"], trust)
    for row in report["rows"]:
        row["credits_issued"] = issued.get(row["key"], 0)
    report["totals"]["credits_issued"] = sum(issued.values())
    table = report_files.completions_table(report, locale)
    table.headers.append(_("Credits issued", locale))
    for row, source in zip(table.rows, [*report["rows"], report["totals"]]):
        row.append(source["credits_issued"])
    return Part("funnel", report, table)


def by_trust(session: Session, catalogue: Catalogue, trust: str | None, today: date, locale: str) -> Part:
    report = reports.completions(session, catalogue, group_by="trust", trust=trust, locale=locale)
    return Part("trusts", report, report_files.completions_table(report, locale))


def assessment_levels(session: Session, catalogue: Catalogue, trust: str | None, today: date, locale: str) -> Part:
    report = reports.assessments(session, catalogue, group_by="cluster", trust=trust, locale=locale)
    return Part("assessments", report, report_files.assessments_table(report, locale))


def module_levels(session: Session, catalogue: Catalogue, trust: str | None, today: date, locale: str) -> Part:
    report = reports.completions(session, catalogue, group_by="level", trust=trust, locale=locale)
    return Part("levels", report, report_files.completions_table(report, locale))


# The parts in the order of the page; each can be downloaded on its own.
PARTS: dict[str, Callable[..., Part]] = {"targets": targets, "trusts": by_trust, "funnel": funnel,
                                         "assessments": assessment_levels, "levels": module_levels,
                                         "trend": weekly_trend}
