"""One active instance for the Twilio webhooks: a lease in the database, renewed while the instance runs.

The Twilio webhooks keep each call's state in memory between requests, so every request of a call must
reach the same instance. `hotline serve` takes the lease at start and refuses to start while another
live instance holds it; a replica behind a load balancer is therefore a standby that cannot start until
the active one stops (graceful stop: at once; crash: after `lease_seconds`). An instance that finds its
lease taken by another (it was frozen past the lease) stops answering webhooks (503).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from hotline.clock import Clock
from hotline.store.leases import release_lease, take_lease

log = logging.getLogger(__name__)
TWILIO_LEASE = "twilio-webhooks"


class LeaseHeld(RuntimeError):
    """Another live instance serves the Twilio webhooks."""


class SingleInstance:
    def __init__(self, factory: sessionmaker[Session], clock: Clock, lease_seconds: float,
                 name: str = TWILIO_LEASE, holder: str | None = None) -> None:
        self.factory, self.clock, self.name = factory, clock, name
        self.ttl = timedelta(seconds=lease_seconds)
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.active = False

    def acquire(self) -> None:
        """Take the lease, or raise LeaseHeld naming the instance that holds it."""
        other = take_lease(self.factory, self.name, self.holder, self.clock.now(), self.ttl)
        if other is not None:
            raise LeaseHeld(
                f"另一个 hotline 实例正在处理 Twilio 请求 / another hotline instance serves the Twilio webhooks: "
                f"{other.holder}, lease until {other.expires_at.isoformat()}. Twilio call state lives in one "
                f"process: run a single instance (a standby starts once the active one stops).")
        self.active = True
        log.info("Twilio webhooks: lease %r taken by %s", self.name, self.holder)

    def renew(self) -> bool:
        """Renew the lease; False (and inactive) when another instance has taken it meanwhile."""
        other = take_lease(self.factory, self.name, self.holder, self.clock.now(), self.ttl)
        if other is not None and self.active:
            log.error("Twilio webhooks: lease %r taken over by %s; this instance stops answering webhooks",
                      self.name, other.holder)
        self.active = other is None
        return self.active

    def release(self) -> None:
        if self.active:
            release_lease(self.factory, self.name, self.holder)
            self.active = False
