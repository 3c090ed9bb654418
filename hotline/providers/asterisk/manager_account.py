"""The AMI account hotline needs on the PBX (manager.conf), in one place: `hotline ivr pbx` prints it,
docs/asterisk.md shows it, and the integration suite logs in with exactly these rights.

Asterisk checks an action against the account's `write` classes (any class of the action will do) and
sends an event only to accounts whose `read` classes include the event's class."""

from __future__ import annotations

import re

# class -> what hotline reads or sends with it
READ = {
    "call": "Newchannel, Hangup, Dial*, Bridge*, SoftHangupRequest, OriginateResponse (voice pages, survey calls)",
    "agent": "QueueCallerJoin/Leave/Abandon, AgentCalled/Connect/Complete, QueueMember*",
    "cdr": "Cdr (who hung up, billable seconds)",
    "dialplan": "VarSet of HOTLINE_SPECIALTY / the queue variable / HOTLINE_SURVEY_* (survey keys)",
    "user": "UserEvent HotlineAck (a voice page acknowledged by key 1)",
    "system": "FullyBooted, Shutdown (a PBX restart is not a caller hanging up)",
}
WRITE = {
    "system": "CoreShowChannels (snapshot after every login), DBPut / DBDel / DBGet (AstDB sync)",
    "originate": "Originate (voice pages, survey calls)",
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def manager_conf(username: str = "hotline", permit: str = "10.0.0.5/255.255.255.255",
                 secret: str = "change-me") -> str:
    """The manager.conf section of hotline's AMI account (`[general]` needs `timestampevents = yes`)."""
    if not _NAME.match(username):
        raise ValueError(f"AMI username {username!r}: letters, digits, '_', '.' or '-' only")
    lines = [
        f"[{username}]",
        f"secret = {secret}           ; hotline reads it from HOTLINE_AMI_SECRET, never from a file",
        "deny = 0.0.0.0/0.0.0.0",
        f"permit = {permit}   ; the hotline host",
        f"read = {','.join(READ)}",
        f"write = {','.join(WRITE)}",
        "; keep noise out on a busy PBX (hotline reads neither):",
        "eventfilter = !Event: Newexten",
        "eventfilter = !Event: RTCP*",
    ]
    why = [f";   read {k}: {v}" for k, v in READ.items()] + [f";   write {k}: {v}" for k, v in WRITE.items()]
    return "\n".join(["; hotline's AMI account (hotline/providers/asterisk/manager_account.py)", *why, *lines]) + "\n"
