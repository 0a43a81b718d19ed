"""The /api/v1 reports for training offices, and a learner's progress.

JSON by default; ``format=csv`` or ``format=xlsx`` gives the same report as a file (Italian
headers and labels, English with ``lang=en`` or ``Accept-Language: en``). Access: ``training-office``
and ``admin``. A trust's training office sees only its trust in every report and export: the
reports are limited to it, a ``trust`` filter naming another trust is refused (403), another
trust's learner is not found (404) and the unmatched agents, which belong to no trust, are refused
(403). A regional office and admin see every trust and may filter by one.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request
from marshmallow import EXCLUDE, Schema, fields, validate

from courses import report_files, reports
from courses.api import courses_runtime
from courses.progress import STATUSES
from fse_fad.errors import BadRequest, Forbidden
from fse_fad.i18n import DEFAULT_LOCALE, LOCALES, _
from fse_fad.openapi import documented
from fse_fad.web import db, query_args, require_role, visible_trust

blueprint = Blueprint("reports", __name__, url_prefix="/api/v1")

READERS = ("training-office",)
TAGS = ["reports"]
MAX_PER_PAGE = 500


# --- query parameters -----------------------------------------------------------------------------

class _Query(Schema):
    class Meta:
        unknown = EXCLUDE


class ReportQuerySchema(_Query):
    format = fields.Str(validate=validate.OneOf(("json", *report_files.FORMATS)),
                        metadata={"description": "json (default), csv (UTF-8 with BOM, ';') or xlsx"})
    lang = fields.Str(validate=validate.OneOf(LOCALES),
                      metadata={"description": "language of the file's headers and labels; default Italian, "
                                               "or the Accept-Language header"})
    trust = fields.Str(metadata={"description": "one trust (code or name); a trust's office may name only its own"})


class CourseQueryMixin(Schema):
    course = fields.Str(metadata={"description": "a course code; default the FAD course"})


class CompletionsQuerySchema(ReportQuerySchema, CourseQueryMixin):
    group_by = fields.Str(required=True, validate=validate.OneOf(reports.GROUPS))
    from_ = fields.Date(data_key="from", metadata={"description": "first day (YYYY-MM-DD, Italian time) of the "
                                                                 "completions counted"})
    to = fields.Date(metadata={"description": "last day, included"})


class AssessmentsQuerySchema(ReportQuerySchema, CourseQueryMixin):
    group_by = fields.Str(required=True, validate=validate.OneOf(reports.ASSESSMENT_GROUPS))


class PageQueryMixin(Schema):
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Int(validate=validate.Range(min=1, max=MAX_PER_PAGE),
                          metadata={"description": f"rows per page (at most {MAX_PER_PAGE}); files hold every row"})


class LearnersQuerySchema(ReportQuerySchema, CourseQueryMixin, PageQueryMixin):
    status = fields.Str(validate=validate.OneOf(STATUSES))
    cluster = fields.Int(validate=validate.Range(min=1, max=3))


class UnmatchedQuerySchema(ReportQuerySchema, PageQueryMixin):
    pass


class ProgressQuerySchema(_Query, CourseQueryMixin):
    pass


# --- response bodies (for the OpenAPI description) ------------------------------------------------

class CompletionCountsSchema(Schema):
    learners = fields.Int()
    assessed = fields.Int(metadata={"description": "initial assessment completed"})
    in_progress = fields.Int(metadata={"description": "status in_progress, test_failed or attempts_exhausted"})
    completed = fields.Int(metadata={"description": "course completed (within from..to, when given)"})
    completion_rate = fields.Float(metadata={"description": "completed / learners, 4 decimals; 0 without learners"})


class CompletionRowSchema(CompletionCountsSchema):
    key = fields.Str()
    label = fields.Str()


class CompletionsReportSchema(Schema):
    group_by = fields.Str()
    course = fields.Str()
    from_ = fields.Date(data_key="from", allow_none=True)
    to = fields.Date(allow_none=True)
    rows = fields.List(fields.Nested(CompletionRowSchema))
    totals = fields.Nested(CompletionCountsSchema)


class ObjectiveCellSchema(Schema):
    objective = fields.Str()
    objective_title = fields.Str()
    assessed = fields.Int()
    levels = fields.Dict(keys=fields.Str(), values=fields.Int(), metadata={"description": "learners per level"})
    mean_score = fields.Float(allow_none=True)
    distribution = fields.List(fields.Int(), metadata={"description": "learners per score band (see bands)"})


class AssessmentRowSchema(ObjectiveCellSchema):
    key = fields.Str()
    label = fields.Str()


class AssessmentsReportSchema(Schema):
    group_by = fields.Str()
    course = fields.Str()
    levels = fields.List(fields.Str())
    bands = fields.List(fields.List(fields.Int()), metadata={"description": "[from, to) in points; the last includes 100"})
    rows = fields.List(fields.Nested(AssessmentRowSchema))
    totals = fields.List(fields.Nested(ObjectiveCellSchema))


class CompletedSchema(Schema):
    learners = fields.Int()
    completed = fields.Int()
    completion_rate = fields.Float(metadata={"description": "completed / learners"})


class TrustProgressSchema(CompletedSchema):
    key = fields.Str()
    label = fields.Str()
    met = fields.Bool(metadata={"description": "milestone only: completion_rate >= target_share"})


class TargetSchema(CompletedSchema):
    course = fields.Str()
    trusts = fields.List(fields.Nested(TrustProgressSchema))


class ProjectSchema(TargetSchema):
    kind = fields.Str()
    title = fields.Str()
    target = fields.Int(metadata={"description": "the catalogue's target_learners"})
    progress = fields.Float(metadata={"description": "completed / target"})


class MilestoneSchema(TargetSchema):
    cluster = fields.Int()
    target_share = fields.Float()
    target = fields.Int(metadata={"description": "completions needed: target_share × learners, rounded up"})
    met = fields.Bool()


class TargetsReportSchema(Schema):
    trust = fields.Str(allow_none=True)
    projects = fields.List(fields.Nested(ProjectSchema))
    milestone = fields.Nested(MilestoneSchema)


class LearnerRowSchema(Schema):
    codice_fiscale = fields.Str()
    surname = fields.Str()
    name = fields.Str()
    trust = fields.Str()
    category = fields.Str()
    cluster = fields.Int()
    profession = fields.Int(allow_none=True)
    active = fields.Bool()
    status = fields.Str(validate=validate.OneOf(STATUSES))
    assessment_completed_at = fields.Str(allow_none=True)
    modules_completed = fields.Int()
    test_attempts = fields.Int()
    test_best_percent = fields.Float(allow_none=True)
    questionnaire_at = fields.Str(allow_none=True)
    hours_attended = fields.Float()
    completed_at = fields.Str(allow_none=True)
    last_activity_at = fields.Str(allow_none=True)


class PageSchema(Schema):
    page = fields.Int()
    per_page = fields.Int()
    total = fields.Int()


class LearnersReportSchema(PageSchema):
    course = fields.Str()
    status = fields.Str(allow_none=True)
    trust = fields.Str(allow_none=True)
    cluster = fields.Int(allow_none=True)
    rows = fields.List(fields.Nested(LearnerRowSchema))


class UnmatchedRowSchema(Schema):
    agent = fields.Str(metadata={"description": "the agent's key: mbox:..., account:homePage|name, ..."})
    statements = fields.Int()
    first = fields.Str()
    last = fields.Str()


class UnmatchedReportSchema(PageSchema):
    rows = fields.List(fields.Nested(UnmatchedRowSchema))


class ModuleStateSchema(Schema):
    number = fields.Int()
    code = fields.Str()
    title = fields.Str()
    objective = fields.Str()
    level = fields.Str(allow_none=True)
    launched_at = fields.Str(allow_none=True)
    completed_at = fields.Str(allow_none=True)
    seconds = fields.Float()


class AttemptSchema(Schema):
    number = fields.Int()
    percent = fields.Float(allow_none=True)
    passed = fields.Bool()
    at = fields.Str()
    statement_id = fields.Str()


class FinalTestStateSchema(Schema):
    pass_percent = fields.Int()
    max_attempts = fields.Int()
    attempts = fields.List(fields.Nested(AttemptSchema))
    best_percent = fields.Float(allow_none=True)
    passed_at = fields.Str(allow_none=True)


class SessionStateSchema(Schema):
    number = fields.Int()
    title = fields.Str()
    hours = fields.Float()
    attended_at = fields.Str(allow_none=True)


class LearnerProgressSchema(Schema):
    codice_fiscale = fields.Str()
    trust = fields.Str()
    cluster = fields.Int()
    category = fields.Str()
    course = fields.Str()
    kind = fields.Str()
    status = fields.Str(validate=validate.OneOf(STATUSES))
    enrolled_at = fields.Str(allow_none=True)
    last_activity_at = fields.Str(allow_none=True)
    completed_at = fields.Str(allow_none=True)
    assessment = fields.Dict(allow_none=True, metadata={"description": "FAD: completed_at, scores, levels"})
    modules = fields.List(fields.Nested(ModuleStateSchema), metadata={"description": "FAD"})
    modules_completed = fields.Int()
    seconds = fields.Float(metadata={"description": "FAD: time spent in the modules"})
    final_test = fields.Nested(FinalTestStateSchema, metadata={"description": "FAD"})
    questionnaire = fields.Dict(metadata={"description": "FAD: submitted_at"})
    sessions = fields.List(fields.Nested(SessionStateSchema), metadata={"description": "FSC and RES"})
    hours_attended = fields.Float()
    hours = fields.Float()


# --- helpers --------------------------------------------------------------------------------------

def _locale(args: dict) -> str:
    return args.get("lang") or request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE


def _trust(principal, requested: str | None) -> str | None:
    """The trust a report is limited to: the caller's own for a trust's office; the one asked for,
    if any, for the others."""
    return reports.report_trust(courses_runtime().catalogue, visible_trust(principal), requested)


def _reader(schema: Schema) -> tuple[dict, str | None]:
    """The query parameters and the trust of the report, once the caller may read reports."""
    principal = require_role(*READERS)
    args = query_args(schema)
    return args, _trust(principal, args.get("trust"))


def _answer(report: dict, args: dict, table, *name_parts):
    """The report as JSON, or as the file ``format`` asks for."""
    fmt = args.get("format", "json")
    if fmt == "json":
        return jsonify(report)
    locale = _locale(args)
    content = report_files.render(table(report, locale), fmt, locale)
    stem = "-".join(str(p) for p in name_parts if p)
    return Response(content, mimetype=report_files.MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'})


# --- endpoints ------------------------------------------------------------------------------------

@blueprint.get("/reports/completions")
@documented("Learners, assessed, in progress and completed per group, with totals", tags=TAGS,
            query=CompletionsQuerySchema,
            responses={200: ("the report (or its CSV / XLSX file)", CompletionsReportSchema)})
def completions_report():
    """Groups: cluster, trust, category, profession (learners counted once each), module or level
    (each module a learner launched counts once). Definitions in docs/reports.md."""
    args, trust = _reader(CompletionsQuerySchema())
    report = reports.completions(db(), courses_runtime().catalogue, group_by=args["group_by"],
                                 course_code=args.get("course"), trust=trust,
                                 when=reports.period(args.get("from_"), args.get("to")), locale=_locale(args))
    return _answer(report, args, report_files.completions_table, _("completions", _locale(args)),
                   report["group_by"], report["course"], trust)


@blueprint.get("/reports/assessments")
@documented("Initial assessments per group and objective: learners per level and score distribution", tags=TAGS,
            query=AssessmentsQuerySchema, responses={200: ("the report (or its file)", AssessmentsReportSchema)})
def assessments_report():
    args, trust = _reader(AssessmentsQuerySchema())
    report = reports.assessments(db(), courses_runtime().catalogue, group_by=args["group_by"],
                                 course_code=args.get("course"), trust=trust, locale=_locale(args))
    return _answer(report, args, report_files.assessments_table, _("assessments", _locale(args)),
                   report["group_by"], report["course"], trust)


@blueprint.get("/reports/targets")
@documented("Each project against its target, overall and per trust, and the MMG/PLS milestone (85%)", tags=TAGS,
            query=ReportQuerySchema, responses={200: ("the report (or its file)", TargetsReportSchema)})
def targets_report():
    args, trust = _reader(ReportQuerySchema())
    report = reports.targets(db(), courses_runtime().catalogue, trust=trust)
    return _answer(report, args, report_files.targets_table, _("targets", _locale(args)), trust)


@blueprint.get("/reports/learners")
@documented("The learners with their status in a course, a page at a time (files: every row)", tags=TAGS,
            query=LearnersQuerySchema, responses={200: ("a page of learners (or the file)", LearnersReportSchema)})
def learners_report():
    args, trust = _reader(LearnersQuerySchema())
    every_row = args.get("format", "json") != "json"
    report = reports.learners(db(), courses_runtime().catalogue, course_code=args.get("course"),
                              status=args.get("status"), cluster=args.get("cluster"), trust=trust,
                              page=1 if every_row else args["page"],
                              per_page=None if every_row else args.get("per_page", 50))
    return _answer(report, args, report_files.learners_table, _("learners", _locale(args)), report["course"],
                   report["status"], trust)


@blueprint.get("/reports/unmatched")
@documented("The agents whose statements match no learner (admin and regional offices)", tags=TAGS,
            query=UnmatchedQuerySchema, responses={200: ("a page of agents (or the file)", UnmatchedReportSchema)})
def unmatched_report():
    """The agents of the statements about the courses that match no learner of the roster: they
    belong to no trust, so a trust's training office is refused."""
    principal = require_role(*READERS)
    args = query_args(UnmatchedQuerySchema())
    if visible_trust(principal) is not None:
        raise Forbidden("the unmatched agents belong to no trust", field="Authorization",
                        rule="an admin or regional training office client")
    if args.get("trust"):
        raise BadRequest("the unmatched agents belong to no trust", field="trust", rule="omitted")
    every_row = args.get("format", "json") != "json"
    report = reports.unmatched(db(), page=1 if every_row else args["page"],
                               per_page=None if every_row else args.get("per_page", 100))
    return _answer(report, args, report_files.unmatched_table, _("unmatched", _locale(args)))


@blueprint.get("/learners/<codice_fiscale>/progress")
@documented("A learner's progress in a course: modules with level, completion and time, attempts, questionnaire",
            tags=["learners"], query=ProgressQuerySchema,
            responses={200: ("the progress", LearnerProgressSchema),
                       404: ("no such learner (in the caller's trust)", "Error")})
def learner_progress(codice_fiscale: str):
    principal = require_role(*READERS)
    args = query_args(ProgressQuerySchema())
    course = reports.course_of(courses_runtime().catalogue, args.get("course"))
    return jsonify(reports.learner_progress(db(), course, codice_fiscale, visible_trust(principal)))
