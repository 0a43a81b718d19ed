"""Configuration, read once from ``FSE_FAD_*`` environment variables (documented in README)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None


@dataclass(frozen=True)
class Config:
    database_url: str
    secret_key: str
    environment: str = "development"
    public_url: str = "http://127.0.0.1:8000"
    # Request limits: a Moodle batch of 30 statements is ~60 KB, so these leave ample headroom
    # while keeping a single request from exhausting a worker.
    max_request_bytes: int = 16 * 1024 * 1024
    max_statements_per_request: int = 1000
    max_document_bytes: int = 1024 * 1024
    max_query_limit: int = 500
    default_query_limit: int = 100
    token_ttl_seconds: int = 3600
    # How long a worker keeps an active client's row (seconds): a revocation acts within it.
    auth_cache_seconds: int = 5
    activity_cache_seconds: int = 5
    workers: int = 0
    threads: int = 4
    log_level: str = "info"
    # JSON file mapping the activity IRIs of each Moodle site to catalogue elements (courses.moodle).
    moodle_mapping: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def is_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, env: dict | None = None, **overrides) -> "Config":
        env = dict(os.environ if env is None else env)
        values = dict(
            database_url=env.get("FSE_FAD_DATABASE_URL") or f"sqlite:///{Path.cwd() / 'fse-fad.db'}",
            secret_key=env.get("FSE_FAD_SECRET_KEY") or "",
            environment=env.get("FSE_FAD_ENV", "development"),
            public_url=(env.get("FSE_FAD_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            max_request_bytes=_int(env, "FSE_FAD_MAX_REQUEST_BYTES", cls.max_request_bytes),
            max_statements_per_request=_int(env, "FSE_FAD_MAX_STATEMENTS_PER_REQUEST", cls.max_statements_per_request),
            max_document_bytes=_int(env, "FSE_FAD_MAX_DOCUMENT_BYTES", cls.max_document_bytes),
            max_query_limit=_int(env, "FSE_FAD_MAX_QUERY_LIMIT", cls.max_query_limit),
            token_ttl_seconds=_int(env, "FSE_FAD_TOKEN_TTL", cls.token_ttl_seconds),
            auth_cache_seconds=_int(env, "FSE_FAD_AUTH_CACHE_SECONDS", cls.auth_cache_seconds),
            activity_cache_seconds=_int(env, "FSE_FAD_ACTIVITY_CACHE_SECONDS", cls.activity_cache_seconds),
            workers=_int(env, "FSE_FAD_WORKERS", 0),
            threads=_int(env, "FSE_FAD_THREADS", cls.threads),
            log_level=env.get("FSE_FAD_LOG_LEVEL", "info"),
            moodle_mapping=env.get("FSE_FAD_MOODLE_MAPPING", ""),
        )
        values.update(overrides)
        if not values["secret_key"]:
            if values["environment"] == "production":
                raise ValueError("FSE_FAD_SECRET_KEY must be set when FSE_FAD_ENV=production")
            values["secret_key"] = _development_secret()
        return cls(**values)


def _development_secret() -> str:
    """Outside production, keep a generated key in the working directory so that tokens
    survive restarts and every worker process signs with the same key."""
    path = Path.cwd() / "fse-fad.secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process wrote it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    except OSError:
        return secrets.token_urlsafe(48)
