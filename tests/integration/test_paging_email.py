"""E-mail pages against a real local SMTP server (aiosmtpd) with AUTH."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from hotline.paging.base import Recipient
from hotline.paging.email_smtp import EmailChannel, SmtpSettings
from hotline.paging.secret import Secret
from tests.integration.paging_fakes import sample_page

PASSWORD = "smtp-pass-9fK"


class Mailbox:
    """Records messages and logins; refuses the address `nobody@example.com`."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address == "nobody@example.com":
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == b"hotline" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=box, auth_require_tls=False)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def settings(port: int, password: str = PASSWORD) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, sender="热线告警 <hotline@example.com>", username="hotline",
                        password=Secret(password), timeout=5.0)


async def test_email_is_sent_with_login_and_page_headers(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    page = sample_page()
    result = await EmailChannel(settings(port)).send(page)
    assert result.ok, result
    assert box.logins == [(b"hotline", PASSWORD.encode())]
    (envelope,) = box.messages
    assert envelope.mail_from == "hotline@example.com" and envelope.rcpt_tos == ["wangli@example.com"]
    msg = message_from_bytes(envelope.original_content, policy=policy.default)
    assert msg["Subject"] == page.subject
    assert msg["To"] == "wangli@example.com"
    assert msg["X-Hotline-Page-Key"] == page.key and msg["X-Hotline-Alert-Id"] == "42"
    assert msg["Message-ID"] == result.provider_id
    assert msg.get_content().rstrip("\n") == page.text


async def test_wrong_password_is_final_and_secret_free(smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    result = await EmailChannel(settings(port, "wrong-pass")).send(sample_page())
    assert not result.ok and not result.retryable and "535" in (result.error or "")
    assert "wrong-pass" not in (result.error or "") and "wrong-pass" not in repr(EmailChannel(settings(port)))
    assert box.messages == []


async def test_refused_recipient_is_final(smtp: tuple[Mailbox, int]) -> None:
    _, port = smtp
    page = replace(sample_page(), recipient=Recipient(name="无名", email="nobody@example.com"))
    result = await EmailChannel(settings(port)).send(page)
    assert not result.ok and not result.retryable


async def test_unreachable_server_is_retryable() -> None:
    result = await EmailChannel(settings(free_port())).send(sample_page())
    assert not result.ok and result.retryable
