"""The xAPI HTTP resources under /xapi: a thin layer over ``lrs.statements`` and ``lrs.documents``."""
from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from flask import Blueprint, Response, request

from fse_fad import jsontext
from fse_fad.auth import Principal
from fse_fad.db import run_in_transaction
from fse_fad.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge
from fse_fad.web import db, require_scope, runtime
from fse_fad.openapi import documented
from lrs import documents, formats, identity, multipart, signatures
from lrs import schemas as sch
from lrs import statements as ops
from lrs.rules import (SIGNATURE_USAGE, fail, is_iri, is_uuid, validate_actor, validate_agent,
                       validate_statement)
from lrs.times import format_us, http_date, now_us, parse_us

XAPI_VERSION = "1.0.3"
SUPPORTED_VERSIONS = ("1.0.0", "1.0.1", "1.0.2", "1.0.3")

blueprint = Blueprint("lrs", __name__, url_prefix="/xapi")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "HEAD, GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Experience-API-Version, If-Match, "
                                    "If-None-Match, Accept-Language, X-Request-ID",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, X-Experience-API-Version, "
                                     "X-Experience-API-Consistent-Through, X-Request-ID",
}

READ_SCOPES = ("all", "all/read")
STATEMENT_QUERY_PARAMS = {"statementId", "voidedStatementId", "agent", "verb", "activity", "registration",
                          "related_activities", "related_agents", "since", "until", "limit", "format",
                          "attachments", "ascending"}


@blueprint.before_request
def _negotiate():
    if request.method == "OPTIONS":
        return Response(status=200)
    if request.endpoint == "lrs.about":
        return None
    version = request.headers.get("X-Experience-API-Version")
    if version is None:
        raise BadRequest("the X-Experience-API-Version header is required", field="X-Experience-API-Version",
                         rule="1.0.x")
    if version.strip() not in SUPPORTED_VERSIONS and not version.strip().startswith("1.0."):
        raise BadRequest(f"unsupported xAPI version {version!r}", field="X-Experience-API-Version", rule="1.0.x")
    return None


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers["X-Experience-API-Version"] = XAPI_VERSION
    if request.method in ("GET", "HEAD") and request.path.startswith(f"{blueprint.url_prefix}/statements"):
        response.headers.setdefault("X-Experience-API-Consistent-Through", _consistent_through())
    for name, value in CORS_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# --- helpers ---------------------------------------------------------------------------------

def _args(allowed: set[str]) -> dict[str, str]:
    args = {}
    for name in request.args:
        if name not in allowed:
            raise BadRequest(f"unknown parameter {name!r}", field=name or "query",
                             rule=f"one of {', '.join(sorted(allowed)) or 'no parameters'}")
        values = request.args.getlist(name)
        if len(values) > 1:
            raise BadRequest(f"parameter {name!r} given more than once", field=name or "query", rule="at most once")
        args[name] = values[0]
    return args


def _bool_arg(args: dict, name: str) -> bool:
    value = args.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false", field=name, rule="true or false")
    return value.lower() == "true"


def _json_arg(args: dict, name: str):
    try:
        return json.loads(args[name])
    except (ValueError, RecursionError):
        raise BadRequest(f"{name} must be JSON", field=name, rule="a JSON object") from None


def _agent_arg(args: dict, name: str = "agent", *, group_allowed: bool = True) -> dict:
    agent = _json_arg(args, name)
    if group_allowed:
        validate_actor(agent, name)
    else:
        validate_agent(agent, name)
    if identity.agent_key(agent) is None:
        fail(name, "must be identified by an inverse functional identifier")
    return agent


def _iri_arg(args: dict, name: str) -> str:
    value = args[name]
    if not is_iri(value):
        fail(name, "must be an absolute IRI")
    return value


def _timestamp_arg(args: dict, name: str) -> int:
    value = parse_us(args[name])
    if value is None:
        fail(name, "must be an ISO 8601 timestamp")
    return value


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def _body() -> bytes:
    return request.get_data(cache=True)


