"""A channel that prints pages instead of sending them (demo, staging, first set-up)."""

from __future__ import annotations

import sys
from typing import TextIO

from hotline.paging.base import Page, SendResult


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
            f"  {page.subject}\n" + "".join(f"  {line}\n" for line in page.text.splitlines())
        )
        out.flush()
        return SendResult(ok=True, channel=self.name, provider_id=f"dry-run:{page.key}")
