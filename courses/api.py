"""The /api/v1 endpoints of courses: catalogue, learners, roster import, assessment and path."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, jsonify, request

from courses import importing, operations
from courses.catalogue import Catalogue, default_catalogue
from courses.moodle import MoodleMapping, load_mapping
from courses.schemas import (AssessmentInputSchema, AssessmentOutputSchema, CourseDetailSchema, CourseListSchema,
                             CourseSummarySchema, ElementSchema, ErasedSchema, LearnerDocumentSchema,
                             LearnerPatchSchema, PathQuerySchema, PathSchema, RosterQuerySchema, RosterReportSchema)
from fse_fad.errors import BadRequest, NotFound
from fse_fad.openapi import documented
from fse_fad.web import db, in_transaction, json_body, require_role, visible_trust

blueprint = Blueprint("courses", __name__, url_prefix="/api/v1")

READERS = ("training-office", "fad-platform", "ecm-provider")
ROSTER_UPLOAD = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}


@dataclass(frozen=True)
class CoursesRuntime:
    catalogue: Catalogue
    moodle: MoodleMapping


@blueprint.record_once
def _load_data(state) -> None:
    """Load and validate the catalogue and the Moodle mapping when the app starts: a broken file
    stops the start with an error naming the file and the field."""
    config = state.app.extensions["fse_fad"].config
    catalogue = default_catalogue()
    state.app.extensions["courses"] = CoursesRuntime(catalogue, load_mapping(config.moodle_mapping, catalogue))


def courses_runtime() -> CoursesRuntime:
    return current_app.extensions["courses"]


def _flag(name: str) -> bool:
    value = request.args.get(name, request.form.get(name, ""))
    return value.strip().lower() in ("1", "true", "yes", "on")


# --- catalogue ------------------------------------------------------------------------------------

@blueprint.get("/courses")
@documented("The courses of the catalogue", tags=["courses"], responses={200: ("the courses", CourseListSchema)})
def list_courses():
    require_role(*READERS)
    courses = courses_runtime().catalogue.courses.values()
    return jsonify(courses=CourseSummarySchema(many=True).dump(courses))


@blueprint.get("/courses/<code>")
@documented("A course with its elements: IRI, kind, type, objective, module, level, minutes", tags=["courses"],
            responses={200: ("the course", CourseDetailSchema), 404: ("no such course", "Error")})
def show_course(code: str):
    require_role(*READERS)
    runtime_ = courses_runtime()
    course = runtime_.catalogue.course(code)
    if course is None:
        raise NotFound(f"no course {code}", field="code", rule="a course code of the catalogue")
    body = CourseSummarySchema().dump(course)
    body["description"] = course.data["description"]
    if "audience" in course.data:
        body["audience"] = course.data["audience"]
    elements = ElementSchema(many=True).dump(course.elements)
    for element in elements:
        element["moodle_url"] = runtime_.moodle.launch_url(course.code, element["key"])
    body["elements"] = elements
    return jsonify(body)


# --- learners -------------------------------------------------------------------------------------

@blueprint.get("/learners/<codice_fiscale>")
@documented("A learner", tags=["learners"],
            responses={200: ("the learner", LearnerDocumentSchema), 404: ("no such learner (in the caller's trust)", "Error")})
def show_learner(codice_fiscale: str):
    principal = require_role(*READERS)
    session = db()
    learner = operations.get_learner(session, codice_fiscale, visible_trust(principal))
    return jsonify(operations.learner_document(session, learner))


@blueprint.patch("/learners/<codice_fiscale>")
@documented("Deactivate or reactivate a learner", tags=["learners"], body=LearnerPatchSchema,
            responses={200: ("the learner", LearnerDocumentSchema), 404: ("no such learner", "Error")})
def patch_learner(codice_fiscale: str):
    """Deactivate (``{"active": false}``) or reactivate a learner."""
    principal = require_role("training-office")
    trust = visible_trust(principal)
    active = json_body(LearnerPatchSchema())["active"]

    def work(session):
        learner = operations.set_active(session, codice_fiscale, active, trust)
        return operations.learner_document(session, learner)

    return jsonify(in_transaction(work))


@blueprint.delete("/learners/<codice_fiscale>")
@documented("Erase a learner's personal data (GDPR)", tags=["learners"],
            responses={200: ("erased", ErasedSchema), 404: ("no such learner", "Error")})
def erase_learner(codice_fiscale: str):
    """Erase the learner's personal data (GDPR); counts keep the anonymous row."""
    principal = require_role("training-office")
    trust = visible_trust(principal)
    catalogue = courses_runtime().catalogue
    in_transaction(lambda session: operations.erase_learner(session, codice_fiscale, trust, catalogue=catalogue))
    return jsonify(erased=True)


