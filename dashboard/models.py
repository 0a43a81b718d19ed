"""The people who log in to the dashboard. API clients (fse_fad.models.Client) are another thing:
they are programs with keys and secrets, these are persons with passwords."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from fse_fad.db import Base


class DashboardUser(Base):
    __tablename__ = "dashboard_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Lower case: the login name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    # werkzeug.security's "scrypt:..." hash: the password itself is never stored.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    trust_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    regional: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Consecutive wrong passwords; at the limit the account is locked until ``locked_until``.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Carried in the signed session cookie; raised when the password changes or the account is
    # disabled, so that every cookie issued before stops working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def active(self) -> bool:
        return self.disabled_at is None
