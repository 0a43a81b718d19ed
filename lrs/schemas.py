"""Schemas of the xAPI resources, for the API description. Statements themselves are checked by
``lrs.rules`` (the xAPI 1.0.3 Data rules), which a schema language cannot express."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

STATEMENT = {"type": "object", "description": "an xAPI 1.0.3 Statement (xAPI-Spec, Data 2.4)",
             "externalDocs": {"url": "https://github.com/adlnet/xAPI-Spec/blob/master/xAPI-Data.md#statements"}}


class StatementQuerySchema(Schema):
    statementId = fields.UUID()
    voidedStatementId = fields.UUID()
    agent = fields.String(metadata={"description": "JSON of an Agent or identified Group"})
    verb = fields.Url(relative=False)
    activity = fields.Url(relative=False)
    registration = fields.UUID()
    related_activities = fields.Boolean()
    related_agents = fields.Boolean()
    since = fields.DateTime()
    until = fields.DateTime()
    limit = fields.Integer(validate=validate.Range(min=0))
    format = fields.String(validate=validate.OneOf(["ids", "exact", "canonical"]))
    attachments = fields.Boolean()
    ascending = fields.Boolean()


class PutStatementQuerySchema(Schema):
    statementId = fields.UUID(required=True)


class StatementResultSchema(Schema):
    statements = fields.List(fields.Dict(), required=True)
    more = fields.String(required=True, metadata={"description": "relative link to the next page, or empty"})


class AboutSchema(Schema):
    version = fields.List(fields.String(), required=True)
    extensions = fields.Dict()


class StateQuerySchema(Schema):
    activityId = fields.Url(relative=False, required=True)
    agent = fields.String(required=True, metadata={"description": "JSON of an Agent"})
    registration = fields.UUID()
    stateId = fields.String()
    since = fields.DateTime()


class ActivityProfileQuerySchema(Schema):
    activityId = fields.Url(relative=False, required=True)
    profileId = fields.String()
    since = fields.DateTime()


class AgentProfileQuerySchema(Schema):
    agent = fields.String(required=True, metadata={"description": "JSON of an Agent or identified Group"})
    profileId = fields.String()
    since = fields.DateTime()


class AgentQuerySchema(Schema):
    agent = fields.String(required=True, metadata={"description": "JSON of an Agent"})


class ActivityQuerySchema(Schema):
    activityId = fields.Url(relative=False, required=True)


class PersonSchema(Schema):
    objectType = fields.String(required=True, metadata={"example": "Person"})
    name = fields.List(fields.String())
    mbox = fields.List(fields.String())
    mbox_sha1sum = fields.List(fields.String())
    openid = fields.List(fields.String())
    account = fields.List(fields.Dict())
