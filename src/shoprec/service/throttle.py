"""A brake on guessing keys and tokens: failed attempts per client address in a window."""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import HTTPException


class AuthFailures:
    """Failed attempts per client address in a sliding window (in memory, per process)."""

    def __init__(self, allowed: int, window_s: float) -> None:
        self.allowed = allowed
        self.window_s = window_s
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def check(self, client: str) -> None:
        """429 while the client is over its allowance."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(client, now)
            if len(times) >= self.allowed:
                wait = max(1, int(times[0] + self.window_s - now) + 1)
                raise HTTPException(429, f"too many wrong keys or tokens from this client; "
                                         f"try again in {wait} s", headers={"Retry-After": str(wait)})
            if not times:
                self._seen.pop(client, None)

    def record(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(client, now).append(now)
            if len(self._seen) > 100_000:  # a flood of addresses must not grow memory unbounded
                for stale in [c for c, t in self._seen.items() if not t or t[-1] <= now - self.window_s]:
                    del self._seen[stale]
