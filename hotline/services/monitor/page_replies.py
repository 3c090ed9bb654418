"""Acknowledgements that come back through a paging channel: an SMS reply with the alert's code (from
a number that was paged for it), or a key pressed in a voice page (the page's own key and code)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from sqlalchemy import select

from hotline.domain.alerts import Alert, normalize_number
from hotline.services.monitor.engine import AlertNotFound, MonitorService
from hotline.store.alerts import OutboxRow, active_alert_id_by_code
from hotline.store.base import unit_of_work

_CODE = re.compile(r"\b(\d{4,8})\b")


def acknowledge_sms(monitor: MonitorService, from_number: str, body: str) -> Alert:
    """'1234', '确认 1234', 'ACK 1234': acknowledged in the name of the person paged on that number."""
    match = _CODE.search(body)
    if match is None:
        raise AlertNotFound("回复中没有确认码 / no acknowledgement code in the reply")
    sender = normalize_number(from_number, monitor.options.dial_prefixes)
    with unit_of_work(monitor.factory) as s:
        alert_id = active_alert_id_by_code(s, match.group(1))
        if alert_id is None:
            raise AlertNotFound(f"确认码无效或告警已关闭 / no open alert with code {match.group(1)}")
        person = None
        for recipient, name in s.execute(select(OutboxRow.recipient, OutboxRow.person)
                                         .where(OutboxRow.alert_id == alert_id)):
            mobile = json.loads(recipient).get("mobile")
            if sender and normalize_number(mobile, monitor.options.dial_prefixes) == sender:
                person = name
                break
    if person is None:
        raise AlertNotFound("此号码未收到该告警的寻呼 / this number was not paged for that alert")
    return monitor.acknowledge(alert_id, person, via="sms")


def acknowledge_voice(monitor: MonitorService, page_key: str, code: str | None, digits: str) -> Alert:
    """A voice page answered with `1`: acknowledged in the name of the person that page called."""
    if digits.strip() != "1":
        raise ValueError("未确认（需按 1）/ not acknowledged: press 1")
    with unit_of_work(monitor.factory) as s:
        row = s.scalars(select(OutboxRow).where(OutboxRow.key == page_key)).first()
        if row is None or row.alert_id is None:
            raise AlertNotFound(f"没有此寻呼 / no page {page_key!r}")
        alert_id, person, page_code = row.alert_id, row.person, row.ack_code
    if code is not None and page_code is not None and code != page_code:
        raise AlertNotFound("确认码不符 / the code does not match the page")
    return monitor.acknowledge(alert_id, person, via="voice")


@dataclass(frozen=True)
class VoiceAck:
    """A key pressed in an Asterisk voice page, as the `hotline-page-ack` dialplan reports it in
    `UserEvent: HotlineAck` (AlertId, Code, Digit and PageKey from the page call's channel variables)."""

    alert_id: str
    code: str | None
    digit: str
    page_key: str | None = None
    channel: str | None = None


def acknowledge_voice_event(monitor: MonitorService, ack: VoiceAck) -> Alert:
    """`1` with the alert's own code acknowledges it, in the name of the person that page called
    (by PageKey; without one, the person of the alert's latest page). A wrong code raises AlertNotFound."""
    if ack.digit.strip() != "1":
        raise ValueError("未确认（需按 1）/ not acknowledged: press 1")
    alert = monitor.alert(ack.alert_id)
    if not alert.ack_code or ack.code != alert.ack_code:
        raise AlertNotFound(f"确认码不符 / the code does not match alert {ack.alert_id}")
    with unit_of_work(monitor.factory) as s:
        stmt = select(OutboxRow.person).where(OutboxRow.alert_id == ack.alert_id)
        if ack.page_key:
            stmt = stmt.where(OutboxRow.key == ack.page_key)
        person = s.scalar(stmt.order_by(OutboxRow.id.desc()).limit(1))
    if person is None:
        raise AlertNotFound(f"没有此告警的寻呼 / no page {ack.page_key or '-'} for alert {ack.alert_id}")
    return monitor.acknowledge(ack.alert_id, person, via="voice")
