"""Schemas shared by every API: errors and tokens."""
from __future__ import annotations

from marshmallow import Schema, fields, validate


class ProblemSchema(Schema):
    field = fields.String(required=True, metadata={"description": "the offending field, as a path"})
    rule = fields.String(required=True, metadata={"description": "the rule it breaks"})


class ErrorSchema(Schema):
    status = fields.Integer(required=True)
    message = fields.String(required=True)
    errors = fields.List(fields.Nested(ProblemSchema))


class TokenRequestSchema(Schema):
    scope = fields.List(fields.String(), metadata={"description": "the same or fewer scopes than the client's"})
    expires_in = fields.Integer(validate=validate.Range(min=60), metadata={"description": "seconds"})


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True)
    scope = fields.String(required=True)