def _xapi_json_response(payload, status: int = 200) -> Response:
    return Response(jsontext.dumps(payload), status=status,
                    content_type="application/json")


def _consistent_through() -> str:
    return format_us(now_us() - ops.CONSISTENCY_WINDOW_US)


# --- about -----------------------------------------------------------------------------------

@blueprint.get("/about")
@documented("The xAPI versions this LRS speaks", tags=["xAPI"], auth=False,
           responses={200: ("versions", sch.AboutSchema)})
def about():
    return _xapi_json_response({"version": list(SUPPORTED_VERSIONS), "extensions": {}})


# --- statements ------------------------------------------------------------------------------

def _parse_statement_body() -> tuple[object, dict[str, tuple[str, bytes]]]:
    """The statements of a request and its attachment parts, keyed by SHA-2."""
    media = _media_type(request.content_type)
    body = _body()
    if media == "application/json":
        return _load_json(body, "body"), {}
    if media == "multipart/mixed":
        parts = multipart.parse(body, request.content_type)
        if _media_type(parts[0].content_type) != "application/json":
            raise BadRequest("the first part must hold the statements", field="body[0].Content-Type",
                             rule="application/json")
        payload = _load_json(parts[0].content, "body[0]")
        attachments: dict[str, tuple[str, bytes]] = {}
        for index, part in enumerate(parts[1:], start=1):
            sha2 = part.headers.get("x-experience-api-hash")
            if not sha2:
                raise BadRequest("an attachment part needs X-Experience-API-Hash", field=f"body[{index}]",
                                 rule="X-Experience-API-Hash header")
            if part.headers.get("content-transfer-encoding", "binary").lower() != "binary":
                raise BadRequest("attachment parts must be sent as binary", field=f"body[{index}]",
                                 rule="Content-Transfer-Encoding: binary")
            if not _sha2_matches(sha2, part.content):
                raise BadRequest("an attachment's content does not match its hash", field=f"body[{index}]",
                                 rule="X-Experience-API-Hash is the SHA-2 of the content")
            attachments[sha2.lower()] = (part.content_type or "application/octet-stream", part.content)
        return payload, attachments
    raise BadRequest("statements are sent as application/json or multipart/mixed", field="Content-Type",
                     rule="application/json or multipart/mixed")


def _sha2_matches(sha2: str, content: bytes) -> bool:
    algorithm = {56: hashlib.sha224, 64: hashlib.sha256, 96: hashlib.sha384, 128: hashlib.sha512}.get(len(sha2))
    return algorithm is not None and algorithm(content).hexdigest() == sha2.lower()


def _load_json(raw: bytes, field: str):
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not valid JSON", field=field, rule="valid JSON (UTF-8), nested at most "
                         "a few hundred levels") from None


def _check_attachments(statements: list[dict], attachments: dict[str, tuple[str, bytes]]) -> None:
    referenced = set()
    for index, statement in enumerate(statements):
        for number, attachment in enumerate(statement.get("attachments", ())):
            sha2 = attachment["sha2"].lower()
            path = f"statement[{index}].attachments[{number}]"
            if sha2 in attachments:
                referenced.add(sha2)
                if attachment["usageType"] == SIGNATURE_USAGE:
                    if _media_type(attachment["contentType"]) != "application/octet-stream":
                        fail(f"{path}.contentType", "a signature is application/octet-stream")
                    signatures.verify(statement, attachments[sha2][1], path)
            elif "fileUrl" not in attachment:
                fail(f"{path}.sha2", "an attachment without fileUrl must be sent as a part of the request")
    for sha2 in attachments:
        if sha2 not in referenced:
            raise BadRequest("a part matches no attachment of the statements", field="body",
                             rule="every part is an attachment of a statement")


