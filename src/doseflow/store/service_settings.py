"""The service's security settings in one value: session lifetimes, rate limits, HSTS.

``create_app(..., security=SecuritySettings(...))`` is the one way to change them for an
app (the test suite relaxes the rate limits this way, explicitly, rather than through a
process-wide switch); ``doseflow serve`` reads :meth:`SecuritySettings.from_environment`.
The defaults are what docs/security.md documents. Kept below both interfaces (beside
:mod:`doseflow.store.job_settings`) so that ``doseflow serve`` can refuse a bad setting with a
clear error before it starts any worker process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta

from doseflow.domain.errors import DoseflowError


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` events per ``seconds`` for one key (a token bucket of that size)."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass(frozen=True)
class SecuritySettings:
    """How long dashboard sessions live and how fast a client may fail or write."""

    #: A session unused this long ends (the next page asks to sign in again).
    session_idle: timedelta = timedelta(minutes=30)
    #: A session ends this long after sign-in however busy it is.
    session_lifetime: timedelta = timedelta(hours=8)
    #: Most live sessions one token may have; signing in again ends the oldest beyond this.
    sessions_per_token: int = 10
    #: Failed sign-ins from one client address.
    sign_in_failures_per_address: RateLimit = field(default_factory=lambda: RateLimit(10, 300))
    #: Failed sign-ins with tokens starting with the same prefix (``dft_`` + 6 characters).
    sign_in_failures_per_prefix: RateLimit = field(default_factory=lambda: RateLimit(5, 300))
    #: Writes (POST, PUT, PATCH, DELETE) by one signed-in user's token.
    writes_per_principal: RateLimit = field(default_factory=lambda: RateLimit(300, 60))
    #: Writes without a valid token (all refused) from one client address.
    anonymous_writes_per_address: RateLimit = field(default_factory=lambda: RateLimit(30, 60))
    #: Refused anonymous or rate-limited writes are summarised in one audit row per window.
    audit_summary_seconds: float = 60.0
    #: ``Strict-Transport-Security`` max-age, sent only on requests that came over https.
    hsts_seconds: int = 365 * 86400

    @classmethod
    def relaxed(cls) -> SecuritySettings:
        """Limits no test or benchmark reaches (sessions and headers unchanged)."""
        many = RateLimit(1_000_000, 1)
        return cls(
            sign_in_failures_per_address=many,
            sign_in_failures_per_prefix=many,
            writes_per_principal=many,
            anonymous_writes_per_address=many,
        )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SecuritySettings:
        """The defaults, changed by ``DOSEFLOW_SESSION_IDLE_MINUTES``,
        ``DOSEFLOW_SESSION_HOURS``, ``DOSEFLOW_WRITES_PER_MINUTE`` and
        ``DOSEFLOW_SIGN_IN_FAILURES_PER_5_MINUTES`` (whole numbers > 0)."""
        env = os.environ if environ is None else environ
        settings = cls()

        def number(name: str) -> int | None:
            text = env.get(name)
            if text is None or text == "":
                return None
            if not text.isdigit() or int(text) <= 0:
                raise DoseflowError(
                    "SERVICE_BAD_SETTING",
                    f"{name} must be a whole number greater than 0",
                    field=name,
                    expected="a whole number > 0",
                    value=text,
                )
            return int(text)

        if (idle := number("DOSEFLOW_SESSION_IDLE_MINUTES")) is not None:
            settings = replace(settings, session_idle=timedelta(minutes=idle))
        if (hours := number("DOSEFLOW_SESSION_HOURS")) is not None:
            settings = replace(settings, session_lifetime=timedelta(hours=hours))
        if (writes := number("DOSEFLOW_WRITES_PER_MINUTE")) is not None:
            settings = replace(settings, writes_per_principal=RateLimit(writes, 60))
        if (fails := number("DOSEFLOW_SIGN_IN_FAILURES_PER_5_MINUTES")) is not None:
            settings = replace(settings, sign_in_failures_per_address=RateLimit(fails, 300))
        return settings
