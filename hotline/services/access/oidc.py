"""Single sign-on through OpenID Connect (authorization code with PKCE): authlib's OAuth 2 client for
the exchange, joserfc to check the ID token. The provider says who someone is; the local account of
that name (made by an admin, with its role and roster person) says what they may do: nobody gets an
account by signing in. WeCom / DingTalk / Feishu OAuth fit behind the same two calls (`start`, `finish`)."""

from __future__ import annotations

import secrets
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from hotline.clock import Clock
from hotline.config import OidcSection

with warnings.catch_warnings():  # authlib warns about its httpx integration's future; the API stays
    import authlib.deprecate  # noqa: F401  (it installs an 'always' filter, overridden on the next line)

    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

PENDING_FOR = timedelta(minutes=10)


class SignOnFailed(Exception):
    """The provider's answer cannot be trusted or names nobody we know; said without secrets."""


class SignOn(Protocol):
    """The boundary of single sign-on: OpenID Connect here; WeCom / DingTalk / Feishu OAuth (which
    answer a user id instead of an ID token) would implement the same two steps."""

    @property
    def enabled(self) -> bool: ...

    async def start(self, redirect_uri: str, next_path: str) -> str:
        """The provider's URL to send the browser to."""
        ...

    async def finish(self, code: str, state: str, redirect_uri: str) -> tuple[str, str]:
        """(the local account name the provider vouches for, the path to go to next), or SignOnFailed."""
        ...


@dataclass(frozen=True)
class Pending:
    """A sign-on between the redirect to the provider and its callback."""

    nonce: str
    verifier: str
    next_path: str
    expires_at: datetime


class PendingSignOns(Protocol):
    """Where sign-ons in progress wait for their callback, by state: the database in the service
    (hotline/services/access/sign_on_state.py: a restart or another worker finishes a sign-on), memory
    for a client used on its own."""

    def put(self, state: str, pending: Pending, now: datetime) -> None: ...

    def take(self, state: str, now: datetime) -> Pending | None:
        """The sign-on of `state`, once; None when unknown, used or expired."""
        ...


@dataclass
class PendingInMemory:
    """Sign-ons in progress of this process only."""

    items: dict[str, Pending] = field(default_factory=dict)

    def put(self, state: str, pending: Pending, now: datetime) -> None:
        self.items = {k: p for k, p in self.items.items() if p.expires_at > now}
        self.items[state] = pending

    def take(self, state: str, now: datetime) -> Pending | None:
        pending = self.items.pop(state, None)
        return pending if pending is not None and pending.expires_at >= now else None


@dataclass
class OidcClient:
    config: OidcSection
    clock: Clock
    pending: PendingSignOns = field(default_factory=PendingInMemory)
    _metadata: dict[str, Any] | None = None
    _keys: KeySet | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.config.issuer and self.config.client_id)

    def _client(self, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(client_id=self.config.client_id, client_secret=self.config.client_secret or None,
                                 scope=" ".join(self.config.scopes), redirect_uri=redirect_uri,
                                 code_challenge_method="S256", timeout=10)

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            async with httpx.AsyncClient(timeout=10) as http:
                try:
                    r = await http.get(url)
                    r.raise_for_status()
                except httpx.HTTPError as e:
                    raise SignOnFailed(f"身份提供方不可用 / the identity provider is unreachable ({url}): "
                                       f"{type(e).__name__}") from None
                data: dict[str, Any] = r.json()
                if data.get("issuer") != self.config.issuer:
                    raise SignOnFailed(f"issuer mismatch: {data.get('issuer')!r} is not {self.config.issuer!r}")
                self._keys = KeySet.import_key_set((await http.get(data["jwks_uri"])).json())
            self._metadata = data
        return self._metadata

    async def start(self, redirect_uri: str, next_path: str) -> str:
        """The provider's authorization URL to send the browser to."""
        meta = await self.metadata()
        state, nonce, verifier = (secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))
        now = self.clock.now()
        self.pending.put(state, Pending(nonce, verifier, next_path, now + PENDING_FOR), now)
        async with self._client(redirect_uri) as client:
            url, _ = client.create_authorization_url(meta["authorization_endpoint"], state=state,
                                                     code_verifier=verifier, nonce=nonce)
        return str(url)

    async def finish(self, code: str, state: str, redirect_uri: str) -> tuple[str, str]:
        """(the local account name the ID token names, the path to go to next); SignOnFailed otherwise."""
        pending = self.pending.take(state, self.clock.now())
        if pending is None:
            raise SignOnFailed("登录请求未知或已过期 / unknown or expired sign-in request (state)")
        meta = await self.metadata()
        async with self._client(redirect_uri) as client:
            try:
                token = await client.fetch_token(meta["token_endpoint"], code=code, code_verifier=pending.verifier)
            except Exception as e:  # authlib raises its OAuthError or httpx errors
                raise SignOnFailed(f"换取令牌失败 / the code exchange failed: {type(e).__name__}") from None
        claims = self._verify(str(token.get("id_token", "")), pending.nonce)
        name = claims.get(self.config.username_claim)
        if not isinstance(name, str) or not name:
            raise SignOnFailed(f"ID 令牌缺少 {self.config.username_claim} / the ID token has no "
                               f"{self.config.username_claim}")
        return name, pending.next_path

    def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        assert self._keys is not None
        try:
            decoded = jwt.decode(id_token, self._keys, algorithms=["RS256", "ES256"])
            now = int(self.clock.now().timestamp())
            JWTClaimsRegistry(now=now, leeway=60, iss={"essential": True, "value": self.config.issuer},
                              aud={"essential": True, "value": self.config.client_id},
                              exp={"essential": True}, nonce={"essential": True, "value": nonce},
                              sub={"essential": True}).validate(decoded.claims)
        except (JoseError, ValueError) as e:
            raise SignOnFailed(f"ID 令牌无效 / the ID token is not valid: {type(e).__name__}") from None
        return dict(decoded.claims)