def _check_launch_actor(principal: Principal, statements: list[dict]) -> None:
    """A launch token writes only as its learner and only about its course's activities."""
    if principal.actor is None:
        return
    allowed = identity.agent_key(principal.actor)
    for index, statement in enumerate(statements):
        if identity.agent_key(statement["actor"]) != allowed:
            raise Forbidden("this token may only write statements of its learner", field=f"statement[{index}].actor",
                            rule="the launch token's actor")
        obj = statement["object"]
        if principal.activity_prefixes and obj.get("objectType", "Activity") == "Activity" and not any(
                obj["id"].startswith(p) for p in principal.activity_prefixes):
            raise Forbidden("this token may only write about its course's activities",
                            field=f"statement[{index}].object.id", rule="an activity of the launched course")


def _store(principal: Principal, statements: list[dict], attachments) -> list[str]:
    config = runtime().config
    if len(statements) > config.max_statements_per_request:
        raise PayloadTooLarge(f"at most {config.max_statements_per_request} statements per request",
                              field="body", rule=f"at most {config.max_statements_per_request} statements")
    for index, statement in enumerate(statements):
        validate_statement(statement, f"statement[{index}]")
    _check_attachments(statements, attachments)
    _check_launch_actor(principal, statements)
    writer = ops.Writer(authority=principal.authority, may_define=principal.has_scope("all", "define"))
    stored_us = now_us()
    listeners = runtime().statement_listeners
    known_definitions = runtime().activity_definitions
    # The transaction holds nothing else and commits as soon as the statements are stored.
    return run_in_transaction(runtime().session_factory,
                              lambda session: ops.store_statements(session, statements, writer, stored_us,
                                                                   attachments, listeners, known_definitions,
                                                                   sole_work=True),
                              retry_on_conflict=True)


@blueprint.put("/statements")
@documented("Store one statement under a given id", tags=["xAPI statements"], query=sch.PutStatementQuerySchema,
           body=sch.STATEMENT, responses={204: ("stored", None), 409: ("another statement has this id", "Error")})
def put_statement():
    principal = require_scope("all", "statements/write")
    args = _args({"statementId"})
    statement_id = args.get("statementId")
    if statement_id is None:
        raise BadRequest("PUT needs the statementId parameter", field="statementId", rule="required")
    if not is_uuid(statement_id):
        fail("statementId", "must be a UUID")
    payload, attachments = _parse_statement_body()
    if not isinstance(payload, dict):
        fail("body", "PUT takes a single statement object")
    if "id" in payload and str(payload["id"]).lower() != statement_id.lower():
        fail("statement.id", "must equal the statementId parameter")
    payload = {**payload, "id": statement_id.lower()}
    _store(principal, [payload], attachments)
    return Response(status=204)


@blueprint.post("/statements")
@documented("Store one statement or a batch; answers the ids in order", tags=["xAPI statements"],
           body={"oneOf": [sch.STATEMENT, {"type": "array", "items": sch.STATEMENT}]},
           responses={200: ("the ids of the statements", {"type": "array", "items": {"type": "string", "format": "uuid"}}),
                      409: ("another statement has one of these ids", "Error"), 413: ("too large", "Error")})
def post_statements():
    principal = require_scope("all", "statements/write")
    _args(set())
    payload, attachments = _parse_statement_body()
    statements = payload if isinstance(payload, list) else [payload]
    if not statements:
        fail("body", "must hold at least one statement")
    ids = _store(principal, statements, attachments)
    return _xapi_json_response(ids)


def _read_principal() -> tuple[Principal, str | None]:
    principal = require_scope("all", "all/read", "statements/read", "statements/read/mine")
    mine_only = not principal.has_scope("all", "all/read", "statements/read")
    authority_key = identity.agent_key(principal.authority) if mine_only else None
    return principal, authority_key


