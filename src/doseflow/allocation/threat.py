"""The threat-and-vulnerability score (configurable weights, see :class:`ThreatWeights`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from doseflow.allocation.policy import ThreatWeights
from doseflow.allocation.table import ParticipantTable

FloatArray = npt.NDArray[np.float64]


def _scaled(values: FloatArray, among: npt.NDArray[np.bool_]) -> FloatArray:
    """Values divided by the largest among ``among`` (0..1); unknown values get the mean
    (summed in sorted order, so it is the same to the last bit whatever order the
    participants are listed in, and equal inputs keep equal scores)."""
    out = values.copy()
    known = among & ~np.isnan(out)
    fill = float(np.sort(out[known]).mean()) if known.any() else 0.0
    out[np.isnan(out)] = fill
    top = float(out[among].max()) if among.any() else 0.0
    if top <= 0:
        return np.zeros_like(out)
    return np.clip(out / top, 0.0, 1.0)


def threat_scores(
    table: ParticipantTable, weights: ThreatWeights, among: npt.NDArray[np.bool_]
) -> FloatArray:
    """Score in 0..1 per participant, components scaled over the participants ``among``."""
    older = _scaled(table.share_older(weights.older_age), among)
    capacity = table.health_capacity.copy()
    capacity[np.isnan(capacity)] = 0.5
    health = np.clip(1.0 - capacity, 0.0, 1.0)
    deaths = _scaled(table.deaths_per_million, among)
    total = weights.older + weights.health_system + weights.deaths
    if total <= 0:
        return np.zeros(len(table), dtype=np.float64)
    score = (
        weights.older * older + weights.health_system * health + weights.deaths * deaths
    ) / total
    return np.asarray(score, dtype=np.float64)


def delivery_ranks(
    scores: FloatArray, among: npt.NDArray[np.bool_], ties: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """1 for the highest score among ``among`` (then 2, ...); 0 for the others. Equal
    scores are ranked by ``ties`` (the participant table's ``tie_rank``: ISO3 order)."""
    ranks = np.zeros(scores.size, dtype=np.int64)
    idx = np.flatnonzero(among)
    order = idx[np.lexsort((ties[idx], -scores[idx]))]
    ranks[order] = np.arange(1, order.size + 1)
    return ranks
