"""Accounts: add, list, disable, reset a password; sign in with a password (argon2, throttled)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.domain.access import Principal, Role, Throttle, parse_role
from hotline.services.access.audit import record
from hotline.store.access import AccountRow, SessionRow, account_by_name, active_account_count, failures_since
from hotline.store.base import unit_of_work

MIN_PASSWORD = 10
_HASHER = PasswordHasher()
# Verified when the user name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY: list[str] = []  # a hash to check unknown names against (same time as a real check), made on first use


def _dummy() -> str:
    if not _DUMMY:
        _DUMMY.append(_HASHER.hash("not-a-password-of-anyone"))
    return _DUMMY[0]


class AccountError(ValueError):
    """A request about accounts that cannot be done, said in the desk's words."""


class LoginRefused(Exception):
    """Wrong name or password, a disabled account, or too many failures (`throttled`)."""

    def __init__(self, throttled: bool = False) -> None:
        self.throttled = throttled
        super().__init__("登录过于频繁，请稍后再试 / too many failed logins, try again later" if throttled
                         else "用户名或密码错误 / wrong user name or password")


@dataclass(frozen=True)
class Account:
    account_id: int
    username: str
    person: str | None
    role: Role
    disabled: bool
    created_at: datetime

    def principal(self, via: str, csrf: str | None = None, scope: Role | None = None) -> Principal:
        role = self.role if scope is None or not self.role.allows(scope) else scope
        return Principal(self.account_id, self.username, self.person, role, via, csrf)


def account_of(row: AccountRow) -> Account:
    return Account(row.account_id, row.username, row.person, Role(row.role), row.disabled, row.created_at)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符 / a password needs at least {MIN_PASSWORD} characters")


class AccountService:
    """Accounts in the database. `people` names the roster's people: an account is one of them."""

    def __init__(self, factory: sessionmaker[Session], clock: Clock,
                 people: Callable[[], Iterable[str]] | None = None, actor: str = "system") -> None:
        self.factory = factory
        self.clock = clock
        self.people = people
        self.actor = actor  # who the audit log names for account changes (e.g. 'cli:root')

    def add(self, username: str, role: str, password: str | None, person: str | None = None) -> Account:
        name = username.strip()
        if not name or len(name) > 64 or any(c.isspace() for c in name):
            raise AccountError(f"用户名无效 {username!r} / not a valid user name: {username!r}")
        parsed = parse_role(role)
        if person is not None and self.people is not None:
            known = set(self.people())
            if not known:
                raise AccountError("值班表为空，请先导入值班表 / the roster has no people yet: load it first "
                                   "(hotline roster load, or start `hotline serve` once)")
            if person not in known:
                raise AccountError(f"值班表中没有 {person!r} / {person!r} is not one of the roster's people")
        if password is not None:
            check_password(password)
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            if account_by_name(s, name) is not None:
                raise AccountError(f"用户 {name} 已存在 / account {name} exists already")
            row = AccountRow(username=name, person=person, role=parsed.value, disabled=False, created_at=now,
                             password_hash=None if password is None else _HASHER.hash(password),
                             password_changed_at=now if password is not None else None)
            s.add(row)
            s.flush()
            record(s, now, actor=self.actor, action="account_added", target=name, outcome="ok",
                   detail=f"role={parsed.value} person={person or '-'}")
            return account_of(row)

    def list(self) -> list[Account]:
        with unit_of_work(self.factory) as s:
            return [account_of(r) for r in s.scalars(select(AccountRow).order_by(AccountRow.username))]

    def get(self, username: str) -> Account:
        with unit_of_work(self.factory) as s:
            return account_of(self._row(s, username))

    def _row(self, s: Session, username: str) -> AccountRow:
        row = account_by_name(s, username)
        if row is None:
            raise AccountError(f"没有用户 {username} / no account {username}")
        return row

    def disable(self, username: str) -> Account:
        """Disabled at once: its sessions end; its tokens stop working (they check the account)."""
        with unit_of_work(self.factory) as s:
            row = self._row(s, username)
            row.disabled = True
            s.query(SessionRow).filter(SessionRow.account_id == row.account_id).delete()
            record(s, self.clock.now(), actor=self.actor, action="account_disabled", target=username, outcome="ok")
            return account_of(row)

    def reset_password(self, username: str, password: str) -> None:
        check_password(password)
        with unit_of_work(self.factory) as s:
            row = self._row(s, username)
            row.password_hash = _HASHER.hash(password)
            row.password_changed_at = self.clock.now()
            s.query(SessionRow).filter(SessionRow.account_id == row.account_id).delete()
            record(s, self.clock.now(), actor=self.actor, action="password_reset", target=username, outcome="ok")

    def any_active(self) -> bool:
        with unit_of_work(self.factory) as s:
            return active_account_count(s) > 0

    def authenticate(self, username: str, password: str, address: str | None, throttle: Throttle) -> Account:
        """The account, or LoginRefused; every failure is in the audit log (and counts towards throttling)."""
        now = self.clock.now()
        name = username.strip()[:64]
        with unit_of_work(self.factory) as s:
            since = throttle.since(now)
            throttled = throttle.refuses(failures_since(s, since, name=name), failures_since(s, since, address=address))
            if throttled:  # recorded, then refused outside the unit of work (an exception would roll it back)
                record(s, now, actor=name, action="login_throttled", target="login", outcome="refused",
                       address=address)
        if throttled:
            raise LoginRefused(throttled=True)
        with unit_of_work(self.factory) as s:
            row = account_by_name(s, name)
            ok = _verify(row.password_hash if row is not None and row.password_hash else _dummy(), password)
            if row is None or not ok or row.disabled or not row.password_hash:
                record(s, now, actor=name, action="login_failed", target="login", outcome="refused",
                       address=address, detail="disabled" if row is not None and row.disabled else None)
                failed = True
            else:
                if _HASHER.check_needs_rehash(row.password_hash):
                    row.password_hash = _HASHER.hash(password)
                record(s, now, actor=name, person=row.person, action="login", target="login", outcome="ok",
                       address=address)
                failed = False
                account = account_of(row)
        if failed:
            raise LoginRefused()
        return account


    def single_sign_on(self, username: str, address: str | None, provider: str) -> Account:
        """The active local account the identity provider vouched for, or LoginRefused (audited)."""
        now = self.clock.now()
        with unit_of_work(self.factory) as s:
            row = account_by_name(s, username[:64])
            ok = row is not None and not row.disabled
            record(s, now, actor=username[:64], person=row.person if row else None,
                   action="login" if ok else "login_failed", target=f"login {provider}",
                   outcome="ok" if ok else "refused", address=address,
                   detail=None if ok else ("disabled" if row is not None else "no local account"))
            account = account_of(row) if ok and row is not None else None
        if account is None:
            raise LoginRefused()
        return account


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
