"""What HTTP layers share: the per-request database session and the caller's identity."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, TypeVar

from flask import current_app, g, request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from fse_fad.auth import ActiveClients, FailureThrottle, Principal, authenticate_header
from fse_fad.config import Config
from fse_fad.db import run_in_transaction
from fse_fad.errors import ApiError, BadRequest, Forbidden, Unauthorized
from fse_fad.expiring import ExpiringMap

T = TypeVar("T")


@dataclass
class Runtime:
    config: Config
    engine: Engine
    session_factory: sessionmaker[Session]
    # Functions called in the storing transaction of every statement batch (see lrs.statements).
    statement_listeners: list = field(default_factory=list)
    auth_failures: FailureThrottle = field(default_factory=FailureThrottle)
    active_clients: ActiveClients = field(default_factory=ActiveClients)
    # Activity definitions a worker read lately (see lrs.statements._define_activities).
    activity_definitions: ExpiringMap = field(default_factory=lambda: ExpiringMap(5.0, 20_000))


def runtime() -> Runtime:
    return current_app.extensions["fse_fad"]


def db() -> Session:
    """The request's session; committed explicitly by the endpoint, closed at teardown."""
    if "db" not in g:
        g.db = runtime().session_factory()
    return g.db


class TooManyFailures(ApiError):
    status = 429


def current_principal() -> Principal:
    if "principal" not in g:
        rt = runtime()
        source = request.remote_addr or "unknown"
        wait = rt.auth_failures.retry_after(source)
        if wait:
            raise TooManyFailures("too many failed authentications: try again later", field="Authorization",
                                  rule=f"at most {rt.auth_failures.limit} failures in {int(rt.auth_failures.window)} s",
                                  headers={"Retry-After": str(wait)})
        try:
            # The request's session is opened only if the client must be read.
            g.principal = authenticate_header(db, request.headers.get("Authorization"),
                                              rt.config.secret_key, rt.config.public_url, rt.active_clients)
        except Unauthorized:
            if request.headers.get("Authorization"):
                rt.auth_failures.failed(source)
            raise
        # Release the read transaction, if the client was read (and on SQLite its lock), before the
        # real work begins.
        if "db" in g:
            g.db.rollback()
    return g.principal


def require_scope(*scopes: str) -> Principal:
    principal = current_principal()
    if not principal.has_scope(*scopes):
        raise Forbidden("the credentials lack the scope this request needs", field="Authorization",
                        rule=f"scope {' or '.join(scopes)}")
    return principal


def require_role(*roles: str) -> Principal:
    """The caller, if its client has one of ``roles`` for the /api/v1 endpoints; ``admin`` may do
    everything."""
    principal = current_principal()
    if principal.actor is not None:
        # A launch token lives in a learner's browser: it speaks xAPI for that learner, never /api/v1.
        raise Forbidden("a launch token cannot call this API", field="Authorization",
                        rule="credentials of a client, not a learner's launch token")
    if principal.role != "admin" and principal.role not in roles:
        allowed = ", ".join(("admin",) + roles)
        raise Forbidden("the credentials' role does not allow this request", field="Authorization",
                        rule=f"a client with role {allowed}")
    return principal


def visible_trust(principal: Principal) -> str | None:
    """The one trust whose data the caller may see, or None for every trust. Admin and regional
    clients see all; a client bound to a trust (a trust's training office) sees only that trust."""
    if principal.role == "admin" or principal.regional:
        return None
    if principal.trust_code:
        return principal.trust_code
    if principal.role == "training-office":
        raise Forbidden("a training office client must be bound to a trust or be regional", field="Authorization",
                        rule="client created with --trust CODE or --regional")
    return None


def json_body(schema) -> dict:
    """The request's body, a JSON object, loaded with a marshmallow schema; a 400 names the first
    offending field."""
    from marshmallow import ValidationError

    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise BadRequest("the body must be a JSON object", field="body", rule="JSON object")
    try:
        return schema.load(payload)
    except ValidationError as exc:
        name, messages = next(iter(exc.messages.items()))
        raise BadRequest(f"invalid field {name}", field=str(name), rule=str(messages)) from None


def query_args(schema, args: dict | None = None) -> dict:
    """The request's query parameters (or ``args`` taken from them) loaded with a marshmallow
    schema; a 400 names the first offending parameter."""
    from marshmallow import ValidationError

    try:
        return schema.load(request.args.to_dict() if args is None else args)
    except ValidationError as exc:
        name, messages = next(iter(exc.messages.items()))
        raise BadRequest(f"invalid parameter {name}", field=str(name), rule="; ".join(map(str, messages))) from None


def in_transaction(work: Callable[[Session], T], retry_on_conflict: bool = False) -> T:
    """Run ``work`` in a transaction of its own, committed, retried on deadlocks (and, with
    ``retry_on_conflict``, on unique-key conflicts)."""
    return run_in_transaction(runtime().session_factory, work, retry_on_conflict=retry_on_conflict)
