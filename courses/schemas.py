"""Marshmallow schemas: the shape of the data files of ``courses/`` and of the /api/v1 bodies."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import Schema, fields, validate

NonEmpty = validate.Length(min=1)
Code = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", error="letters, digits, '.', '_' or '-'")
LEVELS = ("base", "intermedio", "avanzato")


def _str(validate=NonEmpty, **kwargs):
    return fields.Str(required=True, validate=validate, **kwargs)


def _int(minimum=1, maximum=None, **kwargs):
    return fields.Int(strict=True, required=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


# --- reference data ------------------------------------------------------------------------------

class TrustSchema(Schema):
    code = _str(validate=[NonEmpty, Code])
    name = _str()
    kind = fields.Str(required=True, validate=validate.OneOf(["usl", "aou", "ente", "regione"]))
    # Other names under which rosters name the trust.
    aliases = fields.List(fields.Str(validate=NonEmpty), load_default=list)


class TrustsFileSchema(Schema):
    trusts = fields.List(fields.Nested(TrustSchema), required=True, validate=NonEmpty)


class ClusterSchema(Schema):
    number = _int()
    label = _str()


class CategorySchema(Schema):
    code = _str(validate=[NonEmpty, Code])
    cluster = _int()
    label = _str()
    # Professions (Age.na.s codes) a learner of the category must have, when the category implies one.
    professions = fields.List(fields.Int(strict=True), load_default=list)


class CategoriesFileSchema(Schema):
    clusters = fields.List(fields.Nested(ClusterSchema), required=True, validate=NonEmpty)
    categories = fields.List(fields.Nested(CategorySchema), required=True, validate=NonEmpty)


class DisciplineSchema(Schema):
    code = _int()
    name = _str()


class ProfessionSchema(Schema):
    code = _int()
    name = _str()
    disciplines = fields.List(fields.Nested(DisciplineSchema), required=True, validate=NonEmpty)


class ProfessionsFileSchema(Schema):
    source = fields.Str()
    professions = fields.List(fields.Nested(ProfessionSchema), required=True, validate=NonEmpty)


# --- catalogue ------------------------------------------------------------------------------------

class ObjectiveSchema(Schema):
    code = _str(validate=[NonEmpty, Code])
    number = _int()
    title = _str()
    description = _str()


class QuestionSchema(Schema):
    id = _str(validate=[NonEmpty, Code])
    text = _str()
    options = fields.List(fields.Str(validate=NonEmpty), required=True)
    correct = fields.Int(strict=True, required=True)
    explanation = _str()


class AssessmentQuestionSchema(QuestionSchema):
    objective = _str()


class FinalQuestionSchema(QuestionSchema):
    module = _int()


class AssessmentSchema(Schema):
    code = _str(validate=[NonEmpty, Code])
    title = _str()
    minutes = _int()
    questions = fields.List(fields.Nested(AssessmentQuestionSchema), required=True, validate=NonEmpty)


class LevelSchema(Schema):
    title = _str()
    outline = fields.List(fields.Str(validate=NonEmpty), required=True, validate=NonEmpty)


class ModuleSchema(Schema):
    number = _int()
    code = _str(validate=[NonEmpty, Code])
    objective = _str()
    title = _str()
    minutes = _int()
    levels = fields.Dict(keys=fields.Str(validate=validate.OneOf(LEVELS)), values=fields.Nested(LevelSchema),
                         required=True)


class FinalTestSchema(Schema):
    code = _str(validate=[NonEmpty, Code])
    title = _str()
    pass_percent = _int(maximum=100)
    max_attempts = _int()
    questions = fields.List(fields.Nested(FinalQuestionSchema), required=True, validate=NonEmpty)


class QuestionnaireItemSchema(Schema):
    id = _str(validate=[NonEmpty, Code])
    text = _str()
    type = fields.Str(required=True, validate=validate.OneOf(["likert5", "text", "yesno"]))


class QuestionnaireSchema(Schema):
    code = _str(validate=[NonEmpty, Code])
    title = _str()
    items = fields.List(fields.Nested(QuestionnaireItemSchema), required=True, validate=NonEmpty)


class SessionSchema(Schema):
    number = _int()
    title = _str()
    hours = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    outline = fields.List(fields.Str(validate=NonEmpty), required=True, validate=NonEmpty)


class CourseSchema(Schema):
    code = _str(validate=[NonEmpty, Code])
    kind = fields.Str(required=True, validate=validate.OneOf(["fad", "fsc", "res"]))
    iri = fields.Url(required=True, schemes={"http", "https"}, require_tld=True)
    title = _str()
    description = _str()
    hours = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    target_learners = _int()
    audience = fields.Str(validate=NonEmpty)
    # FAD course
    objectives = fields.List(fields.Nested(ObjectiveSchema))
    assessment = fields.Nested(AssessmentSchema)
    modules = fields.List(fields.Nested(ModuleSchema))
    final_test = fields.Nested(FinalTestSchema)
    questionnaire = fields.Nested(QuestionnaireSchema)
    # FSC and RES courses
    sessions = fields.List(fields.Nested(SessionSchema))


class ThresholdsSchema(Schema):
    """The least score (percent, 0-100) that gives each level above ``base``."""

    intermedio = fields.Float(required=True, allow_nan=False, validate=validate.Range(0, 100))
    avanzato = fields.Float(required=True, allow_nan=False, validate=validate.Range(0, 100))


class ClusterRulesSchema(Schema):
    thresholds = fields.Nested(ThresholdsSchema)
    objectives = fields.Dict(keys=fields.Str(), values=fields.Nested(ThresholdsSchema), load_default=dict)
    note = fields.Str()


class PathRulesSchema(Schema):
    course = _str()
    description = fields.Str()
    levels = fields.List(fields.Str(), required=True)
    default = fields.Nested(ThresholdsSchema, required=True)
    clusters = fields.Dict(keys=fields.Str(), values=fields.Nested(ClusterRulesSchema), load_default=dict)


# --- Moodle mapping -------------------------------------------------------------------------------

class MoodleSiteSchema(Schema):
    wwwroot = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    default = fields.Bool(load_default=False)
    # course code -> {Moodle path relative to wwwroot: catalogue element key}
    courses = fields.Dict(keys=fields.Str(), values=fields.Dict(keys=fields.Str(), values=fields.Str()),
                          required=True)


class MoodleMappingSchema(Schema):
    sites = fields.List(fields.Nested(MoodleSiteSchema), required=True)


# --- API bodies -----------------------------------------------------------------------------------

class AssessmentInputSchema(Schema):
    course = fields.Str(load_default=None)
    answers = fields.Dict(keys=fields.Str(), values=fields.Int(strict=True), load_default=None)
    scores = fields.Dict(keys=fields.Str(), values=fields.Float(allow_nan=False, validate=validate.Range(0, 100)),
                         load_default=None)


class LearnerPatchSchema(Schema):
    active = fields.Bool(required=True, truthy={True}, falsy={False})


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z``; SQLite hands back naive datetimes, which are UTC here."""
    if value is None:
        return None
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.isoformat().replace("+00:00", "Z")


