"""Single sign-ons in progress kept in the database (`access_sign_on_pending`): the callback may reach
another worker, or the service after a restart, and still finds its state, nonce and PKCE verifier. The
state itself is stored as its SHA-256 only; a row is used once and deleted, expired rows go on the next
sign-on."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from hotline.services.access.oidc import Pending
from hotline.store.access import put_sign_on, take_sign_on
from hotline.store.base import unit_of_work


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


class PendingInDatabase:
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def put(self, state: str, pending: Pending, now: datetime) -> None:
        with unit_of_work(self.factory) as s:
            put_sign_on(s, _hash(state), pending.nonce, pending.verifier, pending.next_path, pending.expires_at, now)

    def take(self, state: str, now: datetime) -> Pending | None:
        with unit_of_work(self.factory) as s:
            row = take_sign_on(s, _hash(state), now)
        return None if row is None else Pending(row.nonce, row.verifier, row.next_path, row.expires_at)
