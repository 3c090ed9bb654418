"""WeCom, DingTalk and Feishu robots against local servers that check signature, body and headers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Callable

from hotline.paging.dingtalk import DingTalkRobotChannel
from hotline.paging.feishu import FeishuBotChannel
from hotline.paging.rate_limit import Limit, SendQueues
from hotline.paging.secret import Secret
from hotline.paging.wecom import WeComRobotChannel
from tests.integration.paging_fakes import (  # noqa: F401
    FakeServer,
    Recorded,
    Reply,
    Responder,
    fake_server_fixture,
    json_reply,
    sample_page,
)

WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DING_TOKEN = "c0ffee0ddba11"
DING_SECRET = "SEC0123456789abcdef+/="
FEISHU_HOOK = "2ab9d5c3-0f6e-4b2f-9d6c-4f1b7f0c9e11"
FEISHU_SECRET = "feishu-secret-Qz9"
Start = Callable[[Responder], FakeServer]
# sample_page()'s text as a chat group sees it: the caller 02112345678 masked.
MASKED_TEXT = ("热线有未接来电：来电号码 021****5678，时间 2024-05-06 14:05，专业 网络。\n\n"
               "Missed hotline call: caller 021****5678, at 2024-05-06 14:05, specialty Network.")


def wecom_api(req: Recorded) -> Reply:
    ok = (req.method == "POST" and req.path == "/cgi-bin/webhook/send" and req.query == {"key": WECOM_KEY}
          and req.headers["content-type"] == "application/json; charset=utf-8")
    return json_reply({"errcode": 0, "errmsg": "ok"} if ok else {"errcode": 93000, "errmsg": "invalid webhook url"})


async def test_wecom_posts_text_with_mobile_mention(fake_server: Start) -> None:
    server = fake_server(wecom_api)
    page = sample_page()
    result = await WeComRobotChannel(Secret(WECOM_KEY), base_url=server.url).send(page)
    assert result.ok, result
    (req,) = server.requests
    assert req.json() == {"msgtype": "text",
                          "text": {"content": MASKED_TEXT, "mentioned_mobile_list": ["13800138000"]}}
    assert "02112345678" not in req.body.decode()  # the whole group reads it: the caller's number masked


async def test_wecom_refusal_is_reported_without_the_key(fake_server: Start) -> None:
    server = fake_server(wecom_api)
    result = await WeComRobotChannel(Secret("wrong-key"), base_url=server.url).send(sample_page())
    assert not result.ok and not result.retryable
    assert result.error is not None and "93000" in result.error and "wrong-key" not in result.error


async def test_wecom_frequency_limit_is_retryable(fake_server: Start) -> None:
    server = fake_server(lambda req: json_reply({"errcode": 45009, "errmsg": "api freq out of limit"}))
    result = await WeComRobotChannel(Secret(WECOM_KEY), base_url=server.url).send(sample_page())
    assert not result.ok and result.retryable


def dingtalk_api(req: Recorded) -> Reply:
    q = req.query
    ts = int(q.get("timestamp", "0"))
    expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    if q.get("access_token") != DING_TOKEN:
        return json_reply({"errcode": 300001, "errmsg": "token is not exist"})
    if abs(ts - time.time() * 1000) > 3_600_000 or q.get("sign") != expected:
        return json_reply({"errcode": 310000, "errmsg": "sign not match"})
    return json_reply({"errcode": 0, "errmsg": "ok"})


async def test_dingtalk_signs_and_mentions_by_mobile(fake_server: Start) -> None:
    server = fake_server(dingtalk_api)
    page = sample_page()
    result = await DingTalkRobotChannel(Secret(DING_TOKEN), Secret(DING_SECRET), base_url=server.url).send(page)
    assert result.ok, result
    (req,) = server.requests
    assert req.path == "/robot/send"
    assert "+" not in req.raw_query.split("sign=")[1]  # the base64 sign is URL-encoded
    assert req.headers["content-type"] == "application/json; charset=utf-8"
    assert "02112345678" not in req.body.decode()
    assert req.json() == {"msgtype": "text", "text": {"content": f"@13800138000 {MASKED_TEXT}"},
                          "at": {"atMobiles": ["13800138000"], "isAtAll": False}}


async def test_dingtalk_wrong_secret_fails_the_servers_check(fake_server: Start) -> None:
    server = fake_server(dingtalk_api)
    channel = DingTalkRobotChannel(Secret(DING_TOKEN), Secret("other"), base_url=server.url)
    result = await channel.send(sample_page())
    assert not result.ok and "310000" in (result.error or "")
    assert "other" not in repr(channel) and DING_TOKEN not in repr(channel)


def feishu_api(req: Recorded) -> Reply:
    body = req.json()
    ts = int(body["timestamp"])
    key = f"{ts}\n{FEISHU_SECRET}".encode()
    expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    if req.path != f"/open-apis/bot/v2/hook/{FEISHU_HOOK}":
        return json_reply({"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}, 404)
    if abs(ts - time.time()) > 3600 or body["sign"] != expected:
        return json_reply({"code": 19021, "msg": "sign match fail or timestamp is not within one hour"})
    return json_reply({"code": 0, "msg": "success", "data": {}})


async def test_feishu_signs_in_body_and_mentions_by_user_id(fake_server: Start) -> None:
    server = fake_server(feishu_api)
    page = sample_page()
    result = await FeishuBotChannel(Secret(FEISHU_HOOK), Secret(FEISHU_SECRET), base_url=server.url).send(page)
    assert result.ok, result
    body = server.requests[0].json()
    assert set(body) == {"timestamp", "sign", "msg_type", "content"}
    assert body["msg_type"] == "text"
    assert body["content"] == {
        "text": f'<at user_id="ou_7d8a6e6df7621556ce0d21922b676706ccs">王丽</at> {MASKED_TEXT}'}
    assert "02112345678" not in server.requests[0].body.decode()


async def test_feishu_wrong_secret_is_refused(fake_server: Start) -> None:
    server = fake_server(feishu_api)
    result = await FeishuBotChannel(Secret(FEISHU_HOOK), Secret("nope"), base_url=server.url).send(sample_page())
    assert not result.ok and not result.retryable and "19021" in (result.error or "")


async def test_21st_page_waits_for_its_robot_without_blocking_another(fake_server: Start) -> None:
    server = fake_server(wecom_api)
    now = [1000.0]
    waits: list[float] = []
    release = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await release.wait()
        now[0] += seconds

    queues = SendQueues(clock=lambda: now[0], sleep=sleep)
    limits = (Limit(20, 60.0),)
    robot_a = WeComRobotChannel(Secret(WECOM_KEY), queue=queues.for_robot("a", limits), base_url=server.url)
    robot_b = WeComRobotChannel(Secret(WECOM_KEY), queue=queues.for_robot("b", limits), base_url=server.url)

    tasks = [asyncio.create_task(robot_a.send(sample_page(f"p{i}"))) for i in range(21)]
    for _ in range(500):
        if waits and sum(t.done() for t in tasks) == 20:
            break
        await asyncio.sleep(0.01)
    assert len(server.requests) == 20 and waits == [60.0]  # 20 went at once, the 21st waits a window
    assert not tasks[20].done()

    other = await asyncio.wait_for(robot_b.send(sample_page("other")), timeout=5)  # robot b is not held up
    assert other.ok and len(server.requests) == 21 and not tasks[20].done()

    release.set()
    results = await asyncio.gather(*tasks)
    assert all(r.ok for r in results)  # queued, never dropped
    assert len(server.requests) == 22
    assert [r.json()["text"]["content"] for r in server.requests].count(MASKED_TEXT) == 22


def test_group_text_masks_the_caller_in_every_written_form() -> None:
    from dataclasses import replace

    from hotline.paging.texts import group_text

    page = replace(sample_page(), caller="+8613800138002", text="来电 +8613800138002，回拨 13800138002")
    assert group_text(page) == "来电 138****8002，回拨 138****8002"
    assert group_text(replace(page, caller=None)) == page.text
