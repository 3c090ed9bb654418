"""Generic webhook (HMAC-signed JSON) against a local HTTP server; Asterisk Originate over a real AMI socket."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest

from hotline.paging.asterisk_call import AsteriskCallChannel
from hotline.paging.base import Recipient
from hotline.paging.secret import Secret
from hotline.paging.webhook import WebhookChannel
from tests.integration.paging_fakes import (  # noqa: F401
    FakeServer,
    Recorded,
    Reply,
    Responder,
    fake_server_fixture,
    json_reply,
    sample_page,
)

HOOK_SECRET = "whsec_5Yh2"
Start = Callable[[Responder], FakeServer]


def receiver(req: Recorded) -> Reply:
    ts = req.headers.get("x-hotline-timestamp", "")
    mac = hmac.new(HOOK_SECRET.encode(), ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
    if req.headers.get("x-hotline-signature") != f"sha256={mac}" or abs(int(ts or 0) - time.time()) > 300:
        return json_reply({"error": "bad signature"}, 401)
    return json_reply({"id": "evt_1001"}, 202)


async def test_webhook_posts_signed_page_json(fake_server: Start) -> None:
    server = fake_server(receiver)
    page = sample_page()
    result = await WebhookChannel(f"{server.url}/hooks/hotline", secret=Secret(HOOK_SECRET)).send(page)
    assert result.ok and result.provider_id == "evt_1001", result
    req = server.requests[0]
    assert req.path == "/hooks/hotline" and req.headers["content-type"] == "application/json; charset=utf-8"
    assert req.headers["x-hotline-page-key"] == page.key
    assert json.loads(req.body) == {
        "key": page.key, "alert_id": "42", "subject": page.subject, "text": page.text, "caller": "02112345678",
        "specialty": "网络", "ack_url": page.ack_url, "ack_code": "7291", "at": "2024-05-06T14:05:00+08:00",
        "recipient": {"name": "王丽", "mobile": "13800138000", "email": "wangli@example.com", "extension": "8001"},
        "extra": {},
    }


async def test_webhook_with_wrong_secret_is_rejected(fake_server: Start) -> None:
    server = fake_server(receiver)
    result = await WebhookChannel(server.url, secret=Secret("other")).send(sample_page())
    assert not result.ok and not result.retryable and result.error == "HTTP 401"


class FakeAmi:
    """An AMI server on 127.0.0.1: banner, then one reply per action; keeps each action's header lines."""

    def __init__(self, reply: Callable[[dict[str, str]], str]) -> None:
        self.reply = reply
        self.actions: list[list[str]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/7.0.3\r\n")
        while True:
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = raw.decode().split("\r\n")[:-2]
            self.actions.append(lines)
            headers = dict(line.split(": ", 1) for line in lines)
            writer.write(self.reply(headers).encode())
            await writer.drain()


async def ami_originate(port: int, action: Mapping[str, str]) -> Mapping[str, str]:
    """What the entry point wires: send one action over AMI and return the response headers."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await reader.readline()
        writer.write("".join(f"{k}: {v}\r\n" for k, v in action.items()).encode() + b"\r\n")
        raw = await reader.readuntil(b"\r\n\r\n")
        return dict(line.split(": ", 1) for line in raw.decode().split("\r\n")[:-2])
    finally:
        writer.close()


@pytest.fixture
async def ami() -> AsyncIterator[tuple[FakeAmi, int]]:
    fake = FakeAmi(lambda h: f"Response: Success\r\nActionID: {h['ActionID']}\r\n"
                             "Message: Originate successfully queued\r\n\r\n")
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    yield fake, server.sockets[0].getsockname()[1]
    server.close()


async def test_originate_calls_the_staff_extension_into_the_ack_ivr(ami: tuple[FakeAmi, int]) -> None:
    fake, port = ami
    channel = AsteriskCallChannel(lambda action: ami_originate(port, action), channel_template="PJSIP/{extension}",
                                  context="hotline-page-ack", caller_id='"热线告警" <4008001234>')
    result = await channel.send(sample_page())
    assert result.ok and result.provider_id == "page-alert-42/step-1/wangli", result
    assert fake.actions == [[
        "Action: Originate",
        "ActionID: page-alert-42/step-1/wangli",
        "Channel: PJSIP/8001",
        "Context: hotline-page-ack",
        "Exten: s",
        "Priority: 1",
        "Timeout: 30000",
        "Variable: HOTLINE_PAGE_KEY=alert-42/step-1/wangli,HOTLINE_ALERT_ID=42,HOTLINE_ACK_CODE=7291,"
        "HOTLINE_CALLER=02112345678",
        "Async: true",
        'CallerID: "热线告警" <4008001234>',
    ]]


async def test_originate_cannot_be_injected_into(ami: tuple[FakeAmi, int]) -> None:
    fake, port = ami
    page = replace(sample_page(), caller="1\r\nAction: Hangup", alert_id="42,X=1")
    channel = AsteriskCallChannel(lambda action: ami_originate(port, action),
                                  channel_template="Local/{extension}@staff")
    assert (await channel.send(page)).ok
    (lines,) = fake.actions
    assert "Action: Hangup" not in lines and "Channel: Local/8001@staff" in lines
    assert "HOTLINE_ALERT_ID=42 X=1" in lines[7]


async def test_originate_error_and_lost_ami_are_retryable() -> None:
    fake = FakeAmi(lambda h: "Response: Error\r\nMessage: Originate failed\r\n\r\n")
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    failed = await AsteriskCallChannel(lambda a: ami_originate(port, a)).send(sample_page())
    server.close()
    await server.wait_closed()
    assert not failed.ok and failed.retryable and "Originate failed" in (failed.error or "")
    lost = await AsteriskCallChannel(lambda a: ami_originate(port, a)).send(sample_page())
    assert not lost.ok and lost.retryable and "AMI" in (lost.error or "")


async def test_recipient_without_extension_is_skipped_without_calling() -> None:
    called: list[Mapping[str, str]] = []

    async def originate(action: Mapping[str, str]) -> Mapping[str, str]:
        called.append(action)
        return {"Response": "Success"}

    page = replace(sample_page(), recipient=Recipient(name="王丽", mobile="13800138000"))
    result = await AsteriskCallChannel(originate).send(page)
    assert not result.ok and not result.retryable and called == []


async def test_silent_ami_times_out_as_retryable() -> None:
    async def stuck(action: Mapping[str, str]) -> Mapping[str, str]:
        await asyncio.Event().wait()
        return {}

    # the outcome of a page call may come ring_seconds after the reply: no ring time here
    result = await AsteriskCallChannel(stuck, timeout=0.05, ring_seconds=0).send(sample_page())
    assert not result.ok and result.retryable and "TimeoutError" in (result.error or "")


async def test_a_voice_page_and_a_survey_call_read_the_same_originate_outcomes_each_their_own_way() -> None:
    """One reading of the Originate outcome (hotline/paging/originate.py): an unanswered voice page is retried
    (then the next channel); an unanswered survey try is not (the survey engine places the next try later)."""
    from hotline.services.surveys.calls import AsteriskSurveyCall

    outcomes = {"no answer": {"Response": "Failure", "Reason": "3"},
                "odd reason": {"Response": "Failure", "Reason": "1234567890"},
                "refused": {"Response": "Error", "Message": "Extension does not exist.\r\n"}}

    def reply(name: str) -> Callable[[Mapping[str, str]], Any]:
        async def originate(action: Mapping[str, str]) -> Mapping[str, str]:
            return outcomes[name]
        return originate

    survey = replace(sample_page(key="S7:r1t2:caller:survey_asterisk"), ack_code="tok,1",
                     recipient=Recipient(name="张先生", mobile="138 0013 8000"))
    read = {}
    for name in outcomes:
        page = await AsteriskCallChannel(reply(name)).send(sample_page())
        asked = await AsteriskSurveyCall(reply(name)).send(survey)
        read[name] = (page.ok, page.retryable, page.error), (asked.ok, asked.retryable, asked.error)
    assert read == {
        "no answer": ((False, True, "未送达 / not delivered: 无人接听 / no answer"),
                      (False, False, "无人接听 / no answer")),
        "odd reason": ((False, True, "未送达 / not delivered: 未接通 / not connected (reason 12345678)"),
                       (False, False, "未接通 / not connected (reason 12345678)")),
        "refused": ((False, True, "Originate 失败 / Originate failed: Extension does not exist."),
                    (False, True, "Originate 失败 / Originate failed: Extension does not exist.")),
    }
    action = AsteriskSurveyCall(reply("no answer"), caller_id="4008001234").action(survey)
    assert list(action.items()) == [
        ("Action", "Originate"), ("ActionID", "survey-S7:r1t2:caller:survey_asterisk"),
        ("Channel", "PJSIP/13800138000@trunk"), ("Context", "hotline-survey"), ("Exten", "s"), ("Priority", "1"),
        ("Timeout", "40000"), ("ChannelId", "hotline-survey-7-1-2"),
        ("Variable", "HOTLINE_SURVEY_ID=7,HOTLINE_SURVEY_TOKEN=tok 1"), ("Async", "true"), ("CallerID", "4008001234")]
