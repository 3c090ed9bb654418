"""The monthly report on the 1st: last month's PDF archived and e-mailed (real SMTP server on loopback,
aiosmtpd) to the configured list, once; nothing before 08:00 on the 1st; a failed send is retried."""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.clock import ManualClock
from hotline.config import Settings
from hotline.paging.email_smtp import EmailChannel, SmtpSettings
from hotline.runtime.assembly import open_database
from hotline.services.reports.monthly_mail import MonthlyMail
from hotline.store.base import unit_of_work
from hotline.store.calls import CallRow
from tests.integration.test_paging_email import Mailbox, smtp  # noqa: F401  (the SMTP server fixture)
from tests.integration.test_paging_email import settings as smtp_settings

TZ = ZoneInfo("Asia/Shanghai")


async def test_the_report_of_the_month_before_is_archived_and_mailed_once(
        settings: Settings, db_url: str, tmp_path: Path, smtp: tuple[Mailbox, int]) -> None:
    box, port = smtp
    db = open_database(db_url)
    with unit_of_work(db.factory) as s:
        s.add(CallRow(call_id="n1", provider="asterisk", direction="inbound", specialty="network", outcome="answered",
                      answered_by="张伟", started_at=datetime(2026, 11, 10, 10, tzinfo=TZ), wait_seconds=5,
                      talk_seconds=60, estimated=False))
    s2 = replace(settings, reports=replace(settings.reports, monthly_recipients=["boss@example.com",
                                                                                   "desk@example.com"]))
    clock = ManualClock(datetime(2026, 12, 1, 7, 59, tzinfo=TZ), TZ)
    mailer = EmailChannel(smtp_settings(port))
    job = MonthlyMail(db.factory, s2, clock, mailer, tmp_path / "reports")
    assert await job.run_if_due() is None and box.messages == []  # 07:59 on the 1st: not yet
    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=TZ))
    path = await job.run_if_due()
    assert path == tmp_path / "reports" / "quality-report-2026-11.pdf" and path.read_bytes()[:5] == b"%PDF-"
    assert len(box.messages) == 1
    msg = email.message_from_bytes(box.messages[0].content, policy=policy.default)
    assert set(box.messages[0].rcpt_tos) == {"boss@example.com", "desk@example.com"}
    assert "2026-11" in str(msg["Subject"]) and "热线服务质量月报" in str(msg["Subject"])
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and "接通率（网络 / Network）" in body.get_content()
    (pdf,) = [p for p in msg.iter_attachments()]
    assert pdf.get_filename() == "quality-report-2026-11.pdf" and pdf.get_content()[:5] == b"%PDF-"
    assert job.archived() == [path]
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    assert await job.run_if_due() is None and len(box.messages) == 1  # once per month
    db.engine.dispose()


async def test_a_failed_send_is_not_archived_and_runs_again(settings: Settings, tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    s2 = replace(settings, reports=replace(settings.reports, monthly_recipients=["boss@example.com"]))
    clock = ManualClock(datetime(2026, 12, 2, 9, 0, tzinfo=TZ), TZ)  # the server was down on the 1st
    unreachable = EmailChannel(SmtpSettings(host="127.0.0.1", port=1, timeout=2))
    job = MonthlyMail(db.factory, s2, clock, unreachable, tmp_path / "reports")
    assert await job.run_if_due() is None
    assert job.archived() == []
    db.engine.dispose()
