"""A few seconds' memory of which API key is whose, so a request need not ask the store.

Every authenticated request looks its key up by the key's hash; the answer (an ApiKey) changes
only when the key is revoked (or expires), so a web process keeps each answer for `ttl_seconds`
(5 s by default) and asks the store again after that. What that means:

- A key revoked through the API: the revoking handler calls `clear()` on this process's cache
  (`app.state.key_cache.clear()`), so it stops working here at once. Other web processes, and
  revocation from the command line (`commissioning keys revoke`, another process), are seen
  within `ttl_seconds` at most.
- An unknown or revoked key is never remembered: a new key works at once, and a wrong key
  always costs a store lookup.
- Keys are remembered by the SHA-256 of the secret (the store's own index), never the secret.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from commissioning.store import ApiKey, Store
from commissioning.store.interface import hash_secret
from commissioning.store.rows import now

DEFAULT_TTL_SECONDS = 5.0
DEFAULT_MAX_KEYS = 1024


class KeyCache:
    """Key hash → ApiKey for up to `ttl_seconds`; the oldest go first beyond `max_keys`."""

    def __init__(
        self,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 0 <= ttl_seconds <= 60:
            raise ValueError("ttl_seconds must be between 0 and 60 (revocation waits for it)")
        self.ttl_seconds = ttl_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._keys: OrderedDict[str, tuple[float, ApiKey]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, secret: str) -> ApiKey | None:
        """The key for `secret` if it was found in the store less than `ttl_seconds` ago."""
        digest = hash_secret(secret)
        with self._lock:
            entry = self._keys.get(digest)
            if entry is None:
                return None
            key = entry[1]
            # An expiry is honoured to the moment, not up to `ttl_seconds` late.
            if self._clock() >= entry[0] or (
                key.expires_at is not None and key.expires_at <= now()
            ):
                del self._keys[digest]
                return None
            return key

    def authenticate(self, store: Store, secret: str) -> ApiKey | None:
        """The active key for `secret`: from memory if fresh, else from the store (blocking)."""
        key = self.cached(secret)
        if key is not None:
            return key
        key = store.authenticate(secret)
        if key is not None and self.ttl_seconds > 0:
            with self._lock:
                self._keys[hash_secret(secret)] = (self._clock() + self.ttl_seconds, key)
                while len(self._keys) > self.max_keys:
                    self._keys.popitem(last=False)
        return key

    def clear(self) -> None:
        """Forget every key: call after revoking one, so this process stops accepting it."""
        with self._lock:
            self._keys.clear()

    def __len__(self) -> int:
        return len(self._keys)
