"""The base of every request body that records something.

A body that records (ledger events, report values, declines, impact runs, tokens, a
deployment plan's shipments) refuses a field it does not know, instead of ignoring it: a
client sending ``recorded_by``, ``stored_by``, ``submitted_by`` or ``created_at`` must
learn that the server sets who and when from the token and its own clock, and a misspelt
field must not be dropped silently. The refusal is ``SERVICE_BAD_REQUEST`` naming the field.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class WriteBody(BaseModel):
    """A request body that records something: unknown fields are refused (see the module)."""

    model_config = ConfigDict(extra="forbid")
