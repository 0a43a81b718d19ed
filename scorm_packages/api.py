"""``POST /api/v1/launch``: a short-lived launch token for xAPI content, for the FAD platform.

The token is bound to one learner's actor and to the activities of one course (IRIs under the
course's IRI): the LRS lets it write statements only as that learner about those activities, and
read and write only that learner's documents (lrs/api.py). It carries the scopes the content needs,
``statements/write`` and ``state``, which the platform's client must hold itself. The answer gives
the xAPI launch parameters as mod_tincanlaunch passes them, ready to append to the content's URL.
No long-lived secret ever reaches a package or a learner's browser, and a launch token opens
nothing of /api/v1.
"""
from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import jwt
from flask import Blueprint, jsonify, request

from courses.api import courses_runtime
from fse_fad.auth import TOKEN_ISSUER, issue_token
from fse_fad.errors import BadRequest, Forbidden, NotFound
from fse_fad.openapi import documented
from fse_fad.web import json_body, require_role, runtime
from lrs.rules import is_iri, validate_agent
from scorm_packages.schemas import LaunchInputSchema, LaunchSchema

blueprint = Blueprint("scorm_packages", __name__, url_prefix="/api/v1")

LAUNCH_SCOPES = ("state", "statements/write")
DEFAULT_TTL = 3600


@blueprint.before_app_request
def _launch_tokens_stay_in_xapi():
    """A launch token lives in a learner's browser. It is for the xAPI resources, where the LRS binds
    it to its learner and course; it carries its client's role, so /api/v1 refuses it outright."""
    if not request.path.startswith("/api/"):
        return None
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        claims = jwt.decode(value.strip(), runtime().config.secret_key, algorithms=["HS256"], issuer=TOKEN_ISSUER,
                            options={"verify_exp": False})
    except jwt.InvalidTokenError:
        return None  # the endpoint's own authentication answers
    if "act" in claims:
        raise Forbidden("a launch token is for the xAPI resources only", field="Authorization",
                        rule="the FAD platform's own credentials")
    return None


@blueprint.post("/launch")
@documented("A short-lived launch token for xAPI content, bound to one learner and one course", tags=["launch"],
            body=LaunchInputSchema,
            responses={200: ("the launch parameters of the content, with the token in auth", LaunchSchema),
                       404: ("no such course", "Error")})
def launch():
    """A launch token for one learner and one course, with the launch parameters of the content."""
    principal = require_role("fad-platform")
    missing = [s for s in LAUNCH_SCOPES if s not in principal.scopes]
    if missing:
        raise Forbidden("the client needs the scopes of the content to issue launch tokens", field="Authorization",
                        rule=f"a client with scopes {' and '.join(LAUNCH_SCOPES)}")
    body = json_body(LaunchInputSchema())
    config = runtime().config
    validate_agent(body["actor"], "actor")
    actor = {"objectType": "Agent", **body["actor"]}

    catalogue = courses_runtime().catalogue
    code = body["course"]
    course = catalogue.fad_course if code is None else catalogue.course(code)
    if course is None:
        raise NotFound(f"no course {code}", field="course", rule="a course code of the catalogue")
    prefix = course.iri + "/"
    registration = (body["registration"] or str(uuid.uuid4())).lower()
    activity_id = body["activity_id"]
    if activity_id is not None and not (is_iri(activity_id) and activity_id.startswith(prefix)):
        raise BadRequest("activity_id must be an activity of the course", field="activity_id",
                         rule=f"an IRI starting with {prefix}")
    ttl = body["expires_in"] if body["expires_in"] is not None else min(DEFAULT_TTL, config.token_ttl_seconds)
    if not 60 <= ttl <= config.token_ttl_seconds:
        raise BadRequest("expires_in out of range", field="expires_in",
                         rule=f"integer from 60 to {config.token_ttl_seconds}")

    token = issue_token(principal, config.secret_key, ttl, scopes=list(LAUNCH_SCOPES), actor=actor,
                        activity_prefixes=[prefix])
    endpoint = f"{config.public_url}/xapi/"
    params = {"endpoint": endpoint, "auth": f"Bearer {token['access_token']}",
              "actor": json.dumps(actor, ensure_ascii=False, separators=(",", ":")),
              "registration": registration}
    if activity_id:
        params["activity_id"] = activity_id
    return jsonify(LaunchSchema().dump({
        **params,
        "actor": actor,
        "course": course.code,
        "activity_prefix": prefix,
        "expires_in": ttl,
        "scope": token["scope"],
        "launch_query": urlencode(params),
    }))

