"""E-mail over SMTP (stdlib `smtplib` in a worker thread); implicit TLS or STARTTLS optional."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from hotline.paging.base import Page, SendResult
from hotline.paging.secret import Secret
from hotline.paging.transport import DeliveryError, as_result


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    sender: str = "hotline@localhost"  # From: header, e.g. "热线告警 <hotline@example.com>"
    username: str | None = None
    password: Secret | None = None
    starttls: bool = False
    implicit_tls: bool = False  # SMTPS, usually port 465
    timeout: float = 10.0
    tls_context: ssl.SSLContext | None = None  # None: the system's default trust


def build_message(page: Page, sender: str) -> EmailMessage:
    if not page.recipient.email:
        raise DeliveryError("收件人没有电子邮箱 / recipient has no e-mail address", retryable=False)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = page.recipient.email
    msg["Subject"] = page.subject
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or None)
    msg["X-Hotline-Page-Key"] = page.key
    if page.alert_id:
        msg["X-Hotline-Alert-Id"] = page.alert_id
    msg.set_content(page.text or page.subject)
    return msg


class EmailChannel:
    """Sends the page as a plain-text e-mail; returns the Message-ID as the provider id."""

    def __init__(self, settings: SmtpSettings, *, name: str = "email") -> None:
        self.name = name
        self.settings = settings

    def _deliver(self, msg: EmailMessage) -> None:
        s = self.settings
        context = s.tls_context or ssl.create_default_context()
        smtp = (smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context) if s.implicit_tls
                else smtplib.SMTP(s.host, s.port, timeout=s.timeout))
        with smtp:
            if s.starttls and not s.implicit_tls:
                smtp.starttls(context=context)
            if s.username:
                smtp.login(s.username, s.password.reveal() if s.password else "")
            smtp.send_message(msg)

    async def _send(self, page: Page) -> str | None:
        msg = build_message(page, self.settings.sender)
        try:
            await asyncio.to_thread(self._deliver, msg)
        except smtplib.SMTPAuthenticationError as e:
            raise DeliveryError(f"SMTP 登录失败 / SMTP login refused ({e.smtp_code})", retryable=False) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError("SMTP 服务器不支持 STARTTLS 或登录 / SMTP server lacks STARTTLS or AUTH",
                                retryable=False) from None
        except ssl.SSLCertVerificationError:
            raise DeliveryError("SMTP 证书校验失败 / SMTP certificate rejected", retryable=False) from None
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("收件人被拒绝 / recipient refused", retryable=False) from None
        except smtplib.SMTPResponseException as e:
            raise DeliveryError(f"SMTP 错误 / SMTP error {e.smtp_code}", retryable=400 <= e.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as e:
            raise DeliveryError(f"SMTP 连接失败 / SMTP connection failed ({type(e).__name__})",
                                retryable=True) from None
        return str(msg["Message-ID"])

    async def send(self, page: Page) -> SendResult:
        return await as_result(self.name, self._send(page))

    async def send_document(self, to: Sequence[str], subject: str, text: str,
                            attachments: Sequence[Attachment] = ()) -> SendResult:
        """A report by e-mail (not a page): plain text with files attached, to every address in `to`."""
        msg = EmailMessage()
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(to)
        msg["Subject"] = subject
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=self.settings.sender.rsplit("@", 1)[-1].strip("> ") or None)
        msg.set_content(text)
        for a in attachments:
            maintype, subtype = a.mime_type.split("/", 1)
            msg.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)

        async def deliver() -> str | None:
            try:
                await asyncio.to_thread(self._deliver, msg)
            except (smtplib.SMTPException, OSError) as e:
                raise DeliveryError(f"SMTP 发送失败 / SMTP send failed ({type(e).__name__})", retryable=True) from None
            return str(msg["Message-ID"])

        return await as_result(self.name, deliver())

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r}, host={self.settings.host!r}, port={self.settings.port})"
