"""The API clients: credentials shared by the LRS (xAPI scopes) and the /api/v1 endpoints (roles)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fse_fad.db import Base


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # "sha256$<salt>$<digest>": the secret itself is never stored.
    secret_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    # Space-separated xAPI scopes (statements/write, state, ...).
    scopes: Mapped[str] = mapped_column(String(500), default="")
    role: Mapped[str | None] = mapped_column(String(40), nullable=True)
    trust_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    regional: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
