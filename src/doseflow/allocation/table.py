"""Participants as columns (NumPy arrays), built once per run so rounds are vector work.

Per-product columns (licence, readiness, opt-outs, delays, requests) are computed on first
use and cached, so a run of many rounds pays for them once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property

import numpy as np
import numpy.typing as npt

from doseflow.data.population import countries
from doseflow.domain.participant import Participant
from doseflow.domain.product import Financing, Product

NO_DELAY = np.iinfo(np.int64).min

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class ParticipantTable:
    """The participants of a run, in a fixed order, with their attributes as arrays."""

    def __init__(self, participants: Sequence[Participant]) -> None:
        self.participants: tuple[Participant, ...] = tuple(participants)
        self.iso3: npt.NDArray[np.object_] = np.array(
            [p.iso3 for p in self.participants], dtype=object
        )
        self.index: dict[str, int] = {p.iso3: i for i, p in enumerate(self.participants)}
        self.population: FloatArray = np.array(
            [p.population for p in self.participants], dtype=np.float64
        )
        self.ceiling: FloatArray = np.array([p.ceiling for p in self.participants], dtype=float)
        self.other_sources: FloatArray = np.array(
            [p.other_sources_doses for p in self.participants], dtype=np.float64
        )
        self._static: dict[str, IntArray] = {}
        self._delays: dict[str, IntArray | None] = {}
        self._cache: dict[tuple[str, str], FloatArray] = {}
        self._lead: dict[int, IntArray] = {}
        self._scaled: dict[float, FloatArray] = {}
        self._capped: dict[float, FloatArray] = {}
        self._other: dict[int, FloatArray] = {}

    def __len__(self) -> int:
        return len(self.participants)

    def position(self, iso3: str) -> int | None:
        return self.index.get(iso3)

    @cached_property
    def iso3_order(self) -> IntArray:
        """Positions of the participants sorted by ISO3 code (unique in a scenario): the
        canonical order, whatever order they were listed in (read-only)."""
        codes = self.iso3
        if bool((codes[1:] > codes[:-1]).all()):  # listed in ISO3 order already (common)
            order = np.arange(codes.size, dtype=np.int64)
        else:  # as fixed-width text: sorting Python objects is several times slower
            order = np.argsort(codes.astype(str), kind="stable").astype(np.int64)
        order.setflags(write=False)
        return order

    @cached_property
    def tie_rank(self) -> IntArray:
        """Each participant's place in ISO3 order (0 first): the key that breaks exact
        ties (equal remainders when rounding to packs, equal threat scores), so the order
        of the participants in the file never matters (read-only)."""
        rank = np.empty(len(self), dtype=np.int64)
        rank[self.iso3_order] = np.arange(len(self), dtype=np.int64)
        rank.setflags(write=False)
        return rank

    @cached_property
    def _amc(self) -> BoolArray:
        return np.array([p.financing is Financing.AMC for p in self.participants], dtype=bool)

    def in_group(self, group: Financing) -> BoolArray:
        """Whether each participant pays through financing ``group`` (a fresh array)."""
        return self._amc.copy() if group is Financing.AMC else ~self._amc

    @cached_property
    def _ready_general(self) -> tuple[BoolArray, BoolArray]:
        plan = np.array([p.deployment_plan for p in self.participants], dtype=bool)
        permit = np.array([p.import_permit for p in self.participants], dtype=bool)
        return plan, permit

    def static_exclusions(self, product: Product) -> IntArray:
        """Reason flags that depend on the product only (cached; callers copy before editing)."""
        from doseflow.allocation.eligibility import Exclusion

        found = self._static.get(product.code)
        if found is not None:
            return found
        parts = self.participants
        flags = np.zeros(len(parts), dtype=np.int64)
        if product.licence_iso3 is not None or product.licence_financing is not None:
            licensed = np.array(
                [product.licensed_for(p.iso3, p.financing) for p in parts], dtype=bool
            )
            flags[~licensed] |= int(Exclusion.NOT_LICENSED)
        band = product.storage_band
        cold = np.array([band in p.cold_chain for p in parts], dtype=bool)
        flags[~cold] |= int(Exclusion.NO_COLD_CHAIN)
        auth = np.array([p.is_authorised(product.code) for p in parts], dtype=bool)
        flags[~auth] |= int(Exclusion.NOT_AUTHORISED)
        indem = np.array([p.is_indemnified(product.code) for p in parts], dtype=bool)
        flags[~indem] |= int(Exclusion.NOT_INDEMNIFIED)
        plan, permit = self._ready_general
        flags[~plan] |= int(Exclusion.NO_DEPLOYMENT_PLAN)
        flags[~permit] |= int(Exclusion.NO_IMPORT_PERMIT)
        opted = np.array([product.code in p.opt_outs for p in parts], dtype=bool)
        flags[opted] |= int(Exclusion.OPTED_OUT)
        flags.setflags(write=False)  # shared by every pool of the product
        self._static[product.code] = flags
        return flags

    def scaled_population(self, factor: float) -> FloatArray:
        """``population * factor`` (e.g. doses one unit of coverage costs), cached per factor
        so the pools of a run share it (read-only)."""
        found = self._scaled.get(factor)
        if found is None:
            found = self.population * factor
            found.setflags(write=False)
            self._scaled[factor] = found
        return found

    def capped_ceiling(self, top: float) -> FloatArray:
        """Each ceiling, at most ``top`` (the ladder's top rung); cached (read-only)."""
        found = self._capped.get(top)
        if found is None:
            found = np.minimum(self.ceiling, top)
            found.setflags(write=False)
            self._capped[top] = found
        return found

    def other_courses(self, doses_per_course: int) -> FloatArray:
        """Courses the doses from other sources make; cached (read-only)."""
        found = self._other.get(doses_per_course)
        if found is None:
            found = self.other_sources / doses_per_course
            found.setflags(write=False)
            self._other[doses_per_course] = found
        return found

    def delay_ordinals(self, product_code: str) -> IntArray | None:
        """Per participant, the first day (ordinal) it wants ``product_code``; None if nobody
        delayed it."""
        if product_code in self._delays:
            return self._delays[product_code]
        values = [p.delays.get(product_code) for p in self.participants]
        result: IntArray | None = None
        if any(v is not None for v in values):
            result = np.array(
                [NO_DELAY if v is None else v.toordinal() for v in values], dtype=np.int64
            )
        self._delays[product_code] = result
        return result

    def lead_time_days(self, default: int) -> IntArray:
        found = self._lead.get(default)
        if found is None:
            found = np.array(
                [
                    default if p.lead_time_days is None else p.lead_time_days
                    for p in self.participants
                ],
                dtype=np.int64,
            )
            self._lead[default] = found
        return found

    def share_older(self, min_age: int) -> FloatArray:
        """Share of people aged ``min_age``+ (override, else WPP 2019; NaN if unknown)."""
        key = ("older", str(min_age))
        found = self._cache.get(key)
        if found is None:
            data = countries()
            values: list[float] = []
            for p in self.participants:
                if p.threat.share_older is not None:
                    values.append(p.threat.share_older)
                    continue
                known = data.get(p.iso3)
                if known is not None and known.has_age_bands:
                    values.append(known.share_aged(min_age))
                else:
                    values.append(float("nan"))
            found = np.array(values, dtype=np.float64)
            self._cache[key] = found
        return found

    @cached_property
    def health_capacity(self) -> FloatArray:
        return np.array(
            [
                np.nan
                if p.threat.health_system_capacity is None
                else p.threat.health_system_capacity
                for p in self.participants
            ],
            dtype=np.float64,
        )

    @cached_property
    def deaths_per_million(self) -> FloatArray:
        return np.array([p.threat.deaths_per_million for p in self.participants], dtype=float)

    @cached_property
    def absorption_per_month(self) -> FloatArray:
        return np.array(
            [
                np.inf if p.demand.absorption_per_month is None else p.demand.absorption_per_month
                for p in self.participants
            ],
            dtype=np.float64,
        )

    def requests(self, product_code: str, per_person: float) -> FloatArray:
        """Doses requested of ``product_code`` per round (inf where no limit was stated): the
        smaller of the request in doses and the requested coverage (a share of the
        population) times ``per_person`` (doses one person needs). Read-only, cached."""
        key = ("request", f"{product_code}\x00{per_person!r}")
        found = self._cache.get(key)
        if found is None:
            found = np.array(
                [
                    min(
                        float(p.demand.requests.get(product_code, np.inf)),
                        p.demand.requested_coverage.get(product_code, np.inf)
                        * p.population
                        * per_person,
                    )
                    for p in self.participants
                ],
                dtype=np.float64,
            )
            found.setflags(write=False)
            self._cache[key] = found
        return found

    def has_requests(self, product_code: str) -> bool:
        """Whether any participant limits its request of ``product_code``."""
        return product_code in self._requested_products

    @cached_property
    def _requested_products(self) -> frozenset[str]:
        return frozenset(
            code
            for p in self.participants
            for code in (*p.demand.requests, *p.demand.requested_coverage)
        )

    @cached_property
    def share_of_level(self) -> FloatArray | None:
        """Each participant's share of the common coverage level (1 where not stated), or
        None when nobody states one (so the common case does no extra work)."""
        if all(p.share_of_level is None for p in self.participants):
            return None
        found = np.array(
            [1.0 if p.share_of_level is None else p.share_of_level for p in self.participants],
            dtype=np.float64,
        )
        found.setflags(write=False)
        return found

    def awaiting_second_dose(self, product_codes: Mapping[str, int]) -> FloatArray:
        """Doses needed to complete started courses of the given products (code -> doses
        still needed per person)."""
        need = np.zeros(len(self.participants), dtype=np.float64)
        for i, p in enumerate(self.participants):
            need[i] = sum(
                people * product_codes[code]
                for code, people in p.awaiting_second_dose.items()
                if code in product_codes
            )
        return need
