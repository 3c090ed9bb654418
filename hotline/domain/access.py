"""Who may do what: roles, their rights, and the table from (method, path) to the least role a request
needs. Default-deny: a path no rule names is refused to everyone below the default role, so a route
added without a rule is protected the day it lands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # the wallboard: reads, numbers masked
    STAFF = "staff"  # works alerts and tickets: acknowledges, calls back
    SUPERVISOR = "supervisor"  # + roster editing, reports, exports, incidents, the audit log
    ADMIN = "admin"  # + accounts and settings

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"未知角色 {text!r}，应为 {known} / unknown role {text!r}: {known}") from None


def sees_numbers(role: Role) -> bool:
    """Staff call callers back, so they see full numbers; the wallboard does not."""
    return role.allows(Role.STAFF)


def exports_numbers(role: Role) -> bool:
    """Full caller numbers leave the system in an export only for supervisors and admins."""
    return role.allows(Role.SUPERVISOR)


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Routes anyone may reach, each with its own check: Twilio's signature, the signed one-tap link, the
# login form. Exact paths, or prefixes ending with '/'.
PUBLIC = ("/healthz", "/login", "/login/oidc", "/login/oidc/callback", "/static/", "/ack/", "/twilio/",
          "/favicon.ico",
          "/api/roster/feeds/",  # a person's secret calendar feed: the secret in the path is its check
          "/aliyun/survey-sms/")  # Aliyun's reply push (no signature): the shared token in the path is its check

# Routes every signed-in account may post to whatever its role (its own session).
SELF_SERVICE = ("/logout",)


@dataclass(frozen=True)
class Rule:
    methods: frozenset[str]  # empty: every method
    prefix: str  # a path prefix; '*' inside one segment matches that segment
    role: Role

    def matches(self, method: str, path: str) -> bool:
        if self.methods and method not in self.methods:
            return False
        return _prefix_match(self.prefix, path)


def _prefix_match(prefix: str, path: str) -> bool:
    want = prefix.split("/")
    have = path.split("/")
    if len(have) < len(want):
        return False
    for i, (w, h) in enumerate(zip(want, have, strict=False)):
        last = i == len(want) - 1
        if w == "*":
            continue
        if last and w.endswith("*"):
            if not h.startswith(w[:-1]):
                return False
        elif w != h:
            return False
    return True


def _rule(methods: str, prefix: str, role: Role) -> Rule:
    return Rule(frozenset(methods.split()) if methods else frozenset(), prefix, role)


_W = "POST PUT PATCH DELETE"
# First match wins: narrow rules first. Reads default to viewer (the JSON a viewer gets has its
# numbers masked); writes default to DEFAULT_WRITE.
RULES: tuple[Rule, ...] = (
    # accounts, tokens, settings: admin
    _rule("", "/api/access", Role.ADMIN),
    _rule("", "/api/settings", Role.ADMIN),
    # the audit log and its export: supervisors
    _rule("", "/api/audit", Role.SUPERVISOR),
    _rule("", "/api/audit.csv", Role.SUPERVISOR),
    # staff work their alerts and tickets: acknowledge, call back, tickets
    _rule(_W, "/api/alerts/*/ack", Role.STAFF),
    _rule(_W, "/api/alerts/*/callback", Role.STAFF),
    _rule(_W, "/api/alerts/*/resolve", Role.SUPERVISOR),
    # complaints (投诉): staff open, mark, reply and fill in the feedback form; the form and its files hold
    # the complainant's words and number, so reading them is for staff too
    _rule("", "/api/tickets/*/complaint", Role.STAFF),
    _rule(_W, "/api/complaints", Role.STAFF),
    _rule(_W, "/api/tickets", Role.STAFF),
    _rule(_W, "/api/surveys/*/record", Role.STAFF),  # staff who called the customer record the answers
    # personal data in bulk: exports of the ledger, privacy requests
    _rule("", "/api/calls.csv", Role.VIEWER),  # numbers masked unless exports_numbers(role)
    _rule("", "/api/privacy", Role.ADMIN),
    # staff ask for roster changes (a manager approves them) and acknowledge taking over their own shift
    _rule(_W, "/api/roster/requests/*/*", Role.SUPERVISOR),  # approve, reject
    _rule(_W, "/api/roster/requests", Role.STAFF),
    _rule(_W, "/api/roster/handover/ack", Role.STAFF),
    _rule(_W, "/api/roster/overrides/preview", Role.STAFF),  # stores nothing: what a request would do
    # supervisors: roster edits, reports, incidents and everything else that writes
    _rule(_W, "/api/roster", Role.SUPERVISOR),
    _rule(_W, "/api/incidents", Role.SUPERVISOR),
    _rule(_W, "/api/reports", Role.SUPERVISOR),
)
DEFAULT_READ = Role.VIEWER
DEFAULT_WRITE = Role.SUPERVISOR


def is_public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


def is_self_service(path: str) -> bool:
    return path in SELF_SERVICE


def needed_role(method: str, path: str) -> Role | None:
    """The least role for `method path`; None for a public route."""
    if is_public(path):
        return None
    if is_self_service(path):
        return Role.VIEWER
    for rule in RULES:
        if rule.matches(method, path):
            return rule.role
    return DEFAULT_READ if method in READ_METHODS else DEFAULT_WRITE


def is_state_change(method: str) -> bool:
    return method not in READ_METHODS


def is_personal_export(method: str, path: str) -> bool:
    """A download of personal data in bulk, recorded in the audit log."""
    return method == "GET" and (path.endswith((".csv", ".xlsx")) or "/export" in path) and "answer-rate" not in path


# ---- login throttling ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Throttle:
    """At most `per_account` failed logins for one user name, or `per_address` from one address, in
    `window`; past that, logins are refused until the window has moved on."""

    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)

    def since(self, now: datetime) -> datetime:
        return now - self.window

    def refuses(self, failures_for_name: int, failures_from_address: int) -> bool:
        return failures_for_name >= self.per_account or failures_from_address >= self.per_address


# ---- spreadsheet cells -----------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral_cell(value: object) -> object:
    """A text cell Excel would run as a formula gets a leading apostrophe; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


# ---- who is asking ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Principal:
    """A signed-in account as one request sees it. `role` is the token's scope when a token is used."""

    account_id: int
    username: str
    person: str | None
    role: Role
    via: str  # 'session' or 'token'
    csrf: str | None = None  # the session's CSRF token; None for API tokens

    @property
    def name(self) -> str:
        """What 'acknowledged by' / 'changed by' records: the roster person, else the account name."""
        return self.person or self.username
