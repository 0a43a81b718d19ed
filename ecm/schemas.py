"""The ECM API's bodies: events in and out, issuing results, credit entries, verification."""
from __future__ import annotations

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from ecm.rules import EVENT_TYPES, TRAINING_FORMS

ALL = "all"


# cod_evento: what an event code may hold (so a code that cannot exist is never looked up).
EVENT_CODE_PATTERN = r"^[0-9A-Za-z_.\-]{1,20}$"


def is_event_code(value: str) -> bool:
    """The whole value, a final newline included, matches (``$`` alone would let one through)."""
    return re.fullmatch(EVENT_CODE_PATTERN, value) is not None


class ProfessionsField(fields.Field):
    """``"all"`` (every health profession with every discipline), or ``{"14": [85], "1": [1, 3]}``,
    or ``[{"profession": 14, "disciplines": [85]}]``; loaded as ``{14: [85]}``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value == ALL:
            return ALL
        if isinstance(value, list):
            try:
                value = {item["profession"]: item["disciplines"] for item in value}
            except (TypeError, KeyError):
                raise ValidationError('a list of {"profession": code, "disciplines": [codes]}') from None
        if not isinstance(value, dict):
            raise ValidationError('"all", or an object of profession code -> discipline codes')
        out = {}
        for key, disciplines in value.items():
            try:
                code = int(key)
            except (TypeError, ValueError):
                raise ValidationError(f"profession {key!r} is not a code") from None
            if not isinstance(disciplines, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                                            for d in disciplines) or len(disciplines) > 200:
                raise ValidationError(f"profession {key}: a list of at most 200 discipline codes")
            out[code] = sorted(set(disciplines))
        return out

    def _serialize(self, value, attr, obj, **kwargs):
        return [{"profession": int(code), "disciplines": disciplines} for code, disciplines in
                sorted(value.items(), key=lambda item: int(item[0]))]


class EventInputSchema(Schema):
    class Meta:
        unknown = "raise"

    code = fields.Str(required=True, validate=[validate.Length(1, 20), validate.Regexp(EVENT_CODE_PATTERN), is_event_code],
                      metadata={"description": "cod_evento, as Age.na.s gave it"})
    edition = fields.Int(load_default=1, validate=validate.Range(1, 999), metadata={"description": "cod_edi"})
    title = fields.Str(required=True, validate=validate.Length(1, 300))
    provider_code = fields.Str(required=True, validate=[validate.Length(1, 20), validate.Regexp(r"^[0-9A-Za-z\-]+$")],
                               metadata={"description": "cod_org, the provider's code"})
    accrediting_body_code = fields.Str(required=True, validate=validate.Regexp(r"^\d{3}$"),
                                       metadata={"description": "cod_accr, three digits"})
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    hours = fields.Int(required=True, validate=validate.Range(1, 999))
    tutoring = fields.Bool(load_default=False, metadata={"description": "e-learning with a tutor: 1.5 credits/hour"})
    credits = fields.Decimal(places=1, as_string=True, validate=validate.Range(0, 50, min_inclusive=False),
                             metadata={"description": "computed when omitted; when given, must be the computed value"})
    training_form = fields.Int(load_default=1, validate=validate.OneOf(sorted(TRAINING_FORMS)),
                               metadata={"description": "tipo_form: 1 FAD, 2 FSC, 3 RES, 4 blended"})
    training_typology = fields.Int(metadata={"description": "cod_tipologia_form; FAD default 10, 11 with tutoring"})
    event_type = fields.Str(load_default="E", validate=validate.OneOf(EVENT_TYPES), metadata={"description": "tipo_eve"})
    objective_code = fields.Int(required=True, validate=validate.Range(1, 999),
                                metadata={"description": "cod_obi, the national objective"})
    professions = ProfessionsField(required=True, metadata={"description": '"all", or profession -> disciplines'})
    course_code = fields.Str(required=True, validate=validate.Length(1, 40))

    @pre_load
    def _typology(self, data, **kwargs):
        if isinstance(data, dict) and "training_typology" not in data and data.get("training_form", 1) == 1:
            data = {**data, "training_typology": 11 if data.get("tutoring") is True else 10}
        return data


class EventSchema(Schema):
    code = fields.Str()
    edition = fields.Int()
    title = fields.Str()
    provider_code = fields.Str()
    accrediting_body_code = fields.Str()
    start_date = fields.Date()
    end_date = fields.Date()
    hours = fields.Int()
    tutoring = fields.Bool()
    credits = fields.Decimal(as_string=True)
    training_form = fields.Int()
    training_typology = fields.Int()
    event_type = fields.Str()
    objective_code = fields.Int()
    professions = ProfessionsField()
    course_code = fields.Str()
    report_due = fields.Date(metadata={"description": "the participant report's deadline: 90 days after the end"})


class EventListSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))


class IssueResultSchema(Schema):
    event = fields.Str()
    edition = fields.Int()
    credits = fields.Int(metadata={"description": "new credit entries"})
    attendance = fields.Int(metadata={"description": "new certificates of attendance"})
    corrections = fields.Int(metadata={"description": "correction entries (flagged for the provider)"})
    unchanged = fields.Int()


class CreditEntrySchema(Schema):
    id = fields.Int()
    codice_fiscale = fields.Str(allow_none=True)
    surname = fields.Str(allow_none=True)
    name = fields.Str(allow_none=True)
    trust = fields.Str()
    profession = fields.Int(allow_none=True)
    kind = fields.Str(validate=validate.OneOf(("issue", "correction")))
    outcome = fields.Str(validate=validate.OneOf(("credits", "attendance", "revoked")))
    credits = fields.Decimal(as_string=True)
    credit_date = fields.Date(allow_none=True)
    rule_version = fields.Str()
    statement_ids = fields.List(fields.Str())
    corrects = fields.Int(allow_none=True, metadata={"description": "the entry this one supersedes"})
    reason = fields.Str(allow_none=True, metadata={"description": "statement_voided, learner_data_corrected, "
                                                                  "progress_changed"})
    flagged = fields.Bool()
    created_at = fields.DateTime()


class CreditsPageSchema(Schema):
    event = fields.Str()
    edition = fields.Int()
    page = fields.Int()
    per_page = fields.Int()
    total = fields.Int()
    rows = fields.List(fields.Nested(CreditEntrySchema))


class CreditsQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    edition = fields.Int(validate=validate.Range(1, 999))
    flagged = fields.Bool(metadata={"description": "only the entries flagged for the provider"})
    page = fields.Int(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Int(load_default=100, validate=validate.Range(1, 500))


class EditionQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    edition = fields.Int(validate=validate.Range(1, 999),
                         metadata={"description": "the edition; needed only when the event has several"})


class DueEventSchema(Schema):
    code = fields.Str()
    edition = fields.Int()
    title = fields.Str()
    end_date = fields.Date()
    report_due = fields.Date()
    days_left = fields.Int(metadata={"description": "negative once overdue"})
    participants = fields.Int()
    flagged = fields.Int(metadata={"description": "corrections awaiting the provider"})


class DueListSchema(Schema):
    events = fields.List(fields.Nested(DueEventSchema))


class VerificationSchema(Schema):
    code = fields.Str()
    status = fields.Str(validate=validate.OneOf(("valid", "superseded", "revoked")))
    kind = fields.Str(validate=validate.OneOf(("credits", "attendance")))
    holder = fields.Str(metadata={"description": "name and surname as printed on the certificate"})
    event = fields.Str()
    edition = fields.Int()
    title = fields.Str()
    credits = fields.Decimal(as_string=True)
    date = fields.Date()

