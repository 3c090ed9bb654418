"""Browser sessions and personal API tokens. The browser holds a random session token (an HttpOnly
cookie) and a CSRF token; scripts hold an API token. Only SHA-256 hashes of both are stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.domain.access import Principal, Role, parse_role
from hotline.services.access.accounts import Account, AccountError, account_of
from hotline.services.access.audit import record
from hotline.store.access import AccountRow, SessionRow, TokenRow, account_by_name
from hotline.store.base import unit_of_work

TOKEN_PREFIX = "hl_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewSession:
    token: str  # for the cookie; never stored
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    token_id: int
    username: str
    name: str
    scope: Role
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class SessionService:
    def __init__(self, factory: sessionmaker[Session], clock: Clock, lifetime: timedelta) -> None:
        self.factory = factory
        self.clock = clock
        self.lifetime = lifetime

    def start(self, account: Account) -> NewSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = self.clock.now()
        expires = now + self.lifetime
        with unit_of_work(self.factory) as s:
            s.query(SessionRow).filter(SessionRow.expires_at < now).delete()
            s.add(SessionRow(token_hash=digest(token), account_id=account.account_id, csrf=csrf, created_at=now,
                             expires_at=expires))
        return NewSession(token, csrf, expires)

    def principal(self, token: str) -> Principal | None:
        """The signed-in account of a session cookie; None when unknown, expired or disabled."""
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            found = s.execute(select(SessionRow, AccountRow).join(AccountRow)
                              .where(SessionRow.token_hash == digest(token))).first()
            if found is None:
                return None
            row, account = found
            if row.expires_at <= now or account.disabled:
                return None
            return account_of(account).principal("session", csrf=row.csrf)

    def end(self, token: str) -> None:
        with unit_of_work(self.factory) as s:
            s.query(SessionRow).filter(SessionRow.token_hash == digest(token)).delete()


# `last_used_at` of a token is kept to the minute: a busy token does not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenService:
    def __init__(self, factory: sessionmaker[Session], clock: Clock, actor: str = "system") -> None:
        self.factory = factory
        self.clock = clock
        self.actor = actor

    def issue(self, username: str, name: str, scope: str | None = None) -> tuple[str, TokenInfo]:
        """A new token for `username`, acting at most as `scope` (default: the account's role); the
        token itself is shown once and never stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            account = account_by_name(s, username)
            if account is None:
                raise AccountError(f"没有用户 {username} / no account {username}")
            role = Role(account.role)
            wanted = role if scope is None else parse_role(scope)
            if not role.allows(wanted):
                raise AccountError(f"令牌范围 {wanted} 超出角色 {role} / a token cannot go beyond the account's "
                                   f"role ({role})")
            row = TokenRow(account_id=account.account_id, name=name, token_hash=digest(token), scope=wanted.value,
                           created_at=now)
            s.add(row)
            s.flush()
            record(s, now, actor=self.actor, action="token_issued", target=username, outcome="ok",
                   detail=f"token={row.token_id} name={name} scope={wanted.value}")
            return token, _info(row, username)

    def principal(self, token: str) -> Principal | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with unit_of_work(self.factory) as s:
            found = s.execute(select(TokenRow, AccountRow).join(AccountRow)
                              .where(TokenRow.token_hash == digest(token))).first()
            if found is None:
                return None
            row, account = found
            if row.revoked_at is not None or account.disabled:
                return None
            now = self.clock.now()
            if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
                row.last_used_at = now  # a write per minute, not per request (a wallboard asks every 2 s)
            return account_of(account).principal("token", scope=Role(row.scope))

    def revoke(self, token_id: int) -> TokenInfo:
        with unit_of_work(self.factory) as s:
            found = s.execute(select(TokenRow, AccountRow).join(AccountRow)
                              .where(TokenRow.token_id == token_id)).first()
            if found is None:
                raise AccountError(f"没有令牌 {token_id} / no token {token_id}")
            row, account = found
            if row.revoked_at is None:
                row.revoked_at = self.clock.now()
                record(s, row.revoked_at, actor=self.actor, action="token_revoked", target=account.username,
                       outcome="ok", detail=f"token={token_id}")
            return _info(row, account.username)

    def list(self, username: str | None = None) -> list[TokenInfo]:
        stmt = select(TokenRow, AccountRow).join(AccountRow).order_by(TokenRow.token_id)
        if username:
            stmt = stmt.where(AccountRow.username == username)
        with unit_of_work(self.factory) as s:
            return [_info(t, a.username) for t, a in s.execute(stmt).all()]


def _info(row: TokenRow, username: str) -> TokenInfo:
    return TokenInfo(row.token_id, username, row.name, Role(row.scope), row.created_at, row.last_used_at,
                     row.revoked_at)
