"""The reports as CSV and XLSX files, for spreadsheets: column headers and labels in Italian (or
English), CSV in UTF-8 with a BOM and ``;`` between cells (what Italian Excel opens), decimal
comma in Italian. A cell that a spreadsheet would read as a formula (beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return) is neutralised with a leading ``'``.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from courses.reports import SCORE_BANDS
from fse_fad.i18n import _

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list] = field(default_factory=list)


def neutral(value):
    """A text cell that cannot run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value, locale: str, decimal_comma: bool):
    if isinstance(value, bool):
        return _("yes", locale) if value else _("no", locale)
    if isinstance(value, float) and decimal_comma:
        return repr(value).replace(".", ",")
    return neutral(value)


def to_csv(table: Table, locale: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutral(h) for h in table.headers])
    comma = locale == "it"
    for row in table.rows:
        writer.writerow(["" if v is None else _cell(v, locale, comma) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table, locale: str) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.title[:31])
    sheet.append([neutral(h) for h in table.headers])
    for row in table.rows:
        sheet.append([_cell(v, locale, False) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def render(table: Table, fmt: str, locale: str) -> bytes:
    return to_csv(table, locale) if fmt == "csv" else to_xlsx(table, locale)


# --- the tables of the reports --------------------------------------------------------------------

def _group_header(group_by: str, locale: str) -> str:
    return {"cluster": _("Cluster", locale), "trust": _("Trust", locale), "category": _("Category", locale),
            "profession": _("Profession", locale), "module": _("Module", locale),
            "level": _("Level", locale)}[group_by]


def status_label(status: str, locale: str) -> str:
    return {"not_started": _("not started", locale), "assessed": _("assessed", locale),
            "in_progress": _("in progress", locale), "completed": _("completed", locale),
            "test_failed": _("test failed", locale),
            "attempts_exhausted": _("attempts exhausted", locale)}.get(status, status)


def completions_table(report: dict, locale: str) -> Table:
    counts = ("learners", "assessed", "in_progress", "completed", "completion_rate")
    headers = [_group_header(report["group_by"], locale), _("Description", locale), _("Learners", locale),
               _("Assessed", locale), _("In progress", locale), _("Completed", locale),
               _("Completion rate", locale)]
    rows = [[r["key"], r["label"], *(r[c] for c in counts)] for r in report["rows"]]
    rows.append(["", _("Total", locale), *(report["totals"][c] for c in counts)])
    return Table(_("Completions", locale), headers, rows)


def assessments_table(report: dict, locale: str) -> Table:
    levels = report["levels"]
    headers = [_group_header(report["group_by"], locale), _("Description", locale), _("Objective", locale),
               _("Assessed", locale), *(_("Level: %(level)s", locale, level=level) for level in levels),
               _("Mean score", locale),
               *(_("Score %(low)d-%(high)d", locale, low=low, high=high) for low, high in SCORE_BANDS)]

    def cells(cell: dict) -> list:
        return [cell["objective_title"], cell["assessed"], *(cell["levels"].get(level, 0) for level in levels),
                cell["mean_score"], *cell["distribution"]]

    rows = [[r["key"], r["label"], *cells(r)] for r in report["rows"]]
    rows += [["", _("Total", locale), *cells(t)] for t in report["totals"]]
    return Table(_("Assessments", locale), headers, rows)


def targets_table(report: dict, locale: str) -> Table:
    headers = [_("Project", locale), _("Title", locale), _("Trust", locale), _("Description", locale),
               _("Target", locale), _("Learners", locale), _("Completed", locale), _("Completion rate", locale),
               _("Progress towards the target", locale)]
    everyone = _("All trusts", locale) if report["trust"] is None else report["trust"]
    rows = []
    for project in report["projects"]:
        rows.append([project["course"], project["title"], "", everyone, project["target"], project["learners"],
                     project["completed"], project["completion_rate"], project["progress"]])
        rows += [[project["course"], project["title"], t["key"], t["label"], None, t["learners"], t["completed"],
                  t["completion_rate"], None] for t in project["trusts"]]
    milestone = report["milestone"]
    title = _("MMG/PLS who completed the FAD course (milestone: %(share)d%%)", locale,
              share=round(milestone["target_share"] * 100))
    progress = round(milestone["completed"] / milestone["target"], 4) if milestone["target"] else 0.0
    rows.append([milestone["course"], title, "", everyone, milestone["target"], milestone["learners"],
                 milestone["completed"], milestone["completion_rate"], progress])
    rows += [[milestone["course"], title, t["key"], t["label"], None, t["learners"], t["completed"],
              t["completion_rate"], None] for t in milestone["trusts"]]
    return Table(_("Targets", locale), headers, rows)


def learners_table(report: dict, locale: str) -> Table:
    headers = [_("Codice fiscale", locale), _("Surname", locale), _("Name", locale), _("Trust", locale),
               _("Category", locale), _("Cluster", locale), _("Profession", locale), _("Active", locale),
               _("Status", locale), _("Assessment completed", locale), _("Modules completed", locale),
               _("Test attempts", locale), _("Best test score", locale), _("Questionnaire submitted", locale),
               _("Hours attended", locale), _("Course completed", locale), _("Last activity", locale)]
    rows = [[r["codice_fiscale"], r["surname"], r["name"], r["trust"], r["category"], r["cluster"], r["profession"],
             r["active"], status_label(r["status"], locale), r["assessment_completed_at"], r["modules_completed"],
             r["test_attempts"], r["test_best_percent"], r["questionnaire_at"], r["hours_attended"],
             r["completed_at"], r["last_activity_at"]] for r in report["rows"]]
    return Table(_("Learners", locale), headers, rows)


def unmatched_table(report: dict, locale: str) -> Table:
    headers = [_("Agent", locale), _("Statements", locale), _("First", locale), _("Last", locale)]
    rows = [[r["agent"], r["statements"], r["first"], r["last"]] for r in report["rows"]]
    return Table(_("Unmatched", locale), headers, rows)
