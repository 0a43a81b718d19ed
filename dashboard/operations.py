"""Dashboard users and the rules of logging in. Plain functions over a session, no Flask.

Passwords are hashed with scrypt (werkzeug.security). Lock-out: after ``MAX_FAILURES``
consecutive wrong passwords an account is locked for ``LOCK_MINUTES``; while it is locked the
password is not even checked, so guessing stops. The per-source limit is kept by the web layer
(a ``fse_fad.auth.FailureThrottle``), since a source is a property of the request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from courses.reference import Reference
from dashboard.models import DashboardUser
from fse_fad.errors import BadRequest, Conflict, NotFound

# The dashboard's roles: the API's roles that people hold (fad-platform is a program, not a person).
ROLES = ("admin", "training-office", "ecm-provider")
MIN_PASSWORD = 12
# scrypt of a very long input costs the same, but a bound keeps request bodies and hashing sane.
MAX_PASSWORD = 256
MAX_FAILURES = 5
LOCK_MINUTES = 15
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked against when the e-mail is unknown, so that the answer takes as long as for a known one.
_NOBODY = generate_password_hash("not a password of anyone", method="scrypt")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes; they were stored in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


def normal_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise BadRequest("not an e-mail address", field="email", rule="an e-mail address of at most 254 characters")
    return email


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise BadRequest("the password is too short or too long", field="password",
                         rule=f"{MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def _hash(password: str) -> str:
    return generate_password_hash(check_password(password), method="scrypt")


def create_user(session: Session, reference: Reference, email: str, role: str, password: str, *,
                trust_code: str | None = None, regional: bool = False) -> DashboardUser:
    """A user of the dashboard. A training office belongs to one trust or is regional; an admin
    sees every trust; an ECM provider belongs to no trust."""
    email = normal_email(email)
    if role not in ROLES:
        raise BadRequest(f"unknown role {role}", field="role", rule=f"one of {', '.join(ROLES)}")
    if trust_code and regional:
        raise BadRequest("a user belongs to one trust or is regional, not both", field="trust",
                         rule="exclusive with regional")
    if trust_code:
        trust = reference.find("trust", trust_code)
        if trust is None:
            raise BadRequest(f"unknown trust {trust_code}", field="trust",
                             rule=f"one of {', '.join(reference.trusts)}")
        trust_code = trust.code
    if role == "training-office" and not trust_code and not regional:
        raise BadRequest("a training office user needs a trust or must be regional", field="trust",
                         rule="a trust code, or regional")
    if role != "training-office" and (trust_code or regional):
        raise BadRequest(f"a user with role {role} belongs to no trust", field="trust", rule="omitted")
    if session.scalar(select(DashboardUser.id).where(DashboardUser.email == email)) is not None:
        raise Conflict(f"a user {email} exists already", field="email", rule="unique")
    user = DashboardUser(email=email, password_hash=_hash(password), role=role, trust_code=trust_code,
                         regional=regional or role == "admin", created_at=_now(), failed_logins=0,
                         session_version=0)
    session.add(user)
    session.flush()
    return user


def list_users(session: Session) -> list[DashboardUser]:
    return list(session.scalars(select(DashboardUser).order_by(DashboardUser.email)))


def get_user(session: Session, email: str) -> DashboardUser:
    user = session.scalar(select(DashboardUser).where(DashboardUser.email == normal_email(email)))
    if user is None:
        raise NotFound(f"no user {email}", field="email", rule="an existing user")
    return user


def disable_user(session: Session, email: str) -> DashboardUser:
    user = get_user(session, email)
    if user.disabled_at is None:
        user.disabled_at = _now()
        user.session_version += 1
    return user


def reset_password(session: Session, email: str, password: str) -> DashboardUser:
    """A new password; the lock-out is lifted and every open session of the user ends."""
    user = get_user(session, email)
    user.password_hash = _hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.session_version += 1
    return user


@dataclass(frozen=True)
class Login:
    """The outcome of a login: ``user`` when it succeeded; otherwise ``locked_minutes`` > 0 when
    the account is locked (now or by this failure)."""

    user: DashboardUser | None
    locked_minutes: int = 0


def log_in(session: Session, email: str, password: str, now: datetime | None = None) -> Login:
    """Check a login and keep the count of consecutive failures. A disabled or unknown account
    fails like a wrong password (the answer does not tell which accounts exist)."""
    now = now or _now()
    try:
        email = normal_email(email)
    except BadRequest:
        email = ""
    user = session.scalar(select(DashboardUser).where(DashboardUser.email == email).with_for_update()) if email else None
    if user is None or not user.active:
        check_password_hash(_NOBODY, password or "")
        return Login(None)
    locked_until = _aware(user.locked_until)
    if locked_until is not None and locked_until > now:
        return Login(None, locked_minutes=_minutes(locked_until - now))
    if password and len(password) <= MAX_PASSWORD and check_password_hash(user.password_hash, password):
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        return Login(user)
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILURES:
        user.failed_logins = 0
        user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
        return Login(None, locked_minutes=LOCK_MINUTES)
    return Login(None)


def _minutes(delta: timedelta) -> int:
    return max(1, -(-int(delta.total_seconds()) // 60))


def user_of_session(session: Session, user_id, version) -> DashboardUser | None:
    """The user a session cookie names, if still active and the cookie still current."""
    if not isinstance(user_id, int) or not isinstance(version, int):
        return None
    user = session.get(DashboardUser, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user
