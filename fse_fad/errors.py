"""Errors that become clear HTTP answers: a status and a JSON body naming the field and the rule."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    field: str
    rule: str

    def __post_init__(self):
        # A parameter or key with an empty name is still named, so that the client can find it.
        if not self.field:
            self.field = "(unnamed)"

    def as_dict(self) -> dict:
        return {"field": self.field, "rule": self.rule}


class ApiError(Exception):
    """An answer other than success. ``problems`` name each offending field and the rule it breaks."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None,
                 problems: list[Problem] | None = None, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.problems = list(problems or [])
        if field is not None:
            self.problems.insert(0, Problem(field, rule or message))
        self.headers = headers or {}

    def as_dict(self) -> dict:
        body = {"status": self.status, "message": self.message}
        if self.problems:
            body["errors"] = [p.as_dict() for p in self.problems]
        return body


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PreconditionFailed(ApiError):
    status = 412


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415