def _statement_query(args: dict, authority_key: str | None) -> ops.StatementQuery:
    config = runtime().config
    limit = config.default_query_limit
    if "limit" in args:
        try:
            limit = int(args["limit"])
        except ValueError:
            fail("limit", "must be a non-negative integer")
        if limit < 0:
            fail("limit", "must be a non-negative integer")
        if limit == 0 or limit > config.max_query_limit:
            limit = config.max_query_limit
    return ops.StatementQuery(
        agent=_agent_arg(args) if "agent" in args else None,
        verb=_iri_arg(args, "verb") if "verb" in args else None,
        activity=_iri_arg(args, "activity") if "activity" in args else None,
        registration=args["registration"].lower() if "registration" in args and is_uuid(args["registration"])
        else (fail("registration", "must be a UUID") if "registration" in args else None),
        related_activities=_bool_arg(args, "related_activities"),
        related_agents=_bool_arg(args, "related_agents"),
        since_us=_timestamp_arg(args, "since") if "since" in args else None,
        until_us=_timestamp_arg(args, "until") if "until" in args else None,
        limit=limit,
        ascending=_bool_arg(args, "ascending"),
        authority_key=authority_key,
    )


def _format_of(args: dict) -> str:
    value = args.get("format", "exact")
    if value not in ("exact", "ids", "canonical"):
        fail("format", "must be exact, ids or canonical")
    return value


def _render(statement: dict, fmt: str) -> dict:
    if fmt == "ids":
        return formats.to_ids(statement)
    if fmt == "canonical":
        return formats.to_canonical(statement, formats.parse_accept_language(request.headers.get("Accept-Language")))
    return statement


def _statements_response(payload: dict | list, statements: list[dict], with_attachments: bool,
                         last_modified_us: int | None) -> Response:
    body = jsontext.dumps(payload).encode("utf-8")
    if with_attachments:
        sha2s = [a["sha2"].lower() for s in statements for a in s.get("attachments", ())]
        stored = ops.get_attachments(db(), sha2s)
        content, content_type = multipart.build(body, "application/json",
                                                [(a.sha2, a.content_type, a.content) for a in stored])
        response = Response(content, content_type=content_type)
    else:
        response = Response(body, content_type="application/json")
    if last_modified_us is not None:
        response.headers["Last-Modified"] = http_date(last_modified_us)
    return response


@blueprint.get("/statements")
@documented("One statement by id, or the statements matching filters, newest first", tags=["xAPI statements"],
           query=sch.StatementQuerySchema, responses={200: ("a StatementResult, or one statement", sch.StatementResultSchema),
                                                      404: ("no such statement", "Error")})
def get_statements():
    _principal, authority_key = _read_principal()
    args = _args(STATEMENT_QUERY_PARAMS)
    fmt = _format_of(args)
    with_attachments = _bool_arg(args, "attachments")
    single = [name for name in ("statementId", "voidedStatementId") if name in args]
    if single:
        if len(single) > 1 or set(args) - {"statementId", "voidedStatementId", "format", "attachments"}:
            fail(single[0], "only format and attachments may accompany a statement id")
        statement_id = args[single[0]]
        if not is_uuid(statement_id):
            fail(single[0], "must be a UUID")
        statement = ops.get_statement(db(), statement_id, voided=single[0] == "voidedStatementId")
        if statement is None or (authority_key and identity.agent_key(statement["authority"]) != authority_key):
            raise NotFound("no such statement", field=single[0], rule="an id of a stored statement")
        stored_us = parse_us(statement["stored"])
        return _statements_response(_render(statement, fmt), [statement], with_attachments, stored_us)
    query = _statement_query(args, authority_key)
    query = ops.StatementQuery(**{**query.__dict__, "extra": {"format": fmt, "attachments": with_attachments}})
    return _page_response(query)


def _page_response(query: ops.StatementQuery) -> Response:
    page = ops.find_statements(db(), query)
    fmt = query.extra.get("format", "exact")
    more = ""
    if page.next_query is not None:
        more = f"{request.script_root}/xapi/statements/more/{quote(ops.encode_query(page.next_query))}"
    latest = max((parse_us(s["stored"]) for s in page.statements), default=None)
    return _statements_response({"statements": [_render(s, fmt) for s in page.statements], "more": more},
                                page.statements, query.extra.get("attachments", False), latest)


@blueprint.get("/statements/more/<token>")
@documented("The next page of a statement query", tags=["xAPI statements"],
           responses={200: ("a StatementResult", sch.StatementResultSchema)})
