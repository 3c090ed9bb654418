"""A channel that prints pages instead of sending them (demo, staging, first set-up). Its output goes to
a terminal or a log file, so the caller's number is masked in it (`138****8000`), as for a group robot."""

from __future__ import annotations

import sys
from typing import TextIO

from hotline.paging.base import DRY_RUN_ID_PREFIX, Page, SendResult
from hotline.paging.texts import hide_caller


class DryRunChannel:
    """Writes each page to `out` (stdout by default) and reports success."""

    def __init__(self, name: str = "dry_run", out: TextIO | None = None) -> None:
        self.name = name
        self._out = out

    async def send(self, page: Page) -> SendResult:
        r = page.recipient
        contact = r.mobile or r.email or r.extension or r.wecom_id or r.dingtalk_id or r.feishu_id or "-"
        out = self._out if self._out is not None else sys.stdout
        out.write(
            f"[演练 / dry run] {self.name} -> {r.name} ({contact}) key={page.key}\n"
            f"  {hide_caller(page.subject, page.caller)}\n"
            + "".join(f"  {line}\n" for line in hide_caller(page.text, page.caller).splitlines())
        )
        out.flush()
        return SendResult(ok=True, channel=self.name, provider_id=f"{DRY_RUN_ID_PREFIX}{page.key}")
