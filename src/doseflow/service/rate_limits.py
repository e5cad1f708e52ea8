"""Rate limits: failed sign-ins per client address and per token prefix, writes per token,
refused anonymous writes per client address.

Each limit is a token bucket per key, held in this server process's memory: with
``doseflow serve --workers N`` every process keeps its own buckets, so a client spread over
N processes may reach up to N times a limit (docs/security.md says so). The number of keys
is bounded; full buckets are forgotten first, so a flood of new keys cannot grow memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from doseflow.domain.errors import DoseflowError
from doseflow.store.service_settings import RateLimit, SecuritySettings

#: Most keys one limiter remembers.
MAX_KEYS = 50_000


class RateLimited(DoseflowError):
    """``SERVICE_RATE_LIMITED`` (429) with the seconds to wait, sent as ``Retry-After``."""

    def __init__(self, what: str, retry_after: float) -> None:
        self.retry_after_seconds = max(1, math.ceil(retry_after))
        super().__init__(
            "SERVICE_RATE_LIMITED",
            f"too many {what}; try again in {self.retry_after_seconds} s",
            field="Retry-After",
            expected=f"at most the documented rate of {what} (docs/security.md)",
            value=self.retry_after_seconds,
        )


@dataclass
class _Bucket:
    tokens: float
    at: float


class Limiter:
    """A token bucket per key: ``limit.count`` events at once, refilled at the limit's rate."""

    def __init__(
        self,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget(now)
            bucket = _Bucket(float(self.limit.count), now)
            self._buckets[key] = bucket
        else:
            bucket.tokens = min(
                float(self.limit.count), bucket.tokens + (now - bucket.at) * self.limit.per_second
            )
            bucket.at = now
        return bucket

    def _forget(self, now: float) -> None:
        """Drop the buckets that have refilled; if none has, the oldest half."""
        rate, full = self.limit.per_second, float(self.limit.count)
        refilled = [k for k, b in self._buckets.items() if b.tokens + (now - b.at) * rate >= full]
        for key in (
            refilled
            or sorted(self._buckets, key=lambda k: self._buckets[k].at)[: len(self._buckets) // 2]
        ):
            del self._buckets[key]

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may act again (0 if it may now); uses nothing."""
        with self._lock:
            bucket = self._bucket(key, self.clock())
            return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.limit.per_second

    def take(self, key: str) -> float:
        """Use one event of ``key``'s allowance; returns :meth:`wait` if there was none."""
        with self._lock:
            bucket = self._bucket(key, self.clock())
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / self.limit.per_second


class RateLimits:
    """The service's limiters, one set per app (``app.state.rate_limits``)."""

    def __init__(self, settings: SecuritySettings, clock: Callable[[], float] = time.monotonic):
        self.sign_in_address = Limiter(settings.sign_in_failures_per_address, clock)
        self.sign_in_prefix = Limiter(settings.sign_in_failures_per_prefix, clock)
        self.writes = Limiter(settings.writes_per_principal, clock)
        self.anonymous_writes = Limiter(settings.anonymous_writes_per_address, clock)

    def check_sign_in(self, address: str, prefix: str) -> None:
        """Refuse a sign-in attempt while its address or token prefix has failed too often."""
        wait = max(self.sign_in_address.wait(address), self.sign_in_prefix.wait(prefix))
        if wait > 0:
            raise RateLimited("failed sign-ins", wait)

    def sign_in_failed(self, address: str, prefix: str) -> None:
        self.sign_in_address.take(address)
        self.sign_in_prefix.take(prefix)

    def check_write(self, token_id: int | None, address: str) -> None:
        """Count one write by a token (or, without one, by its client address)."""
        if token_id is not None:
            wait = self.writes.take(f"token:{token_id}")
            what = "writes with this token"
        else:
            wait = self.anonymous_writes.take(address)
            what = "requests without a valid token"
        if wait > 0:
            raise RateLimited(what, wait)
