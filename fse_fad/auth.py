"""Authentication: HTTP Basic with a client's key and secret, or a short-lived signed JWT.

Secrets are 256-bit random values, so a salted SHA-256 is as strong as a slow password hash
here and keeps Basic auth cheap on every statement POST. Tokens are HS256 JWTs signed with the
server's secret key. Every request checks that its client is still active; the client rows are
kept in each worker's memory for at most ``ActiveClients.ttl_seconds`` (5 s by default), so a
revoked client and its tokens stop working within that bound without a database round trip on
each statement POST.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Union

import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from fse_fad.errors import BadRequest, Forbidden, NotFound, Unauthorized
from fse_fad.expiring import ExpiringMap
from fse_fad.models import Client

XAPI_SCOPES = (
    "statements/write",
    "statements/read",
    "statements/read/mine",
    "state",
    "profile",
    "define",
    "all/read",
    "all",
)
ROLES = ("admin", "fad-platform", "training-office", "ecm-provider")
TOKEN_ISSUER = "fse-fad"


def hash_secret(secret: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()
    return f"sha256${salt}${digest}"


def verify_secret(secret: str, stored: str) -> bool:
    try:
        scheme, salt, _digest = stored.split("$", 2)
    except ValueError:
        return False
    if scheme != "sha256":
        return False
    return hmac.compare_digest(hash_secret(secret, salt), stored)


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what they may do."""

    client_id: int
    key: str
    name: str
    scopes: frozenset[str]
    role: str | None = None
    trust_code: str | None = None
    regional: bool = False
    authority: dict = field(default_factory=dict, compare=False)
    # Launch tokens are bound to one learner's actor and to a set of activity IRI prefixes.
    actor: dict | None = field(default=None, compare=False)
    activity_prefixes: tuple[str, ...] = ()

    def has_scope(self, *wanted: str) -> bool:
        return bool(self.scopes & set(wanted))


@dataclass(frozen=True)
class ClientRecord:
    """What authentication needs of an active client, detached from any session."""

    id: int
    key: str
    name: str
    secret_hash: str
    scope_list: tuple[str, ...]
    role: str | None
    trust_code: str | None
    regional: bool

    @classmethod
    def of(cls, client: Client) -> "ClientRecord":
        return cls(client.id, client.key, client.name, client.secret_hash, tuple(client.scope_list), client.role,
                   client.trust_code, client.regional)


def authority_for(client: Client | ClientRecord, public_url: str) -> dict:
    return {
        "objectType": "Agent",
        "name": client.name,
        "account": {"homePage": f"{public_url}/clients", "name": client.key},
    }


def principal_for(client: Client | ClientRecord, public_url: str, scopes: list[str] | None = None, **extra) -> Principal:
    return Principal(
        client_id=client.id,
        key=client.key,
        name=client.name,
        scopes=frozenset(scopes if scopes is not None else client.scope_list),
        role=client.role,
        trust_code=client.trust_code,
        regional=client.regional,
        authority=authority_for(client, public_url),
        **extra,
    )


def validate_scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in XAPI_SCOPES]
    if unknown:
        raise BadRequest(f"unknown scope {unknown[0]!r}", field="scope", rule=f"one of {', '.join(XAPI_SCOPES)}")
    return sorted(set(scopes))


def create_client(session: Session, name: str, scopes: list[str] = (), role: str | None = None,
                  trust_code: str | None = None, regional: bool = False) -> tuple[Client, str]:
    """Create a client; return it with its secret, which is shown once and never stored."""
    if not name or len(name) > 200:
        raise BadRequest("a client needs a name of 1 to 200 characters", field="name", rule="length 1-200")
    if role is not None and role not in ROLES:
        raise BadRequest(f"unknown role {role!r}", field="role", rule=f"one of {', '.join(ROLES)}")
    if trust_code and regional:
        raise BadRequest("a client is bound to one trust or is regional, not both", field="trust", rule="exclusive with regional")
    secret = secrets.token_urlsafe(32)
    client = Client(
        key=uuid.uuid4().hex,
        secret_hash=hash_secret(secret),
        name=name,
        scopes=" ".join(validate_scopes(list(scopes))),
        role=role,
        trust_code=trust_code,
        regional=regional,
        created_at=datetime.now(timezone.utc),
    )
    session.add(client)
    session.flush()
    return client, secret


def list_clients(session: Session) -> list[Client]:
    return list(session.scalars(select(Client).order_by(Client.id)))


def revoke_client(session: Session, key: str) -> Client:
    client = session.scalar(select(Client).where(Client.key == key))
    if client is None:
        raise NotFound(f"no client with key {key}", field="key", rule="must name an existing client")
    if client.revoked_at is None:
        client.revoked_at = datetime.now(timezone.utc)
    return client


# A session, or a function that gives one: a client kept in memory needs none, and none is opened.
SessionSource = Union[Session, Callable[[], Session]]


def _session_of(source: SessionSource) -> Session:
    return source if isinstance(source, Session) else source()


def _active_client(session: Session, key: str) -> ClientRecord | None:
    client = session.scalar(select(Client).where(Client.key == key))
    if client is None or client.revoked_at is not None:
        return None
    return ClientRecord.of(client)


