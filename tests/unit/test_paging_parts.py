"""Pure parts of paging: texts, signatures against documented vectors, send queue arithmetic."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.paging.aliyun_sms import aliyun_signature, china_mobile
from hotline.paging.base import Page, Recipient
from hotline.paging.rate_limit import FEISHU_LIMITS, Limit, SendQueue
from hotline.paging.retry import RetryPolicy
from hotline.paging.secret import Secret
from hotline.paging.texts import clip_utf8, page_subject, page_text, voice_prompt
from hotline.paging.twilio_channels import e164

AT = datetime(2024, 5, 6, 14, 5, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_aliyun_signature_matches_the_documented_sendsms_example() -> None:
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }
    assert aliyun_signature(params, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_page_text_is_chinese_first_then_english() -> None:
    text = page_text(caller="02112345678", at=AT, specialty_zh="网络", specialty_en="Network",
                     ack_url="https://h.example/ack/1", ack_code="7291")
    zh, en = text.split("\n\n")
    assert zh.startswith("热线有未接来电：来电号码 02112345678，时间 2024-05-06 14:05，专业 网络。")
    assert "确认处理：https://h.example/ack/1" in zh and "7291" in zh
    assert en.startswith("Missed hotline call: caller 02112345678, at 2024-05-06 14:05, specialty Network.")
    assert page_subject("网络", "Network") == "热线未接来电（网络） / Missed hotline call (Network)"


def test_voice_prompt_is_mandarin_and_asks_for_1() -> None:
    page = Page(key="k", recipient=Recipient(name="x"), subject="s", text="t", caller="110", at=AT,
                specialty="服务器")
    assert voice_prompt(page) == ("您好，这里是 IT 支持热线。热线有未接来电，来电号码 1 1 0，时间 14 点 5 分，"
                                  "专业 服务器。确认处理请按 1。")


def test_clip_utf8_counts_bytes_and_keeps_characters_whole() -> None:
    clipped = clip_utf8("热线" * 1000, 2048)
    assert len(clipped.encode()) <= 2048 and clipped.endswith("…") and "\ufffd" not in clipped
    assert clip_utf8("short", 10) == "short"


def test_phone_number_forms() -> None:
    assert e164("138 0013 8000") == "+8613800138000"
    assert e164("+1 415 555 0100") == "+14155550100"
    assert e164("0044 20 7946 0000") == "+442079460000"
    assert china_mobile("+86 138-0013-8000") == "13800138000"


def test_send_queue_honours_every_limit() -> None:
    queue = SendQueue(FEISHU_LIMITS)
    for t in (0.0, 0.1, 0.2, 0.3, 0.4):
        assert queue.delay(t) == 0
        queue._sent.append(t)
    assert queue.delay(0.5) == pytest.approx(0.5)  # 5 a second: the 6th waits for the first to age out
    assert queue.delay(1.0) == 0


async def test_send_queue_serves_waiters_in_arrival_order() -> None:
    now = [0.0]
    order: list[int] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds
        await asyncio.sleep(0)

    queue = SendQueue((Limit(2, 10.0),), clock=lambda: now[0], sleep=sleep)

    async def send(n: int) -> None:
        await queue.acquire()
        order.append(n)

    await asyncio.gather(*(send(n) for n in range(5)))
    assert order == [0, 1, 2, 3, 4] and now[0] == 20.0


def test_retry_policy_and_secret_guard_their_values() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    secret = Secret("s3cr3t")
    assert "s3cr3t" not in repr(secret) and "s3cr3t" not in f"{secret}" and secret.reveal() == "s3cr3t"
