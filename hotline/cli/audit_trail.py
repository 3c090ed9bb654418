"""The audit log of command-line changes: which commands change state, and the entry the dispatcher writes
after one of them succeeds (who, when, from where, what), so that the CLI leaves the same trail as the API.

Every command (and, for a command with a positional `action`, every action) is classified here: CHANGE
(the dispatcher writes an entry after a successful run), READ (nothing is written) or SELF (the command
writes its own, more specific entries: accounts, tokens, privacy export/erase/purge). A command missing from
the table is treated as a change (audited rather than silently missed), and a test walks the parser so that
a new command cannot be added without a classification.
"""

from __future__ import annotations

import argparse
import getpass
import re
import socket
import sys
from collections.abc import Sequence
from typing import Literal
from zoneinfo import ZoneInfo

from hotline.domain.numbers import masked_in_text

Kind = Literal["change", "read", "self"]
CHANGE: Kind = "change"
READ: Kind = "read"
SELF: Kind = "self"

COMMANDS: dict[str, Kind] = {
    # ledger and reports
    "replay": READ, "report answer-rate": READ, "report rollup": CHANGE, "report monthly": READ,
    "report issue": CHANGE, "report issued": READ, "report complaints": READ, "report satisfaction": READ,
    # roster
    "roster who": READ, "roster gaps": READ, "roster import": CHANGE, "roster load": CHANGE,
    "roster export": READ, "roster today": READ, "roster override": CHANGE, "roster overrides": READ,
    "roster override-remove": CHANGE, "roster swap": CHANGE, "roster request override": CHANGE,
    "roster request swap": CHANGE, "roster requests": READ, "roster approve": CHANGE, "roster reject": CHANGE,
    "roster feed create": CHANGE, "roster feed revoke": CHANGE, "roster fairness": READ, "roster ack": CHANGE,
    "roster note": CHANGE, "roster history": READ, "roster holidays seed": CHANGE, "roster holidays list": READ,
    "roster holidays set": CHANGE, "roster holidays unset": CHANGE, "roster holidays confirm": CHANGE,
    # IVR files and lint (files on disk, no stored state)
    "ivr lint": READ, "ivr render": READ, "ivr sounds": READ, "ivr page-ack": READ, "ivr pbx": READ,
    "monitors lint": READ,
    # incidents and alerts
    "incident declare": CHANGE, "incident reported": CHANGE, "incident list": READ,
    "alerts list": READ, "alerts ack": CHANGE, "alerts resolve": CHANGE, "alerts unreturned": READ,
    "alerts returned": READ,
    # long-running services: their changes are the watcher's own, made on the desk's behalf
    "listen": READ, "serve": READ, "demo": READ,
    # tickets, complaints, surveys, knowledge base
    "tickets list": READ, "tickets show": READ, "tickets assign": CHANGE, "tickets start": CHANGE,
    "tickets escalate": CHANGE, "tickets resolve": CHANGE, "tickets close": CHANGE, "tickets report": CHANGE,
    "tickets reopen": CHANGE, "tickets caller": CHANGE, "tickets edit": CHANGE,
    "complaints open": CHANGE, "complaints mark": CHANGE, "complaints mark-call": CHANGE,
    "complaints reply": CHANGE, "complaints agree": CHANGE, "complaints form": CHANGE, "complaints export": READ,
    "surveys due": READ, "surveys run": CHANGE, "surveys show": READ, "surveys record": CHANGE,
    "surveys cancel": CHANGE,
    "kb search": READ, "kb show": READ, "kb draft": CHANGE, "kb edit": CHANGE, "kb publish": CHANGE,
    # accounts and personal data write their own entries (account_added, token_issued, privacy_erase ...)
    "users add": SELF, "users list": READ, "users disable": SELF, "users reset-password": SELF,
    "users token add": SELF, "users token list": READ, "users token revoke": SELF,
    "privacy export": SELF, "privacy erase": SELF, "privacy purge": SELF,
}

# Option values never written to the log (a secret on a command line is still a secret).
_SECRET_OPTION = re.compile(r"pass|secret|token|key", re.IGNORECASE)
# a run of digits standing on its own: not part of a hex id (an alert id `f9e7626064324a1d` held a valid landline)


def subparsers_of(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def action_choices(parser: argparse.ArgumentParser) -> list[str]:
    """The choices of a leaf command's positional `action` (`privacy erase`, `users token add`), if any."""
    for action in parser._actions:
        if not action.option_strings and action.dest == "action" and action.choices is not None:
            return [str(c) for c in action.choices]
    return []


def command_key(parser: argparse.ArgumentParser, words: Sequence[str], args: argparse.Namespace) -> str:
    """The classified name of the command a command line runs ('roster request override', 'privacy erase')."""
    names: list[str] = []
    rest = list(words)
    while (sub := subparsers_of(parser)) is not None:
        found = None
        while rest:
            word = rest.pop(0)
            if word.startswith("-"):
                option = parser._option_string_actions.get(word.split("=", 1)[0])
                if option is not None and option.nargs != 0 and "=" not in word and rest:
                    rest.pop(0)  # the option's value
                continue
            if word in sub.choices:
                found = word
                break
        if found is None:
            break
        names.append(found)
        parser = sub.choices[found]
    if action_choices(parser):
        names.append(str(getattr(args, "action", "")))
    return " ".join(names)


def classify(key: str) -> Kind:
    return COMMANDS.get(key, CHANGE)


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "***"


def described(words: Sequence[str]) -> str:
    """The command line as the log keeps it: numbers masked, secrets and database passwords hidden."""
    out: list[str] = []
    hide_next = db_next = False
    for word in words:
        if hide_next or db_next:
            out.append("***" if hide_next else _without_password(word))
            hide_next = db_next = False
            continue
        name, eq, value = word.partition("=")
        if word.startswith("--") and _SECRET_OPTION.search(name) and name != "--password-stdin":
            if eq:
                out.append(f"{name}=***")
            else:
                out.append(word)
                hide_next = True
            continue
        if name == "--db":
            if eq:
                out.append(f"--db={_without_password(value)}")
            else:
                out.append(word)
                db_next = True
            continue
        out.append(masked_in_text(word))
    return " ".join(out)


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def actor_of(args: argparse.Namespace) -> str:
    """Who made the change: the command's `--actor` (roster) or `--by`, else the login running it."""
    for name in ("actor", "by"):
        value = getattr(args, name, None)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return f"cli:{os_user()}"


def record_run(url: str, tz: ZoneInfo, key: str, words: Sequence[str], args: argparse.Namespace) -> None:
    """Write the entry of a successful state-changing command; a failure to write it is said on stderr (the
    change itself is made and stays)."""
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.access.audit import AuditLog

    try:
        db = open_database(url)
        try:
            AuditLog(db.factory).add(
                SystemClock(tz).now(), actor=actor_of(args), action="change", target=f"hotline {key}",
                outcome="0", address=f"cli@{socket.gethostname()}",
                detail=f"os_user={os_user()} argv={described(words)}")
        finally:
            db.engine.dispose()
    except Exception as e:  # the change is made; a missing entry is said, not a crash
        print(f"警告 / warning: 审计日志未写入 / audit entry not written: {type(e).__name__}", file=sys.stderr)