class UTCDateTime(fields.Field):
    def _serialize(self, value, attr, obj, **kwargs):
        return iso_utc(value)


class MembershipSchema(Schema):
    trust = fields.Str(attribute="trust_code")
    since = UTCDateTime()
    until = UTCDateTime(allow_none=True)


class AssessmentOutputSchema(Schema):
    course = fields.Str(attribute="course_code")
    cluster = fields.Int()
    scores = fields.Dict()
    levels = fields.Dict()
    completed_at = UTCDateTime()


class LearnerSchema(Schema):
    codice_fiscale = fields.Str()
    surname = fields.Str()
    name = fields.Str()
    email = fields.Str()
    trust = fields.Str(attribute="trust_code")
    category = fields.Str(attribute="category_code")
    cluster = fields.Int()
    profession = fields.Int(attribute="profession_code")
    disciplines = fields.List(fields.Int())
    ecm_eligible = fields.Bool()
    employment = fields.Str()
    active = fields.Bool()
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    deactivated_at = UTCDateTime()


class ElementSchema(Schema):
    key = fields.Str()
    iri = fields.Str()
    kind = fields.Str()
    type = fields.Str()
    title = fields.Str()
    objective = fields.Str()
    module = fields.Int()
    level = fields.Str()
    minutes = fields.Int()


class CourseSummarySchema(Schema):
    code = fields.Str()
    kind = fields.Str()
    iri = fields.Str()
    title = fields.Str()
    hours = fields.Float()
    target_learners = fields.Int()


class CourseListSchema(Schema):
    courses = fields.List(fields.Nested(CourseSummarySchema))


class CourseElementSchema(ElementSchema):
    moodle_url = fields.Str(allow_none=True, metadata={"description": "launch URL on the default Moodle site"})


class CourseDetailSchema(CourseSummarySchema):
    description = fields.Str()
    audience = fields.Str()
    elements = fields.List(fields.Nested(CourseElementSchema))


class LearnerDocumentSchema(LearnerSchema):
    identities = fields.List(fields.Dict(), metadata={"description": "the xAPI agents that name the learner"})
    trust_history = fields.List(fields.Nested(MembershipSchema))
    assessments = fields.List(fields.Nested(AssessmentOutputSchema))


class RosterProblemSchema(Schema):
    line = fields.Int(required=True)
    column = fields.Str(required=True)
    reason = fields.Str(required=True)
    field = fields.Str(required=True, metadata={"description": "= column"})
    rule = fields.Str(required=True, metadata={"description": "= reason"})


class RosterReportSchema(Schema):
    rows = fields.Int()
    created = fields.Int()
    updated = fields.Int()
    unchanged = fields.Int()
    skipped = fields.Int()
    errors = fields.List(fields.Nested(RosterProblemSchema))


class RosterQuerySchema(Schema):
    skip_invalid = fields.Bool(metadata={"description": "import the valid rows of a file with bad rows"})
    moodle_site = fields.Str(metadata={"description": "wwwroot of the Moodle site of the roster's Moodle ids"})


class PathQuerySchema(Schema):
    course = fields.Str(metadata={"description": "default: the FAD course"})


class PathActivitySchema(Schema):
    iri = fields.Str()
    type = fields.Str()
    title = fields.Str()
    moodle_url = fields.Str(allow_none=True)


class PathModuleSchema(Schema):
    number = fields.Int()
    code = fields.Str()
    objective = fields.Str()
    title = fields.Str()
    level = fields.Str(validate=validate.OneOf(LEVELS))
    minutes = fields.Int()
    activity = fields.Nested(PathActivitySchema)


class PathSchema(Schema):
    codice_fiscale = fields.Str()
    course = fields.Str()
    course_iri = fields.Str()
    cluster = fields.Int()
    assessed_at = fields.Str()
    scores = fields.Dict(keys=fields.Str(), values=fields.Float())
    modules = fields.List(fields.Nested(PathModuleSchema))
    state = fields.Dict(metadata={"description": "activityId and stateId of the levels State document"})


class ErasedSchema(Schema):
    erased = fields.Bool()