def more_statements(token: str):
    _principal, authority_key = _read_principal()
    _args(set())
    query = ops.decode_query(token)
    # The link carries filters, never rights: the caller's own restriction applies.
    query = ops.StatementQuery(**{**query.__dict__, "authority_key": authority_key})
    if not 0 < query.limit <= runtime().config.max_query_limit:
        fail("more", "a link returned by this LRS")
    return _page_response(query)


# --- documents -------------------------------------------------------------------------------

_DOCUMENT_SCOPES = {
    documents.STATE: ("all", "state"),
    documents.ACTIVITY_PROFILE: ("all", "profile"),
    documents.AGENT_PROFILE: ("all", "profile"),
}
_DOCUMENT_PARAMS = {
    documents.STATE: ({"activityId", "agent", "registration", "stateId", "since"}, "stateId"),
    documents.ACTIVITY_PROFILE: ({"activityId", "profileId", "since"}, "profileId"),
    documents.AGENT_PROFILE: ({"agent", "profileId", "since"}, "profileId"),
}


def _document_scope(kind: str, *, write: bool) -> tuple[documents.DocumentScope, dict]:
    scopes = _DOCUMENT_SCOPES[kind] if write else (*_DOCUMENT_SCOPES[kind], "all/read")
    principal = require_scope(*scopes)
    allowed, id_param = _DOCUMENT_PARAMS[kind]
    args = _args(allowed)
    activity = ""
    agent_key = ""
    if "activityId" in allowed:
        if "activityId" not in args:
            fail("activityId", "is required")
        activity = _iri_arg(args, "activityId")
    if "agent" in allowed:
        if "agent" not in args:
            fail("agent", "is required")
        agent = _agent_arg(args, group_allowed=kind != documents.STATE)
        agent_key = identity.agent_key(agent)
        if principal.actor is not None and agent_key != identity.agent_key(principal.actor):
            raise Forbidden("this token may only use its learner's documents", field="agent",
                            rule="the launch token's actor")
    registration = ""
    if "registration" in args:
        if not is_uuid(args["registration"]):
            fail("registration", "must be a UUID")
        registration = args["registration"].lower()
    document_id = args.get(id_param)
    if document_id is not None and len(document_id) > 4096:
        fail(id_param, "must be at most 4096 characters")
    scope = documents.DocumentScope(kind, activity, agent_key, registration, document_id)
    return scope, args


def _document_content() -> tuple[bytes, str]:
    limit = runtime().config.max_document_bytes
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"documents are at most {limit} bytes", field="body", rule=f"at most {limit} bytes")
    content = _body()
    if len(content) > limit:
        raise PayloadTooLarge(f"documents are at most {limit} bytes", field="body", rule=f"at most {limit} bytes")
    content_type = request.content_type or "application/octet-stream"
    if _media_type(content_type) == "application/json":
        _load_json(content, "body")
    return content, content_type


def _document_get(kind: str):
    scope, args = _document_scope(kind, write=False)
    id_param = _DOCUMENT_PARAMS[kind][1]
    if scope.document_id is None:
        since = _timestamp_arg(args, "since") if "since" in args else None
        return _xapi_json_response(documents.list_document_ids(db(), scope, since))
    if "since" in args:
        fail("since", f"only applies when {id_param} is absent")
    document = documents.get_document(db(), scope)
    if document is None:
        raise NotFound("no such document", field=id_param, rule="an id of a stored document")
    response = Response(document.content, content_type=document.content_type)
    response.headers["ETag"] = f'"{document.etag}"'
    response.headers["Last-Modified"] = http_date(document.updated_us)
    return response


