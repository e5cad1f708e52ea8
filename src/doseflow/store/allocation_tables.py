"""Tables of the allocation area: scenarios, rounds, pools, lines, coverage and declines."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from doseflow.store.base import Base


class ScenarioRow(Base):
    __tablename__ = "alloc_scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoundRow(Base):
    __tablename__ = "alloc_rounds"
    __table_args__ = (UniqueConstraint("scenario_id", "number", name="uq_alloc_rounds_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("alloc_scenarios.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    phase: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    supply: Mapped[int] = mapped_column(BigInteger)
    allocated: Mapped[int] = mapped_column(BigInteger)
    buffer: Mapped[int] = mapped_column(BigInteger)
    held: Mapped[int] = mapped_column(BigInteger)
    run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PoolRow(Base):
    __tablename__ = "alloc_pools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("alloc_rounds.id", ondelete="CASCADE"), index=True
    )
    pool: Mapped[str] = mapped_column(String(300))
    product: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))
    donor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    #: who may draw from the pool, {"financing": [...], "iso3": [...]}; null: everyone
    members: Mapped[dict[str, list[str]] | None] = mapped_column(JSON, nullable=True)
    mode: Mapped[str] = mapped_column(String(32))
    level: Mapped[float | None] = mapped_column(Float, nullable=True)
    supply: Mapped[int] = mapped_column(BigInteger)
    carried_in: Mapped[int] = mapped_column(BigInteger)
    buffer: Mapped[int] = mapped_column(BigInteger)
    allocated: Mapped[int] = mapped_column(BigInteger)
    held: Mapped[int] = mapped_column(BigInteger)


class LineRow(Base):
    __tablename__ = "alloc_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("alloc_rounds.id", ondelete="CASCADE"), index=True
    )
    pool: Mapped[str] = mapped_column(String(300))
    product: Mapped[str] = mapped_column(String(64))
    iso3: Mapped[str] = mapped_column(String(3), index=True)
    doses: Mapped[int] = mapped_column(BigInteger)
    packs: Mapped[int] = mapped_column(BigInteger)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)


class CoverageRowDB(Base):
    __tablename__ = "alloc_coverage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(
        ForeignKey("alloc_rounds.id", ondelete="CASCADE"), index=True
    )
    iso3: Mapped[str] = mapped_column(String(3))
    population: Mapped[int] = mapped_column(BigInteger)
    doses: Mapped[int] = mapped_column(BigInteger)
    doses_per_100: Mapped[float] = mapped_column(Float)
    fully_covered: Mapped[float] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)


class DeclineRow(Base):
    __tablename__ = "alloc_declines"
    __table_args__ = (
        UniqueConstraint(
            "scenario_id", "round_number", "product", "iso3", "pool", name="uq_alloc_declines_key"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("alloc_scenarios.id", ondelete="CASCADE"), index=True
    )
    round_number: Mapped[int] = mapped_column(Integer)
    product: Mapped[str] = mapped_column(String(64))
    iso3: Mapped[str] = mapped_column(String(3))
    pool: Mapped[str] = mapped_column(String(300), default="")
    doses: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    redirect: Mapped[str] = mapped_column(String(32))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: how it was recorded and by whom, e.g. "via the API by participant-KEN"
    recorded_by: Mapped[str] = mapped_column(String(300), default="", server_default="")


class RevisionRow(Base):
    """A revision of a round's supply: written once, never updated (append-only)."""

    __tablename__ = "alloc_revisions"
    __table_args__ = (
        UniqueConstraint(
            "scenario_id", "round_number", "revision", name="uq_alloc_revisions_number"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(
        ForeignKey("alloc_scenarios.id", ondelete="CASCADE"), index=True
    )
    round_number: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    #: the stored scenario (its content hash) the revision was made against
    scenario_hash: Mapped[str] = mapped_column(String(64))
    #: the round's whole supply in this revision (tranches as JSON)
    tranches: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: what this revision changed (tranche, product, doses before and after)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    supply: Mapped[int] = mapped_column(BigInteger)
    allocated: Mapped[int] = mapped_column(BigInteger)
    #: the round as this revision left it: pools and every explanation
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: how it was made and by whom, e.g. "via the API by analyst-1"
    created_by: Mapped[str] = mapped_column(String(300), default="", server_default="")
