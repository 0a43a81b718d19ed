"""A small per-process map whose entries expire: what a worker may remember of the database for
a few seconds to spare a round trip on every request."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Generic, Hashable, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    """Entries live ``ttl_seconds`` from when they were put; at most ``max_entries`` are kept (the
    least recently put are dropped first). A ``ttl_seconds`` of 0 keeps nothing. Safe to share
    between the threads of a worker."""

    def __init__(self, ttl_seconds: float, max_entries: int, clock=time.monotonic):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[K, tuple[V, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or self.clock() >= entry[1]:
            return None
        return entry[0]

    def put(self, key: K, value: V) -> None:
        if self.ttl_seconds <= 0:
            return
        expires = self.clock() + self.ttl_seconds
        with self._lock:
            self._entries[key] = (value, expires)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)