@blueprint.post("/learners/import")
@documented("Import a roster (CSV or XLSX)", tags=["learners"], query=RosterQuerySchema, body=ROSTER_UPLOAD,
            body_type="multipart/form-data",
            responses={200: ("what was imported, and the skipped rows", RosterReportSchema),
                       400: ("bad rows (line, column, reason) and nothing imported, or a bad file", "Error")})
def import_learners():
    """A roster as ``multipart/form-data`` (field ``file``) or as the raw body (CSV or XLSX).
    ``skip_invalid=true`` imports the good rows of a file with bad ones; ``moodle_site`` names the
    Moodle site (its wwwroot) of the roster's Moodle ids and usernames, default the configured one."""
    principal = require_role("training-office")
    trust = visible_trust(principal)
    upload = request.files.get("file")
    content = upload.read() if upload is not None else request.get_data()
    if not content:
        raise BadRequest("no roster in the request", field="file", rule="a CSV or XLSX file")
    runtime_ = courses_runtime()
    site_name = request.args.get("moodle_site", request.form.get("moodle_site"))
    if site_name:
        site = runtime_.moodle.site(site_name)
        if site is None:
            raise BadRequest(f"no Moodle site {site_name} is configured", field="moodle_site",
                             rule="the wwwroot of a site of FSE_FAD_MOODLE_MAPPING")
    else:
        site = runtime_.moodle.default_site
    skip_invalid = _flag("skip_invalid")
    report = in_transaction(lambda session: importing.import_roster(
        session, content, skip_invalid=skip_invalid, catalogue=runtime_.catalogue,
        moodle_home_page=site.home_page if site else None, allowed_trust=trust), retry_on_conflict=True)
    return jsonify(report.as_dict())


@blueprint.post("/learners/<codice_fiscale>/assessment")
@documented("Record the completed initial assessment", tags=["learners"], body=AssessmentInputSchema,
            responses={201: ("recorded; the levels are in the State document", AssessmentOutputSchema),
                       200: ("the same result was already recorded", AssessmentOutputSchema),
                       409: ("another result is recorded, or the learner is deactivated", "Error")})
def post_assessment(codice_fiscale: str):
    """The completed initial assessment: ``{"answers": {question id: option index}}`` or
    ``{"scores": {objective: 0-100}}``; optional ``course`` (default the FAD course)."""
    principal = require_role("fad-platform")
    trust = visible_trust(principal)
    body = json_body(AssessmentInputSchema())
    catalogue = courses_runtime().catalogue

    def work(session):
        assessment, created = operations.record_assessment(
            session, codice_fiscale, answers=body["answers"], scores=body["scores"], course_code=body["course"],
            catalogue=catalogue, trust=trust)
        return AssessmentOutputSchema().dump(assessment), created

    result, created = in_transaction(work, retry_on_conflict=True)
    return jsonify(result), 201 if created else 200


@blueprint.get("/learners/<codice_fiscale>/path")
@documented("The adaptive path: the level of each module and the activity to launch", tags=["learners"],
            query=PathQuerySchema,
            responses={200: ("the path", PathSchema), 409: ("no initial assessment yet", "Error")})
def learner_path(codice_fiscale: str):
    principal = require_role("fad-platform", "training-office")
    runtime_ = courses_runtime()
    return jsonify(operations.learner_path(db(), codice_fiscale, course_code=request.args.get("course"),
                                           catalogue=runtime_.catalogue, moodle=runtime_.moodle,
                                           trust=visible_trust(principal)))
