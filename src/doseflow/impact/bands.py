"""Age bands: any partition of ages into contiguous bands, the last one open-ended.

The model works on whatever bands the analyst chooses (5-year, 10-year, "0-17, 18-59, 60+").
Bundled data (WPP 2019 population, Prem 2017 contacts) is in five-year bands, so bands built
from it must start at multiples of five; bands given with their own population and contact
matrix may start at any whole age.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from doseflow.domain.errors import DoseflowError

#: The oldest age the bundled WPP data resolves (its last band is 100+).
WPP_LAST_START = 100

_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)|(\+))\s*$")


@dataclass(frozen=True)
class AgeBands:
    """Bands given by their lower bounds (years): ``(0, 20, 60)`` means 0-19, 20-59, 60+."""

    starts: tuple[int, ...]

    def __post_init__(self) -> None:
        starts = self.starts
        if not starts or starts[0] != 0 or any(b <= a for a, b in pairwise(starts)):
            raise DoseflowError(
                "IMPACT_BAD_BANDS",
                "age bands must start at 0 and increase strictly",
                field="bands",
                expected="increasing lower bounds starting at 0, e.g. 0,5,10,...,75",
                value=",".join(str(s) for s in starts),
            )

    @classmethod
    def uniform(cls, width: int = 5, last_start: int = 75) -> AgeBands:
        """Bands of ``width`` years up to an open band starting at ``last_start``."""
        return cls(tuple(range(0, last_start + 1, width)))

    @classmethod
    def parse(cls, text: str) -> AgeBands:
        """Bands from ``"0,5,10,...,75"`` (lower bounds) or ``"0-17,18-59,60+"`` (ranges)."""
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if parts and all(p.isdigit() for p in parts):
            return cls(tuple(int(p) for p in parts))
        matches = [_RANGE.match(p) for p in parts]
        starts: list[int] = []
        ok = bool(parts)
        for i, m in enumerate(matches):
            last = i == len(matches) - 1
            if m is None or (m.group(3) is not None) != last:
                ok = False
                break
            starts.append(int(m.group(1)))
            if i and m is not None:
                prev = matches[i - 1]
                if prev is None or int(prev.group(2)) + 1 != starts[-1]:
                    ok = False
                    break
        if not ok:
            raise DoseflowError(
                "IMPACT_BAD_BANDS",
                f"cannot read age bands '{text}'",
                field="bands",
                expected="lower bounds '0,5,...,75' or contiguous ranges ending open, "
                "'0-17,18-59,60+'",
                value=text,
            )
        return cls(tuple(starts))

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def ends(self) -> tuple[int | None, ...]:
        """Exclusive upper bound of each band; ``None`` for the open last band."""
        return (*self.starts[1:], None)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(
            f"{a}+" if b is None else f"{a}-{b - 1}"
            for a, b in zip(self.starts, self.ends, strict=True)
        )

    @property
    def midpoints(self) -> tuple[float, ...]:
        """Mid-age of each band; the open band is taken as ``start + 5``."""
        return tuple(
            a + 5.0 if b is None else (a + b) / 2
            for a, b in zip(self.starts, self.ends, strict=True)
        )

    def check_five_year(self) -> None:
        """Raise unless the bands can be built from the bundled five-year data."""
        bad = [s for s in self.starts if s % 5 or s > WPP_LAST_START]
        if bad:
            raise DoseflowError(
                "IMPACT_BANDS_NOT_ALIGNED",
                "bands built from bundled WPP/Prem data must start at multiples of 5 up to 100",
                field="bands",
                expected="lower bounds that are multiples of 5, at most 100",
                value=bad[0],
            )

    def index_of_five_year(self) -> list[int]:
        """For each WPP five-year band (0-4 ... 100+), the index of the band holding it."""
        self.check_five_year()
        out: list[int] = []
        band = 0
        for start in range(0, WPP_LAST_START + 1, 5):
            while band + 1 < len(self.starts) and self.starts[band + 1] <= start:
                band += 1
            out.append(band)
        return out

    def select(self, text: str) -> tuple[int, ...]:
        """Indices of the bands making up an age group such as ``"60+"`` or ``"20-59"``.

        The group's bounds must fall on band boundaries, so a group is a whole number of bands.
        """
        m = _RANGE.match(text)
        if m is None:
            raise DoseflowError(
                "IMPACT_BAD_GROUP",
                f"cannot read age group '{text}'",
                field="groups",
                expected="an age range such as '60+' or '20-59'",
                value=text,
            )
        lo = int(m.group(1))
        hi = None if m.group(3) else int(m.group(2)) + 1
        ends = self.ends
        if lo not in self.starts or (hi is not None and hi not in ends):
            raise DoseflowError(
                "IMPACT_BAD_GROUP",
                f"age group '{text}' does not fall on the band boundaries {self.labels}",
                field="groups",
                expected="a group made of whole bands",
                value=text,
            )
        return tuple(
            i
            for i, (a, b) in enumerate(zip(self.starts, ends, strict=True))
            if a >= lo and (hi is None or (b is not None and b <= hi))
        )
