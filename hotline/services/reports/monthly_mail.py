"""On the 1st of every month: the report of the month before, as PDF, archived under
`<data_dir>/reports/` and e-mailed to `[reports] monthly_recipients` through the configured SMTP
channel. The archived file is the mark that the month is done: a restart sends nothing twice, and a
server down on the 1st catches up when it starts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.config import Settings
from hotline.paging.base import SendResult
from hotline.paging.email_smtp import Attachment
from hotline.services.reports.monthly import add_months, build_monthly
from hotline.services.reports.monthly_render import monthly_pdf

log = logging.getLogger(__name__)
SEND_AT = time(8, 0)  # local time on the 1st


class DocumentMailer(Protocol):
    async def send_document(self, to: Sequence[str], subject: str, text: str,
                            attachments: Sequence[Attachment] = ()) -> SendResult: ...


@dataclass
class MonthlyMail:
    factory: sessionmaker[Session]
    settings: Settings
    clock: Clock
    mailer: DocumentMailer | None
    archive: Path

    def archived(self) -> list[Path]:
        return sorted(self.archive.glob("quality-report-*.pdf"), reverse=True)

    async def run_if_due(self) -> Path | None:
        """Make, archive and send last month's report once it is the 1st after 08:00 (or later in the
        month, catching up); returns the archived file when it did."""
        now = self.clock.now().astimezone(self.settings.tz)
        if now.time() < SEND_AT and now.day == 1:
            return None
        month = add_months(now.date().replace(day=1), -1)
        path = self.archive / f"quality-report-{month:%Y-%m}.pdf"
        if path.exists():
            return None
        # seconds of database and WeasyPrint work: off the event loop the listener shares
        doc = await asyncio.to_thread(build_monthly, self.factory, self.settings, month, now)
        pdf = await asyncio.to_thread(monthly_pdf, doc, self.settings.reports.answer_rate_target)
        recipients = self.settings.reports.monthly_recipients
        if recipients and self.mailer is not None:
            result = await self.mailer.send_document(
                recipients, f"{doc['company']} 热线服务质量月报 {month:%Y-%m} / Hotline quality report {month:%Y-%m}",
                _body(doc), [Attachment(path.name, pdf, "application/pdf")])
            if not result.ok:  # not archived: the next run tries again
                log.warning("质量月报发送失败 / the %s report was not sent: %s", f"{month:%Y-%m}", result.error)
                return None
        elif recipients:
            log.warning("质量月报未发送：未配置电子邮件通道 / the monthly report was not e-mailed: no e-mail channel")
        self.archive.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(pdf)
        tmp.replace(path)
        log.info("质量月报已生成 / monthly report %s archived at %s", f"{month:%Y-%m}", path)
        return path


def _body(doc: dict[str, object]) -> str:
    indicators = doc["indicators"]
    assert isinstance(indicators, list)
    lines = [f"{doc['company']} 热线服务质量月报 {doc['month']}（草稿，待填写原因分析与改进措施后发布）",
             f"Hotline quality report {doc['month']} (draft: causes and actions are filled in before it is issued)",
             "", "指标 / 标准 / 实际 / 达标 / 上月"]
    for i in indicators:
        lines.append(f"- {i['name']}: {i['target_text']} / {i['actual_text']} / {i['met_text']} / "
                     f"{i['last_month_text']}")
    lines.append("")
    lines.append("完整报告见附件 PDF / the full report is attached (PDF).")
    return "\n".join(lines)
