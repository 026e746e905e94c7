"""The cache a stage may consult: bytes by (space, key), injected by the build.

A stage never opens the cache itself: ``build`` passes a ``Store`` (``crmgen.cache.Cache``,
SQLite in the data repo's ``.crmgen-cache/``) or ``NO_STORE``. A key must name every input of
what is stored (content hashes, versions), so a stale entry can only be a miss, never a wrong
answer; a store may also forget anything at any time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol


class Store(Protocol):
    """Bytes by (space, key); ``space`` names what is stored ("svg", "records", ...)."""

    def get(self, space: str, key: str) -> bytes | None: ...

    def get_many(self, space: str, keys: Iterable[str]) -> Mapping[str, bytes]: ...

    def put(self, space: str, key: str, value: bytes) -> None: ...


class _NoStore:
    """Remembers nothing: every lookup is a miss."""

    def get(self, space: str, key: str) -> bytes | None:
        return None

    def get_many(self, space: str, keys: Iterable[str]) -> Mapping[str, bytes]:
        return {}

    def put(self, space: str, key: str, value: bytes) -> None:
        return None


NO_STORE: Store = _NoStore()
