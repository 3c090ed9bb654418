"""The dispatcher: a failing channel is retried with backoff, then the person's next channel is used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from hotline.paging.base import Page, PagingChannel, Recipient, SendResult
from hotline.paging.dispatcher import Dispatcher
from hotline.paging.retry import RetryPolicy
from hotline.paging.secret import Secret
from hotline.paging.webhook import WebhookChannel
from hotline.paging.wecom import WeComRobotChannel
from tests.integration.paging_fakes import (  # noqa: F401
    FakeServer,
    Responder,
    fake_server_fixture,
    json_reply,
    sample_page,
)

Start = Callable[[Responder], FakeServer]


class Recorder:
    """Sleeps by writing down how long it would have slept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Scripted:
    """A channel that answers from a script of results (the last one repeats)."""

    def __init__(self, name: str, *answers: SendResult | Exception) -> None:
        self.name = name
        self.answers = list(answers)
        self.pages: list[Page] = []

    async def send(self, page: Page) -> SendResult:
        self.pages.append(page)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(name: str) -> SendResult:
    return SendResult(ok=True, channel=name, provider_id=f"{name}-1")


async def test_failing_channel_is_retried_then_next_channel_used(fake_server: Start) -> None:
    broken = fake_server(lambda req: json_reply({"error": "boom"}, 500))
    robot = fake_server(lambda req: json_reply({"errcode": 0, "errmsg": "ok"}))
    channels: dict[str, PagingChannel] = {
        "webhook": WebhookChannel(broken.url),
        "wecom": WeComRobotChannel(Secret("k"), base_url=robot.url),
    }
    sleep = Recorder()
    dispatcher = Dispatcher(channels, ["webhook", "wecom"], retry=RetryPolicy(attempts=3, initial=1.0), sleep=sleep)
    attempts = await dispatcher.deliver(sample_page())
    assert [(a.channel, a.attempt, a.ok, a.retryable, a.error) for a in attempts] == [
        ("webhook", 1, False, True, "HTTP 500"),
        ("webhook", 2, False, True, "HTTP 500"),
        ("webhook", 3, False, True, "HTTP 500"),
        ("wecom", 1, True, False, None),
    ]
    assert sleep.waits == [1.0, 2.0]  # exponential backoff between the three tries
    assert len(broken.requests) == 3 and len(robot.requests) == 1


async def test_recipient_order_wins_and_success_stops_the_fallback() -> None:
    sms, mail = Scripted("sms", ok("sms")), Scripted("email", ok("email"))
    dispatcher = Dispatcher({"sms": sms, "email": mail}, ["sms", "email"], sleep=Recorder())
    page = replace(sample_page(), recipient=replace(sample_page().recipient, channels=("email", "sms")))
    attempts = await dispatcher.deliver(page)
    assert attempts == [replace(ok("email"), attempt=1)] and sms.pages == []
    assert [a.channel for a in await dispatcher.deliver(page, order=["sms"])] == ["sms"]


async def test_final_failure_is_not_retried_and_missing_channel_is_recorded() -> None:
    no_mobile = SendResult(ok=False, channel="sms", error="收件人没有手机号 / recipient has no mobile number")
    sms, mail = Scripted("sms", no_mobile), Scripted("email", ok("email"))
    sleep = Recorder()
    dispatcher = Dispatcher({"sms": sms, "email": mail}, ["wecom", "sms", "email"], sleep=sleep)
    attempts = await dispatcher.deliver(sample_page())
    assert [(a.channel, a.ok) for a in attempts] == [("wecom", False), ("sms", False), ("email", True)]
    assert attempts[0].error == "通道未启用 / channel not enabled"
    assert len(sms.pages) == 1 and sleep.waits == []


async def test_a_raising_channel_is_recorded_without_its_message_and_fallback_goes_on() -> None:
    bad = Scripted("wecom", RuntimeError("https://qyapi.weixin.qq.com/send?key=SECRETKEY"))
    dispatcher = Dispatcher({"wecom": bad, "email": Scripted("email", ok("email"))}, ["wecom", "email"],
                            sleep=Recorder())
    attempts = await dispatcher.deliver(sample_page())
    assert [(a.channel, a.ok) for a in attempts] == [("wecom", False), ("email", True)]
    assert "SECRETKEY" not in (attempts[0].error or "") and "RuntimeError" in (attempts[0].error or "")


async def test_every_channel_failing_returns_every_attempt() -> None:
    busy = SendResult(ok=False, channel="voice", error="HTTP 503", retryable=True)
    s = Recorder()
    dispatcher = Dispatcher({"voice": Scripted("voice", busy)}, ["voice"],
                            retries={"voice": RetryPolicy(attempts=4, initial=2.0, maximum=5.0)}, sleep=s)
    attempts = await dispatcher.deliver(sample_page())
    assert [a.attempt for a in attempts] == [1, 2, 3, 4] and not any(a.ok for a in attempts)
    assert s.waits == [2.0, 4.0, 5.0]  # capped at maximum


async def test_call_until_reached_repeats_until_acknowledged() -> None:
    voice = Scripted("asterisk_call", ok("asterisk_call"))
    acked = iter([False, False, True])
    sleep = Recorder()

    async def is_acked(page: Page) -> bool:
        return next(acked)

    dispatcher = Dispatcher({"asterisk_call": voice}, ["asterisk_call"], rounds=5, interval=90.0, sleep=sleep)
    attempts = await dispatcher.deliver_until_acked(sample_page(), is_acked)
    assert len(attempts) == 2 and len(voice.pages) == 2 and sleep.waits == [90.0, 90.0]


async def test_call_until_reached_gives_up_after_its_rounds() -> None:
    voice = Scripted("asterisk_call", ok("asterisk_call"))

    async def never(page: Page) -> bool:
        return False

    dispatcher = Dispatcher({"asterisk_call": voice}, ["asterisk_call"], sleep=Recorder())
    attempts = await dispatcher.deliver_until_acked(sample_page(), never, rounds=3)
    assert len(attempts) == 3 and all(a.ok for a in attempts)


def test_order_without_recipient_channels_is_the_default_without_repeats() -> None:
    dispatcher = Dispatcher({}, ["wecom", "sms", "wecom"])
    page = replace(sample_page(), recipient=Recipient(name="x"))
    assert dispatcher.order_for(page) == ("wecom", "sms")
