"""Issue 15: a ticket follows a phone transfer, on SQLite and PostgreSQL with the shipped roster. The call is
built from provider-neutral events as the tracker emits them for the recorded transfers; the ticket opened at
the answer stays the one ticket, its assignee follows the staff member who ended up with the caller, and the
timeline records each hand-over once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hotline.domain.calls import Call, CallEvent, Direction, EventKind, Party, Transfer, apply, start
from tests.integration.conftest import TICKETS_T0 as T0
from tests.integration.conftest import TicketDesk


def ev(kind: EventKind, seconds: float, **kw: object) -> CallEvent:
    return CallEvent("x1", kind, T0 + timedelta(seconds=seconds), **kw)  # type: ignore[arg-type]


def answered_call(first: str) -> Call:
    call = start(ev(EventKind.STARTED, 0, direction=Direction.INBOUND, caller="13800138004", called="4008001234"))
    for e in (ev(EventKind.MENU, 4, menu="1", specialty="network"),
              ev(EventKind.QUEUE, 4.3, queue="network", specialty="network"),
              ev(EventKind.ANSWERED, 7, answered_by=first, queue="network")):
        apply(call, e)
    return call


def test_the_ticket_follows_a_blind_transfer_to_the_colleague_who_took_the_caller(
        ticket_desk: TicketDesk) -> None:
    t, _ = ticket_desk
    call = answered_call("8002")  # 李娜
    t.opener.on_answered(call)  # the screen pop opens the ticket for who answered
    (view,) = t.desk.find()
    assert view.ticket.assignee == "李娜"
    for e in (ev(EventKind.TRANSFERRED, 60, transfer=Transfer.BLIND),
              ev(EventKind.STAFF_REACHED, 60.1),
              ev(EventKind.ANSWERED, 63, answered_by="8003"),  # 王芳
              ev(EventKind.HANGUP_REQUEST, 200, party=Party.CALLER),
              ev(EventKind.ENDED, 200.1)):
        apply(call, e)
    t.opener.on_call(call)
    t.opener.on_call(call)  # told twice (a batch listener after an outage): nothing twice
    (view,) = t.desk.find()
    assert [c.call_id for c in view.calls] == ["x1"]  # still one ticket, one call
    assert view.ticket.assignee == "王芳"
    timeline = t.desk.timeline(view.ticket.ticket_id)
    transfers = [c for c in timeline if c.action == "transfer"]
    assert [(c.actor, c.old, c.new) for c in transfers] == [("李娜", "8002", "8003")]
    assert transfers[0].note is not None and transfers[0].note.startswith("盲转 / blind transfer")
    assert transfers[0].at == T0 + timedelta(seconds=60)
    assigns = [(c.old, c.new) for c in timeline if c.action == "assign"]
    assert assigns == [(None, "李娜"), ("李娜", "王芳")]


def test_an_attended_transfer_to_someone_outside_the_roster_is_on_the_timeline_and_keeps_the_assignee(
        ticket_desk: TicketDesk) -> None:
    t, _ = ticket_desk
    call = answered_call("8001")  # 张伟
    for e in (ev(EventKind.HANGUP_REQUEST, 40, party=Party.AGENT),  # 张伟 hangs up: that completes it
              ev(EventKind.TRANSFERRED, 40.01, transfer=Transfer.ATTENDED, answered_by="vendor-desk"),
              ev(EventKind.HANGUP_REQUEST, 90, party=Party.AGENT),
              ev(EventKind.ENDED, 90.1)):
        apply(call, e)
    t.opener.on_call(call)  # not seen at its answer: opened and followed at once
    (view,) = t.desk.find()
    assert view.ticket.assignee == "张伟"  # the roster does not know the target
    (change,) = [c for c in t.desk.timeline(view.ticket.ticket_id) if c.action == "transfer"]
    assert (change.old, change.new) == ("8001", "vendor-desk")
    assert change.note is not None and change.note.startswith("咨询转接 / attended transfer")
    assert call.as_dict()["hung_up_by"] == "agent" and call.talk_seconds == pytest.approx(83.0)


def test_a_blind_transfer_to_a_queue_nobody_answered_records_the_queue(ticket_desk: TicketDesk) -> None:
    t, _ = ticket_desk
    call = answered_call("8002")
    for e in (ev(EventKind.TRANSFERRED, 30, transfer=Transfer.BLIND),
              ev(EventKind.QUEUE, 30.1, queue="apps", specialty="applications"),
              ev(EventKind.HANGUP_REQUEST, 50, party=Party.CALLER),
              ev(EventKind.ENDED, 50.1)):
        apply(call, e)
    t.opener.on_call(call)
    (view,) = t.desk.find()
    assert view.ticket.assignee == "李娜" and view.ticket.specialty == "network"
    (change,) = [c for c in t.desk.timeline(view.ticket.ticket_id) if c.action == "transfer"]
    assert change.new == "队列 queue apps"
