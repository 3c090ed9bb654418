"""Every paging channel pages every person of the shipped roster (config/roster.yaml: 张伟, 李娜, ...) with a
real page key (`alert:step:<name>:channel`): Chinese names travel in keys, headers, bodies and mentions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

from hotline.paging.base import Recipient
from hotline.paging.registry import build_channels
from hotline.services.monitor.outbox import page_key
from tests.conftest import ROOT
from tests.integration.paging_fakes import FakeServer, Recorded, Reply, Responder, sample_page
from tests.integration.paging_fakes import fake_server_fixture as fake_server  # noqa: F401
from tests.integration.test_paging_email import PASSWORD, Mailbox, free_port

Start = Callable[[Responder], FakeServer]
ROSTER = yaml.safe_load((ROOT / "config" / "roster.yaml").read_text(encoding="utf-8"))
PEOPLE = [Recipient(name=p["name"], mobile=p.get("mobile"), email=p.get("email") or f"p{i}@huaxin.example",
                    extension=p.get("extension") or "8999", wecom_id=p.get("wecom"), dingtalk_id=p.get("dingtalk"),
                    feishu_id=p.get("feishu"))
          for i, p in enumerate(ROSTER["people"])]
ENV = {"HOTLINE_WECOM_WEBHOOK_KEY": "wk-1", "HOTLINE_DINGTALK_TOKEN": "dt-2", "HOTLINE_DINGTALK_SECRET": "SEC3",
       "HOTLINE_FEISHU_HOOK": "fh-4", "HOTLINE_FEISHU_SECRET": "fs-5", "HOTLINE_WEBHOOK_SECRET": "wh-6",
       "HOTLINE_TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "HOTLINE_TWILIO_AUTH_TOKEN": "tok-7",
       "HOTLINE_ALIYUN_ACCESS_KEY_ID": "LTAI8", "HOTLINE_ALIYUN_ACCESS_KEY_SECRET": "ak-9",
       "HOTLINE_SMTP_PASSWORD": PASSWORD}


def reply(req: Recorded) -> Reply:
    """One fake for every HTTP provider: the success reply each channel looks for."""
    if "/Accounts/" in req.path:
        sid = "CA1" if req.path.endswith("/Calls.json") else "SM1"
        return 201, {"Content-Type": "application/json"}, json.dumps({"sid": sid, "status": "queued"}).encode()
    body = {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success", "Code": "OK", "Message": "OK",
            "BizId": "b1", "RequestId": "r1", "id": "evt1"}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


@pytest.fixture
def smtp_port() -> Iterator[int]:
    from aiosmtpd.controller import Controller

    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=box, auth_require_tls=False)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


async def test_every_channel_pages_everyone_in_the_roster(fake_server: Start, smtp_port: int) -> None:
    server = fake_server(reply)
    originated: list[Mapping[str, str]] = []

    async def originate(action: Mapping[str, str]) -> Mapping[str, str]:
        for value in action.values():
            value.encode("utf-8")
            assert "\r" not in value and "\n" not in value
        originated.append(action)
        return {"Response": "Success", "ActionID": "1"}

    config: dict[str, Any] = {
        "twilio_sms": {"from": "+15005550006", "api_base_url": server.url},
        "twilio_voice": {"from": "+15005550006", "api_base_url": server.url},
        "aliyun_sms": {"sign_name": "华信科技", "template_code": "SMS_276350123", "endpoint": server.url},
        "email": {"host": "127.0.0.1", "port": smtp_port, "username": "hotline",
                  "from": "热线告警 <hotline@example.com>"},
        "wecom": {"base_url": server.url}, "dingtalk": {"base_url": server.url},
        "feishu": {"base_url": server.url}, "webhook": {"url": f"{server.url}/hooks/hotline"},
        "asterisk_call": {"channel": "PJSIP/{extension}"},
    }
    channels = build_channels(config, ENV, originate)
    assert sorted(channels) == sorted(config)
    assert len(PEOPLE) >= 8 and all(ord(p.name[0]) > 0x2E80 for p in PEOPLE)
    failures = []
    for person in PEOPLE:
        for name, channel in channels.items():
            page = replace(sample_page(page_key("a1b2c3", "first_line", person.name, name), person),
                           alert_id="a1b2c3")
            result = await channel.send(page)
            if not result.ok:
                failures.append((person.name, name, result.error))
    assert failures == []
    hooks = [r for r in server.requests if r.path == "/hooks/hotline"]
    assert [unquote(r.headers["x-hotline-page-key"]) for r in hooks] == \
        [page_key("a1b2c3", "first_line", p.name, "webhook") for p in PEOPLE]
    assert [json.loads(r.body)["recipient"]["name"] for r in hooks] == [p.name for p in PEOPLE]
    assert len(originated) == len([p for p in PEOPLE if p.extension])
