"""Cache backends for the replay-store checks: one whose ``add`` never refuses a key,
one whose ``add`` refuses as Django's own backends do (neither is a Django built-in, so
the check must try them)."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache


class _DictCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.data: dict[str, Any] = {}

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self.data.get(self.make_key(key, version), default)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> None:
        self.data[self.make_key(key, version)] = value

    def delete(self, key: Any, version: Any = None) -> bool:
        return self.data.pop(self.make_key(key, version), None) is not None

    def clear(self) -> None:
        self.data.clear()


class AlwaysAddsCache(_DictCache):
    """``add`` overwrites and answers True, like a cache that does not implement it."""

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        self.set(key, value, timeout, version)
        return True


class AddOnceCache(_DictCache):
    """``add`` stores only a key that is absent, as Redis's ``SET NX`` does."""

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        if self.make_key(key, version) in self.data:
            return False
        self.set(key, value, timeout, version)
        return True
