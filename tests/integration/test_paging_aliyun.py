"""Aliyun SMS (Dysmsapi SendSms) against a local server that recomputes the v1.0 signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from hotline.paging.aliyun_sms import AliyunSmsChannel
from hotline.paging.secret import Secret
from tests.integration.paging_fakes import (  # noqa: F401
    FakeServer,
    Recorded,
    Reply,
    Responder,
    fake_server_fixture,
    json_reply,
    sample_page,
)

KEY_ID = "LTAI5tExampleKeyId"
KEY_SECRET = "ExampleAccessKeySecret+/*~"
Start = Callable[[Responder], FakeServer]


def expected_signature(params: dict[str, str], secret: str) -> str:
    """Written from Aliyun's "RPC signature" page, independently of the channel's code."""
    def enc(s: str) -> str:
        return quote(s, safe="").replace("%7E", "~")

    canonical = "&".join(enc(k) + "=" + enc(params[k]) for k in sorted(params))
    string_to_sign = "GET&" + enc("/") + "&" + enc(canonical)
    return base64.b64encode(hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


def aliyun_api(code: str = "OK", status: int = 200) -> Responder:
    def respond(req: Recorded) -> Reply:
        pairs = parse_qsl(req.raw_query, keep_blank_values=True)
        params = dict(pairs)
        signature = params.pop("Signature", "")
        if req.method != "GET" or req.path != "/" or pairs[0][0] != "Signature":
            return json_reply({"Code": "InvalidParameter", "Message": "bad request"}, 400)
        if signature != expected_signature(params, KEY_SECRET) or params["AccessKeyId"] != KEY_ID:
            return json_reply({"Code": "SignatureDoesNotMatch", "Message": "Specified signature is not matched"}, 400)
        if status != 200:
            return json_reply({"Code": "InternalError", "Message": "busy"}, status)
        return json_reply({"Code": code, "Message": "OK" if code == "OK" else "limited",
                           "BizId": "900619746936498440^0", "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"})
    return respond


def channel(url: str, secret: str = KEY_SECRET) -> AliyunSmsChannel:
    return AliyunSmsChannel(KEY_ID, Secret(secret), sign_name="华信科技", template_code="SMS_276350123",
                            endpoint=url, nonce=lambda: "45e25e9b-0a6f-4070-8c85-2956eda1b466")


async def test_sendsms_request_is_signed_and_complete(fake_server: Start) -> None:
    server = fake_server(aliyun_api())
    result = await channel(server.url).send(sample_page())
    assert result.ok and result.provider_id == "900619746936498440^0", result
    req = server.requests[0]
    assert "+" not in req.raw_query and "%20" in req.raw_query  # spaces are %20, signature '+' is encoded
    params = req.query
    stamp = datetime.strptime(params.pop("Timestamp"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(stamp.timestamp() - time.time()) < 60
    params.pop("Signature")
    assert params == {
        "AccessKeyId": KEY_ID, "Action": "SendSms", "Format": "JSON", "PhoneNumbers": "13800138000",
        "RegionId": "cn-hangzhou", "SignName": "华信科技", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466", "SignatureVersion": "1.0",
        "TemplateCode": "SMS_276350123", "Version": "2017-05-25", "OutId": "alert-42/step-1/wangli",
        "TemplateParam": params["TemplateParam"],
    }
    assert json.loads(params["TemplateParam"]) == {"caller": "02112345678", "time": "05-06 14:05",
                                                   "specialty": "网络", "code": "7291"}


async def test_wrong_secret_is_refused_and_not_retried(fake_server: Start) -> None:
    server = fake_server(aliyun_api())
    result = await channel(server.url, secret="not-the-secret").send(sample_page())
    assert not result.ok and not result.retryable
    assert "SignatureDoesNotMatch" in (result.error or "") and "not-the-secret" not in (result.error or "")


async def test_flow_control_falls_through_and_server_error_retries(fake_server: Start) -> None:
    limited = await channel(fake_server(aliyun_api("isv.BUSINESS_LIMIT_CONTROL")).url).send(sample_page())
    assert not limited.ok and not limited.retryable and "BUSINESS_LIMIT_CONTROL" in (limited.error or "")
    broken = await channel(fake_server(aliyun_api(status=503)).url).send(sample_page())
    assert not broken.ok and broken.retryable
