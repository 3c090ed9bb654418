"""A local OpenID Connect provider stand-in (discovery, authorize, token with PKCE, JWKS), served by a
real uvicorn on loopback: what an enterprise identity provider does, with knobs for what goes wrong."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


@dataclass
class Provider:
    client_id: str = "hotline"
    client_secret: str = "oidc-client-secret-1"
    user: str = "zhangwei"  # who signs in at the provider
    wrong_nonce: bool = False
    foreign_key: bool = False  # sign the ID token with a key the JWKS does not hold
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        def issuer(request: Request) -> str:
            return str(request.base_url).rstrip("/")

        @app.get("/.well-known/openid-configuration")
        def discovery(request: Request) -> dict[str, Any]:
            base = issuer(request)
            return {"issuer": base, "authorization_endpoint": f"{base}/authorize",
                    "token_endpoint": f"{base}/token", "jwks_uri": f"{base}/jwks",
                    "response_types_supported": ["code"], "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"]}

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            return dict(KeySet([self.key]).as_dict(private=False))

        @app.get("/authorize")
        def authorize(request: Request, client_id: str, redirect_uri: str, state: str, nonce: str,
                      code_challenge: str, code_challenge_method: str, response_type: str) -> RedirectResponse:
            if client_id != self.client_id or response_type != "code" or code_challenge_method != "S256":
                raise HTTPException(400, "bad authorization request")
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": nonce, "challenge": code_challenge, "redirect_uri": redirect_uri,
                                "issuer": issuer(request)}
            return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", 302)

        @app.post("/token")
        def token(request: Request, grant_type: str = Form(), code: str = Form(), redirect_uri: str = Form(),
                  code_verifier: str = Form()) -> dict[str, Any]:
            auth = request.headers.get("authorization", "")
            expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            self.token_requests.append({"code": code, "auth": auth})
            if auth != f"Basic {expected}":
                raise HTTPException(401, "invalid_client")
            grant = self.codes.pop(code, None)
            challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=")
            if (grant is None or grant_type != "authorization_code" or grant["redirect_uri"] != redirect_uri
                    or challenge.decode() != grant["challenge"]):
                raise HTTPException(400, "invalid_grant")
            now = int(time.time())
            claims = {"iss": grant["issuer"], "aud": self.client_id, "sub": f"u-{self.user}", "iat": now,
                      "exp": now + 300, "nonce": "other" if self.wrong_nonce else grant["nonce"],
                      "preferred_username": self.user}
            key = RSAKey.generate_key(2048, parameters={"kid": "k1"}) if self.foreign_key else self.key
            return {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                    "id_token": jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)}

        return app
