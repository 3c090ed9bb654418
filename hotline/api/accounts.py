"""Accounts over HTTP, for admins (the rights table gives /api/access to admin only): list, add,
disable, reset a password, issue and revoke API tokens. The same services as `hotline users`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from hotline.api.auth import principal_of
from hotline.services.access.accounts import Account, AccountError, AccountService
from hotline.services.access.sessions import TokenInfo, TokenService

router = APIRouter(prefix="/api/access", tags=["access"])


class NewAccount(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: str
    person: str | None = None
    password: str | None = Field(default=None, description="absent: signs in through single sign-on only")


class NewPassword(BaseModel):
    password: str


class NewToken(BaseModel):
    username: str
    name: str = Field(min_length=1, max_length=128)
    scope: str | None = None


def _accounts(request: Request) -> AccountService:
    state = request.app.state
    actor = principal_of(request).username

    def people() -> list[str]:
        from hotline.services.roster.service import RosterService

        return list(RosterService(state.factory, state.settings, state.clock).people())

    return AccountService(state.factory, state.clock, people=people, actor=actor)


def _tokens(request: Request) -> TokenService:
    state = request.app.state
    return TokenService(state.factory, state.clock, actor=principal_of(request).username)


def _view(a: Account) -> dict[str, Any]:
    return {"username": a.username, "person": a.person, "role": a.role.value, "disabled": a.disabled,
            "created_at": a.created_at.isoformat()}


def _token_view(t: TokenInfo) -> dict[str, Any]:
    return {"token_id": t.token_id, "username": t.username, "name": t.name, "scope": t.scope.value,
            "created_at": t.created_at.isoformat(), "revoked": t.revoked_at is not None}


def _fail(e: AccountError) -> HTTPException:
    text = str(e)
    return HTTPException(404 if text.startswith("没有") else 409 if "exists" in text else 422, text)


@router.get("/accounts")
def list_accounts(request: Request) -> list[dict[str, Any]]:
    return [_view(a) for a in _accounts(request).list()]


@router.post("/accounts", status_code=201)
def add_account(request: Request, body: NewAccount) -> dict[str, Any]:
    try:
        return _view(_accounts(request).add(body.username, body.role, body.password, body.person))
    except AccountError as e:
        raise _fail(e) from None


@router.post("/accounts/{username}/disable")
def disable_account(request: Request, username: str) -> dict[str, Any]:
    try:
        return _view(_accounts(request).disable(username))
    except AccountError as e:
        raise _fail(e) from None


@router.post("/accounts/{username}/password")
def reset_password(request: Request, username: str, body: NewPassword) -> dict[str, bool]:
    try:
        _accounts(request).reset_password(username, body.password)
    except AccountError as e:
        raise _fail(e) from None
    return {"ok": True}


@router.get("/tokens")
def list_tokens(request: Request, username: str | None = None) -> list[dict[str, Any]]:
    return [_token_view(t) for t in _tokens(request).list(username)]


@router.post("/tokens", status_code=201)
def issue_token(request: Request, body: NewToken) -> dict[str, Any]:
    """The token is in this answer only; it is stored hashed."""
    try:
        token, info = _tokens(request).issue(body.username, body.name, body.scope)
    except (AccountError, ValueError) as e:
        raise HTTPException(404 if str(e).startswith("没有") else 422, str(e)) from None
    return {**_token_view(info), "token": token}


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: int) -> dict[str, Any]:
    try:
        return _token_view(_tokens(request).revoke(token_id))
    except AccountError as e:
        raise _fail(e) from None
