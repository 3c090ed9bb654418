"""SIGTERM (systemd, `docker stop`) and SIGINT (Ctrl-C) both ask a long-running command to stop cleanly:
the command's main coroutine waits for `StopSignal.wait()` beside its tasks and then runs its shutdown
(last ledger write, summary, outage record) instead of being killed half-way."""

from __future__ import annotations

import asyncio
import logging
import signal

log = logging.getLogger(__name__)

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignal:
    """Installed on the running loop; the first signal sets the event, later ones are only logged."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.received: signal.Signals | None = None

    def install(self) -> StopSignal:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.add_signal_handler(sig, self._on, sig)
        return self

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)

    def _on(self, sig: signal.Signals) -> None:
        if self.received is None:
            self.received = sig
            log.warning("收到 %s，正在停止 / %s received: stopping cleanly", sig.name, sig.name)
            self.event.set()
        else:
            log.warning("正在停止中 / already stopping (%s ignored)", sig.name)

    async def wait(self) -> None:
        await self.event.wait()

    @property
    def exit_code(self) -> int:
        """0 after SIGTERM (a requested stop), 130 after Ctrl-C, as shells expect."""
        return 130 if self.received is signal.SIGINT else 0

    @property
    def reason(self) -> str:
        name = self.received.name if self.received is not None else "exit"
        return f"监听进程已停止 / listener stopped ({name})"
