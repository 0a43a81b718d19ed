"""Charts of the overview as SVG drawn on the server by pygal: nothing is fetched by the browser
(pygal's tooltip script, which it would load from elsewhere, is switched off) and every chart's
numbers are also in the table beside it, for screen readers and for copying."""
from __future__ import annotations

import re

import pygal
from markupsafe import Markup
from pygal.style import Style

from fse_fad.i18n import _

# Okabe-Ito: told apart by people with the common colour-vision deficiencies, dark enough on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1a1a1a", foreground_strong="#000000",
              foreground_subtle="#595959", colors=PALETTE, font_family="system-ui, sans-serif",
              label_font_size=13, major_label_font_size=13, value_font_size=12, legend_font_size=13,
              title_font_size=15, tooltip_font_size=12)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# Namespace names of the SVG root: an HTML page does not need them inline.
_NAMESPACES = re.compile(r'\s+xmlns(?::xlink)?="[^"]*"')


def _chart(kind, title: str, **options):
    chart = kind(style=STYLE, js=[], disable_xml_declaration=True, width=760, height=360, explicit_size=False,
                 legend_at_bottom=True, truncate_legend=40, truncate_label=36, print_values=False,
                 show_y_guides=True, **options)
    chart.title = title
    return chart


def svg(chart, label: str) -> Markup:
    """The chart as inline SVG, named for assistive technology, pointing to the table."""
    drawn = _NAMESPACES.sub("", _COMMENT.sub("", chart.render(is_unicode=True)), count=2)
    drawn = drawn.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    return Markup(drawn)


def _percent(value: float) -> float:
    return round(value * 100, 1)


def targets_chart(report: dict, locale: str) -> Markup:
    title = _("Progress towards the target (%)", locale)
    chart = _chart(pygal.Bar, title, range=(0, 100))
    # Course codes: the titles are long, and in the table.
    chart.x_labels = [p["course"] for p in report["projects"]]
    chart.add(_("Completed / target", locale), [_percent(p["progress"]) for p in report["projects"]])
    chart.add(_("Completed / learners", locale), [_percent(p["completion_rate"]) for p in report["projects"]])
    return svg(chart, title + " — " + _("the numbers are in the table below", locale))


def funnel_chart(report: dict, locale: str) -> Markup:
    title = _("Learners per stage and cluster", locale)
    chart = _chart(pygal.Bar, title)
    chart.x_labels = [_("Enrolled", locale), _("Assessed", locale), _("In progress", locale), _("Completed", locale),
                      _("Credits issued", locale)]
    for row in report["rows"]:
        chart.add(_("Cluster %(cluster)s", locale, cluster=row["key"]),
                  [row["learners"], row["assessed"], row["in_progress"], row["completed"], row["credits_issued"]])
    return svg(chart, title + " — " + _("the numbers are in the table below", locale))


def trusts_chart(report: dict, locale: str) -> Markup:
    title = _("Completion rate per trust (%)", locale)
    chart = _chart(pygal.Bar, title, range=(0, 100), x_label_rotation=20)
    chart.x_labels = [row["key"] for row in report["rows"]]
    chart.add(_("Completion rate", locale), [_percent(row["completion_rate"]) for row in report["rows"]])
    return svg(chart, title + " — " + _("the numbers are in the table below", locale))


def assessments_chart(report: dict, locale: str) -> Markup:
    title = _("Initial assessment: learners per level, cluster and objective", locale)
    chart = _chart(pygal.StackedBar, title, x_label_rotation=30)
    chart.x_labels = [f"{row['key']} · {row['objective_title']}" for row in report["rows"]]
    for level in report["levels"]:
        chart.add(level.capitalize(), [row["levels"].get(level, 0) for row in report["rows"]])
    return svg(chart, title + " — " + _("the numbers are in the table below", locale))


def levels_chart(report: dict, locale: str) -> Markup:
    title = _("Modules launched and completed per level", locale)
    chart = _chart(pygal.Bar, title)
    chart.x_labels = [row["label"] for row in report["rows"]]
    chart.add(_("Launched", locale), [row["learners"] for row in report["rows"]])
    chart.add(_("Completed", locale), [row["completed"] for row in report["rows"]])
    return svg(chart, title + " — " + _("the numbers are in the table below", locale))


def trend_chart(report: dict, locale: str) -> Markup:
    title = _("Course completions per week", locale)
    chart = _chart(pygal.Line, title, x_label_rotation=30, show_minor_x_labels=False, fill=False)
    chart.x_labels = [week["from"] for week in report["weeks"]]
    chart.x_labels_major_every = max(1, len(report["weeks"]) // 8)
    chart.add(_("Completed", locale), [week["completed"] for week in report["weeks"]])
    return svg(chart, title + " — " + _("the numbers are in the table below", locale))


def milestone_chart(milestone: dict, locale: str) -> Markup:
    share = round(milestone["target_share"] * 100)
    title = _("MMG/PLS who completed the FAD course, per trust (%%; milestone %(share)d%%)", locale, share=share)
    chart = _chart(pygal.Bar, title, range=(0, 100), x_label_rotation=20)
    chart.x_labels = [t["key"] for t in milestone["trusts"]]
    chart.add(_("Completed", locale), [_percent(t["completion_rate"]) for t in milestone["trusts"]])
    chart.add(_("Milestone", locale), [share for _t in milestone["trusts"]])
    return svg(chart, title + " — " + _("the numbers are in the table below", locale))


CHARTS = {"targets": targets_chart, "trusts": trusts_chart, "funnel": funnel_chart,
          "assessments": assessments_chart, "levels": levels_chart, "trend": trend_chart}
