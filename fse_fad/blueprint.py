"""Endpoints of the shared layer: token issuing."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from fse_fad.auth import issue_token
from fse_fad.errors import BadRequest, Forbidden
from fse_fad.openapi import documented
from fse_fad.schemas import TokenRequestSchema, TokenSchema
from fse_fad.web import current_principal, runtime

blueprint = Blueprint("core", __name__)


@blueprint.post("/api/v1/auth/token")
@documented("A short-lived bearer token for Basic credentials", tags=["auth"], body=TokenRequestSchema,
            responses={200: ("the token", TokenSchema)})
def token():
    """Exchange Basic credentials for a short-lived bearer token with the same or fewer scopes."""
    principal = current_principal()
    if request.headers.get("Authorization", "").lower().startswith("bearer"):
        raise Forbidden("a token cannot be exchanged for another token", field="Authorization", rule="Basic credentials")
    body = request.get_json(silent=True) if request.content_length else {}
    if body is None or not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object", field="body", rule="JSON object")
    config = runtime().config
    ttl = body.get("expires_in", config.token_ttl_seconds)
    if not isinstance(ttl, int) or isinstance(ttl, bool) or not 60 <= ttl <= config.token_ttl_seconds:
        raise BadRequest("expires_in out of range", field="expires_in",
                         rule=f"integer from 60 to {config.token_ttl_seconds}")
    scopes = body.get("scope")
    if isinstance(scopes, str):
        scopes = scopes.split()
    if scopes is not None and not (isinstance(scopes, list) and all(isinstance(s, str) for s in scopes)):
        raise BadRequest("scope must be a list of scopes", field="scope", rule="list of strings")
    return jsonify(issue_token(principal, config.secret_key, ttl, scopes=scopes))
