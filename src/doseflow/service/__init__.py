"""The doseflow REST API and web dashboard (FastAPI), over the store and the engines.

Holds no business logic: every endpoint validates its input, checks the caller's role, calls
an engine or the store, and shapes the answer. Start it with ``doseflow serve`` or build the
app with :func:`create_app`.
"""

from __future__ import annotations

from doseflow.service.app import create_app

__all__ = ["create_app"]
