"""Typed reads of one `[paging...]` table, with errors that name the key and what to do."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# keys that would put a credential into the TOML file; credentials come from the environment only
SECRET_KEYS = {"auth_token", "token", "secret", "key", "hook", "password", "access_key_id", "access_key_secret"}


class PagingConfigError(ValueError):
    """A mistake in the `[paging]` section, naming the table and key."""


class Section:
    def __init__(self, where: str, name: str, raw: Mapping[str, Any]) -> None:
        self.where = where
        self.name = name
        self.raw = raw

    def _get(self, key: str, default: Any, kinds: tuple[type, ...], what: str) -> Any:
        value = self.raw.get(key, default)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise PagingConfigError(f"[{self.where}] {key}: expected {what}, got {value!r} / 类型错误")
        return value

    def text(self, key: str, default: str) -> str:
        value: str = self._get(key, default, (str,), "a string")
        return value

    def required_text(self, key: str) -> str:
        value = self.text(key, "")
        if not value:
            raise PagingConfigError(f"[{self.where}] {key} is required / 缺少必填项 {key}")
        return value

    def whole(self, key: str, default: int) -> int:
        value: int = self._get(key, default, (int,), "a whole number")
        return value

    def number(self, key: str, default: float) -> float:
        return float(self._get(key, default, (int, float), "a number"))

    def flag(self, key: str, default: bool) -> bool:
        value: bool = self._get(key, default, (bool,), "true or false")
        return value

    def text_list(self, key: str, default: list[str]) -> list[str]:
        value = self._get(key, default, (list, tuple), "a list of strings")
        if not all(isinstance(v, str) for v in value):
            raise PagingConfigError(f"[{self.where}] {key}: expected a list of strings / 应为字符串列表")
        return list(value)

    def text_map(self, key: str, default: Mapping[str, str]) -> dict[str, str]:
        value = self._get(key, default, (Mapping,), "a table of strings")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise PagingConfigError(f"[{self.where}] {key}: expected a table of strings / 应为字符串表")
        return dict(value)

    def check_no_secrets(self) -> None:
        """Refuse a credential written into the file (it would end up in a repository)."""
        for key in SECRET_KEYS & set(self.raw):
            raise PagingConfigError(f"[{self.where}] {key}: credentials are read from the environment only; "
                                    f"remove it from the file and set the variable ({key}_env names it) "
                                    "/ 密钥只能来自环境变量")
