"""Refused requests that wrote nothing and name no accountable user are counted, not
recorded one by one: anonymous writes (no or an invalid token, failed sign-ins, forged
forms) and rate-limited ones. Otherwise anyone could grow the audit table without limit.

Per server process and per window (``SecuritySettings.audit_summary_seconds``), the first
such request writes one summary row (``action`` ``refused.summary``, ``outcome``
``summary``) whose detail counts them by status, path, client address and user (at most
:data:`MAX_KEYS` of each, the rest as ``other``); the row is brought up to date at most
every :data:`FLUSH_SECONDS` and when the next window begins. At most one row per window
and process, and a bounded number of updates, whatever the number of requests.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from doseflow.store.service_audit import record_summary

MAX_KEYS = 20
FLUSH_SECONDS = 10.0


def _count(counter: Counter[str], key: str) -> None:
    counter[key if key in counter or len(counter) < MAX_KEYS else "other"] += 1


class RefusalSummary:
    """The current window's counts, written as one audit row (thread-safe)."""

    def __init__(
        self,
        engine: Engine,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.window = window_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._start = -float("inf")
        self._flushed = -float("inf")
        self._dirty = False
        self._new_window(clock())

    def _new_window(self, now: float) -> None:
        self._start = now
        self._flushed = -float("inf")
        self._request_id = uuid.uuid4().hex
        self._at = datetime.now(UTC)
        self._total = 0
        self._by: dict[str, Counter[str]] = {
            "status": Counter(),
            "path": Counter(),
            "address": Counter(),
            "user": Counter(),
        }

    def _detail(self) -> dict[str, Any]:
        return {
            "count": self._total,
            "window_start": self._at.isoformat(),
            "window_seconds": self.window,
            **{name: dict(counter.most_common()) for name, counter in self._by.items()},
        }

    def add(self, *, status: int, path: str, address: str, user: str | None) -> None:
        """Count one refused request; write the row if it is due."""
        with self._lock:
            now = self.clock()
            if now - self._start >= self.window:
                if self._dirty:
                    self._write()
                self._new_window(now)
            self._total += 1
            _count(self._by["status"], str(status))
            _count(self._by["path"], path[:200])
            _count(self._by["address"], address[:64])
            _count(self._by["user"], user or "(anonymous)")
            self._dirty = True
            if now - self._flushed >= FLUSH_SECONDS:
                self._write()
                self._flushed = now

    def flush(self) -> None:
        """Write the counts not yet written (at shutdown)."""
        with self._lock:
            if self._dirty:
                self._write()

    def _write(self) -> None:
        record_summary(self.engine, self._request_id, at=self._at, detail=self._detail())
        self._dirty = False
