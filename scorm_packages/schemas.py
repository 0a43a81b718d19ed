"""Marshmallow schemas of the /api/v1 bodies of scorm_packages."""
from __future__ import annotations

from marshmallow import RAISE, Schema, ValidationError, fields

from lrs.rules import is_uuid


def _uuid(value: str) -> None:
    if not is_uuid(value):
        raise ValidationError("a UUID")


class LaunchInputSchema(Schema):
    """``POST /api/v1/launch``: for which learner, course and attempt the content is launched."""

    class Meta:
        unknown = RAISE

    actor = fields.Dict(required=True, metadata={"description": "the learner's xAPI Agent"})
    course = fields.Str(load_default=None, metadata={"description": "course code (default: the FAD course)"})
    registration = fields.Str(load_default=None, validate=_uuid,
                              metadata={"description": "xAPI registration (default: a new UUID)"})
    activity_id = fields.Str(load_default=None, metadata={"description": "the launched activity, under the course IRI"})
    expires_in = fields.Int(strict=True, load_default=None, metadata={"description": "seconds, 60 to FSE_FAD_TOKEN_TTL"})


class LaunchSchema(Schema):
    """The xAPI launch parameters, as mod_tincanlaunch passes them, and the token's reach."""

    endpoint = fields.Str()
    auth = fields.Str(metadata={"description": "Bearer launch token"})
    actor = fields.Dict()
    registration = fields.Str()
    activity_id = fields.Str()
    course = fields.Str()
    activity_prefix = fields.Str()
    expires_in = fields.Int()
    scope = fields.Str()
    launch_query = fields.Str(metadata={"description": "the parameters, URL-encoded, to append to the content's URL"})
