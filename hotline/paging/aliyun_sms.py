"""SMS through Aliyun (阿里云短信, Dysmsapi `SendSms`), RPC signature version 1.0 (HMAC-SHA1).

The text is an approved template (`template_code`) filled with `TemplateParam`; free text is not
allowed by Chinese carriers. Aliyun's own flow control (by default 1 SMS a minute and 5 an hour
per number) answers `isv.BUSINESS_LIMIT_CONTROL`: not retried, so the next channel is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from hotline.paging.base import Page, SendResult
from hotline.paging.secret import Secret
from hotline.paging.transport import DeliveryError, as_result, request

ALIYUN_SMS_ENDPOINT = "https://dysmsapi.aliyuncs.com"
RETRYABLE_CODES = {"isp.SYSTEM_ERROR", "Throttling.User", "ServiceUnavailable", "InternalError"}
# template variable -> page field; every value is cut to 20 characters (carrier rule for variables)
DEFAULT_TEMPLATE_PARAMS = {"caller": "caller", "time": "time", "specialty": "specialty", "code": "ack_code"}


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as Aliyun's POP signing wants it: space %20, `*` %2A, `~` kept."""
    return quote(value, safe="-_.~")


def aliyun_signature(params: Mapping[str, str], access_key_secret: str, method: str = "GET") -> str:
    """The documented v1.0 signature: base64(HMAC-SHA1(secret + "&", string to sign))."""
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"
    mac = hmac.new(f"{access_key_secret}&".encode(), string_to_sign.encode("utf-8"), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def china_mobile(mobile: str) -> str:
    """'+86 138-0013-8000' -> '13800138000'; numbers of other countries keep their country code."""
    digits = "".join(ch for ch in mobile if ch.isdigit() or ch == "+")
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            return digits[len(prefix):]
    return digits.lstrip("+")


def page_fields(page: Page) -> dict[str, str]:
    return {
        "caller": page.caller or "未知",
        "time": page.at.strftime("%m-%d %H:%M") if page.at is not None else "",
        "specialty": page.specialty or "",
        "ack_code": page.ack_code or "",
        "alert_id": page.alert_id or "",
        "name": page.recipient.name,
    }


class AliyunSmsChannel:
    """GET `/?Signature=...&Action=SendSms&...` on the Dysmsapi endpoint."""

    def __init__(self, access_key_id: str, access_key_secret: Secret, *, sign_name: str, template_code: str,
                 template_params: Mapping[str, str] | None = None, region_id: str = "cn-hangzhou",
                 endpoint: str = ALIYUN_SMS_ENDPOINT, name: str = "aliyun_sms", timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None, clock: Callable[[], float] = time.time,
                 nonce: Callable[[], str] = lambda: uuid.uuid4().hex) -> None:
        self.name = name
        self._key_id = access_key_id
        self._secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.template_params = dict(template_params or DEFAULT_TEMPLATE_PARAMS)
        self.region_id = region_id
        self._endpoint = endpoint.rstrip("/")
        self._timeout = timeout
        self._client = client
        self._clock = clock
        self._nonce = nonce

    def params(self, page: Page) -> dict[str, str]:
        """All request parameters except `Signature`."""
        if not page.recipient.mobile:
            raise DeliveryError("收件人没有手机号 / recipient has no mobile number", retryable=False)
        template = self.template(page)
        stamp = datetime.fromtimestamp(self._clock(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "AccessKeyId": self._key_id, "Action": "SendSms", "Format": "JSON",
            "PhoneNumbers": china_mobile(page.recipient.mobile), "RegionId": self.region_id,
            "SignName": self.sign_name, "SignatureMethod": "HMAC-SHA1", "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0", "TemplateCode": self.template_code,
            "TemplateParam": json.dumps(template, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": stamp, "Version": "2017-05-25", "OutId": page.key[:256],
        }

    def template(self, page: Page) -> dict[str, str]:
        """The template's variables (`TemplateParam`), each cut to 20 characters (the carriers' rule)."""
        fields = page_fields(page)
        return {var: fields.get(field, "")[:20] for var, field in self.template_params.items()}

    def url(self, params: Mapping[str, str]) -> str:
        signature = aliyun_signature(params, self._secret.reveal())
        query = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
        return f"{self._endpoint}/?Signature={percent_encode(signature)}&{query}"

    async def _send(self, page: Page) -> str | None:
        url = self.url(self.params(page))
        reply = await request("GET", url, timeout=self._timeout, client=self._client, check=False)
        if reply.status == 429 or reply.status >= 500:
            raise DeliveryError(f"HTTP {reply.status}", retryable=True)
        data = reply.json_object()
        code = str(data.get("Code", ""))
        if code != "OK":
            message = str(data.get("Message", ""))[:200]
            raise DeliveryError(f"阿里云短信拒绝 / Aliyun SMS refused: {code} {message}".strip(),
                                retryable=code in RETRYABLE_CODES)
        biz_id = data.get("BizId")
        return str(biz_id) if biz_id else None

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    def __repr__(self) -> str:
        return f"AliyunSmsChannel(name={self.name!r}, template_code={self.template_code!r})"
