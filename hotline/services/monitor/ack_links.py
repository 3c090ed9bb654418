"""Signed one-tap acknowledgement links: `/ack/<token>`, where the token names the alert and the
person paged and carries an expiry, signed with HMAC-SHA256 (key: HOTLINE_API_LINK_KEY)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class BadLink(Exception):
    """The link is malformed, forged or expired."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class AckLinks:
    key: bytes
    base_url: str
    valid_for: timedelta = timedelta(hours=24)

    @classmethod
    def ephemeral(cls, base_url: str) -> AckLinks:
        """A throw-away key (dry run, replay): links work only in this process."""
        return cls(secrets.token_bytes(32), base_url)

    def token(self, alert_id: str, person: str, now: datetime) -> str:
        expires = int((now + self.valid_for).timestamp())
        payload = f"{alert_id}.{_b64(person.encode('utf-8'))}.{expires}"
        return f"{payload}.{self._sign(payload)}"

    def url(self, alert_id: str, person: str, now: datetime) -> str:
        return f"{self.base_url.rstrip('/')}/ack/{self.token(alert_id, person, now)}"

    def verify(self, token: str, now: datetime) -> tuple[str, str]:
        """(alert id, person) of a valid token; BadLink otherwise."""
        parts = token.split(".")
        if len(parts) != 4:
            raise BadLink("链接格式错误 / malformed link")
        alert_id, person_b64, expires, signature = parts
        payload = f"{alert_id}.{person_b64}.{expires}"
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise BadLink("链接签名无效 / link signature is not valid")
        try:
            expiry = datetime.fromtimestamp(int(expires), UTC)
            person = _unb64(person_b64).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise BadLink("链接格式错误 / malformed link") from None
        if now > expiry:
            raise BadLink("链接已过期 / link has expired")
        return alert_id, person

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode("ascii"), hashlib.sha256).digest()[:18])