class ActiveClients(ExpiringMap[str, "ClientRecord"]):
    """Active clients by key, each kept for ``ttl_seconds`` after it was read: the bound within
    which a revocation takes effect in a worker. Unknown and revoked keys are never kept, and at
    most ``max_entries`` clients are (the least recently read are dropped first). Secrets are not
    kept: each request's secret is still checked against the stored hash."""

    def __init__(self, ttl_seconds: float = 5.0, max_entries: int = 1000, clock=time.monotonic):
        super().__init__(ttl_seconds, max_entries, clock)

    def find(self, session: SessionSource, key: str) -> ClientRecord | None:
        client = self.get(key)
        if client is not None:
            return client
        client = _active_client(_session_of(session), key)
        if client is None:
            self.pop(key)
        else:
            self.put(key, client)
        return client


def _lookup(session: SessionSource, key: str, clients: ActiveClients | None) -> ClientRecord | None:
    return clients.find(session, key) if clients is not None else _active_client(_session_of(session), key)


def authenticate_basic(session: SessionSource, key: str, secret: str, public_url: str,
                       clients: ActiveClients | None = None) -> Principal:
    client = _lookup(session, key, clients)
    if client is None or not verify_secret(secret, client.secret_hash):
        raise Unauthorized("invalid credentials", field="Authorization", rule="valid key and secret of an active client")
    return principal_for(client, public_url)


def issue_token(principal: Principal, secret_key: str, ttl_seconds: int, scopes: list[str] | None = None,
                actor: dict | None = None, activity_prefixes: list[str] | None = None) -> dict:
    """A bearer token for the caller, with the same or fewer scopes."""
    granted = set(principal.scopes)
    if scopes is not None:
        wanted = set(validate_scopes(scopes))
        if not wanted <= granted:
            raise Forbidden("a token cannot carry scopes its client lacks", field="scope", rule="subset of the client's scopes")
        granted = wanted
    now = int(datetime.now(timezone.utc).timestamp())
    claims = {
        "iss": TOKEN_ISSUER,
        "sub": principal.key,
        "iat": now,
        "exp": now + ttl_seconds,
        "jti": uuid.uuid4().hex,
        "scope": " ".join(sorted(granted)),
    }
    if actor is not None:
        claims["act"] = actor
    if activity_prefixes:
        claims["acts"] = list(activity_prefixes)
    token = jwt.encode(claims, secret_key, algorithm="HS256")
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl_seconds, "scope": claims["scope"]}


def authenticate_bearer(session: SessionSource, token: str, secret_key: str, public_url: str,
                        clients: ActiveClients | None = None) -> Principal:
    try:
        claims = jwt.decode(token, secret_key, algorithms=["HS256"], issuer=TOKEN_ISSUER,
                            options={"require": ["exp", "iat", "sub", "iss"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired", field="Authorization", rule="token not expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("the token is not valid", field="Authorization", rule="token signed by this server") from None
    client = _lookup(session, str(claims["sub"]), clients)
    if client is None:
        raise Unauthorized("the token's client is revoked or unknown", field="Authorization", rule="active client")
    scopes = [s for s in str(claims.get("scope", "")).split() if s in client.scope_list]
    return principal_for(client, public_url, scopes=scopes, actor=claims.get("act"),
                         activity_prefixes=tuple(claims.get("acts") or ()))


def authenticate_header(session: SessionSource, header: str | None, secret_key: str, public_url: str,
                        clients: ActiveClients | None = None) -> Principal:
    if not header:
        raise Unauthorized("authentication required", field="Authorization", rule="Basic or Bearer credentials")
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
            key, sep, secret = decoded.partition(":")
        except (ValueError, UnicodeDecodeError):
            sep = ""
        if not sep:
            raise Unauthorized("malformed Basic credentials", field="Authorization", rule="base64 of key:secret")
        return authenticate_basic(session, key, secret, public_url, clients)
    if scheme == "bearer" and value:
        return authenticate_bearer(session, value, secret_key, public_url, clients)
    raise Unauthorized("unsupported authorization scheme", field="Authorization", rule="Basic or Bearer credentials")


class FailureThrottle:
    """Refuses a source that failed to authenticate too often in a sliding window (429), before
    its credentials are even checked, so that guessing is slow. Kept in each worker's memory,
    bounded in size: a guesser spread over workers meets each worker's limit in turn."""

    def __init__(self, limit: int = 20, window_seconds: float = 300.0, max_sources: int = 10_000):
        self.limit = limit
        self.window = window_seconds
        self.max_sources = max_sources
        self._failures: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, source: str, now: float) -> deque | None:
        failures = self._failures.get(source)
        if failures is not None:
            while failures and failures[0] <= now - self.window:
                failures.popleft()
        return failures

    def retry_after(self, source: str, now: float | None = None) -> int:
        """Seconds until the source may try again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._recent(source, now)
            if failures is None or len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - now) + 1)

    def failed(self, source: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._recent(source, now)
            if failures is None:
                failures = self._failures[source] = deque()
            failures.append(now)
            self._failures.move_to_end(source)
            while len(self._failures) > self.max_sources:
                self._failures.popitem(last=False)