def _document_write(kind: str, merge: bool):
    scope, _args_ = _document_scope(kind, write=True)
    id_param = _DOCUMENT_PARAMS[kind][1]
    if scope.document_id is None:
        fail(id_param, "is required")
    content, content_type = _document_content()
    if_match = request.headers.get("If-Match")
    if_none_match = request.headers.get("If-None-Match")
    stamp = now_us()

    def work(session):
        if merge:
            return documents.post_document(session, scope, content, content_type, stamp,
                                           if_match=if_match, if_none_match=if_none_match)
        return documents.put_document(session, scope, content, content_type, stamp, if_match=if_match,
                                      if_none_match=if_none_match,
                                      require_precondition=kind != documents.STATE)

    document = run_in_transaction(runtime().session_factory, work, retry_on_conflict=True)
    response = Response(status=204)
    response.headers["ETag"] = f'"{document.etag}"'
    return response


def _document_delete(kind: str):
    scope, args = _document_scope(kind, write=True)
    if "since" in args:
        fail("since", "is not a parameter of DELETE")
    if scope.document_id is None and kind != documents.STATE:
        fail(_DOCUMENT_PARAMS[kind][1], "is required")
    if_match = request.headers.get("If-Match")
    if_none_match = request.headers.get("If-None-Match")
    run_in_transaction(runtime().session_factory,
                       lambda s: documents.delete_documents(s, scope, if_match=if_match, if_none_match=if_none_match))
    return Response(status=204)


def _document_routes(path: str, kind: str, label: str, query) -> None:
    endpoint = kind.replace("_", "-")
    tags = ["xAPI documents"]
    document = {"type": "string", "format": "binary"}
    views = {
        "GET": documented(f"A {label} document, or the ids of the documents", tags=tags, query=query,
                          responses={200: ("the document (with ETag), or a JSON array of ids", None),
                                     404: ("no such document", "Error")})(lambda: _document_get(kind)),
        "PUT": documented(f"Store a {label} document", tags=tags, query=query, body=document,
                          body_type="*/*", responses={204: ("stored", None), 409: ("precondition needed", "Error"),
                                                      412: ("precondition failed", "Error")})(
            lambda: _document_write(kind, merge=False)),
        "POST": documented(f"Create a {label} document or merge JSON into it", tags=tags, query=query,
                           body=document, body_type="*/*", responses={204: ("stored", None)})(
            lambda: _document_write(kind, merge=True)),
        "DELETE": documented(f"Delete {label} documents", tags=tags, query=query,
                             responses={204: ("deleted", None)})(lambda: _document_delete(kind)),
    }
    for method, view in views.items():
        blueprint.add_url_rule(path, f"{endpoint}-{method.lower()}", view, methods=[method])


_document_routes("/activities/state", documents.STATE, "state", sch.StateQuerySchema)
_document_routes("/activities/profile", documents.ACTIVITY_PROFILE, "activity profile", sch.ActivityProfileQuerySchema)
_document_routes("/agents/profile", documents.AGENT_PROFILE, "agent profile", sch.AgentProfileQuerySchema)


# --- agents and activities -------------------------------------------------------------------

_ANY_READ = ("all", "all/read", "statements/read", "statements/read/mine", "state", "profile", "define")


@blueprint.get("/agents")
@documented("The Person object of an agent", tags=["xAPI"], query=sch.AgentQuerySchema,
           responses={200: ("a Person", sch.PersonSchema)})
def agents():
    require_scope(*_ANY_READ)
    args = _args({"agent"})
    if "agent" not in args:
        fail("agent", "is required")
    agent = _agent_arg(args, group_allowed=False)
    person: dict = {"objectType": "Person"}
    if "name" in agent:
        person["name"] = [agent["name"]]
    for key in ("mbox", "mbox_sha1sum", "openid", "account"):
        if key in agent:
            person[key] = [agent[key]]
    return _xapi_json_response(person)


@blueprint.get("/activities")
@documented("The canonical definition of an activity", tags=["xAPI"], query=sch.ActivityQuerySchema,
           responses={200: ("an Activity", {"type": "object"})})
def activities():
    require_scope(*_ANY_READ)
    args = _args({"activityId"})
    if "activityId" not in args:
        fail("activityId", "is required")
    return _xapi_json_response(ops.get_activity(db(), _iri_arg(args, "activityId")))

