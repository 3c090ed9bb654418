"""Access tables: accounts (linked to the roster's people), browser sessions, personal API tokens and
the audit log. Secrets are kept as hashes only: argon2 for passwords, SHA-256 for random tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hotline.store.base import Base, UtcDateTime


class AccountRow(Base):
    __tablename__ = "access_accounts"

    account_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    person: Mapped[str | None] = mapped_column(String(128))  # the roster person this account is
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(256))  # None: single sign-on only
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SessionRow(Base):
    __tablename__ = "access_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("access_accounts.account_id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_access_sessions_account_id", "account_id"),)


class TokenRow(Base):
    __tablename__ = "access_tokens"

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("access_accounts.account_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))  # the highest role the token acts with
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditRow(Base):
    __tablename__ = "audit_log"

    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(64))  # account name, 'anonymous', 'link', 'system'
    person: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # login, login_failed, logout, change, export, ...
    target: Mapped[str] = mapped_column(Text)  # e.g. 'POST /api/alerts/A1/ack'
    outcome: Mapped[str] = mapped_column(String(16))  # an HTTP status, 'ok', 'refused'
    detail: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_audit_log_at", "at"), Index("ix_audit_log_action_at", "action", "at"))


def account_by_name(s: Session, username: str) -> AccountRow | None:
    return s.scalars(select(AccountRow).where(AccountRow.username == username)).first()


def active_account_count(s: Session) -> int:
    return int(s.scalar(select(func.count()).select_from(AccountRow).where(AccountRow.disabled.is_(False))) or 0)


def failures_since(s: Session, since: datetime, *, name: str | None = None, address: str | None = None) -> int:
    """Failed logins since `since` for a user name or from an address."""
    stmt = select(func.count()).select_from(AuditRow).where(AuditRow.action == "login_failed", AuditRow.at >= since)
    if name is not None:
        stmt = stmt.where(AuditRow.actor == name)
    if address is not None:
        stmt = stmt.where(AuditRow.address == address)
    return int(s.scalar(stmt) or 0)


class SignOnPendingRow(Base):
    """A single sign-on in progress (between the redirect to the identity provider and its callback): in
    the database, so that a restart or another worker finishes it. Keyed by the state's SHA-256; the PKCE
    verifier lives only as long as the sign-on (deleted when used or expired)."""

    __tablename__ = "access_sign_on_pending"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(128))
    verifier: Mapped[str] = mapped_column(String(128))
    next_path: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_access_sign_on_pending_expires_at", "expires_at"),)


def put_sign_on(s: Session, state_hash: str, nonce: str, verifier: str, next_path: str, expires_at: datetime,
                now: datetime) -> None:
    """Keep a sign-on in progress; expired ones are deleted on the way."""
    s.execute(delete(SignOnPendingRow).where(SignOnPendingRow.expires_at < now))
    s.add(SignOnPendingRow(state_hash=state_hash, nonce=nonce, verifier=verifier, next_path=next_path,
                           expires_at=expires_at))


def take_sign_on(s: Session, state_hash: str, now: datetime) -> SignOnPendingRow | None:
    """The sign-on of this state, removed so that it is used once (of two workers taking it at once, only
    the one whose delete removed the row gets it); None when unknown or expired."""
    row = s.get(SignOnPendingRow, state_hash)
    if row is None:
        return None
    taken = SignOnPendingRow(state_hash=row.state_hash, nonce=row.nonce, verifier=row.verifier,
                             next_path=row.next_path, expires_at=row.expires_at)
    s.expunge(row)
    gone = s.execute(delete(SignOnPendingRow).where(SignOnPendingRow.state_hash == state_hash))
    if int(getattr(gone, "rowcount", 0) or 0) != 1 or taken.expires_at < now:
        return None
    return taken
