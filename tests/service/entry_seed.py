"""A stored reporting hierarchy for the data entry tests: Kenya with two regions and a county
below one, Nigeria with one region, stored as ``doseflow report hierarchy load`` stores it."""

from __future__ import annotations

from sqlalchemy import Engine

from doseflow.store.reporting_hierarchy import save_hierarchy

HIERARCHY = """\
participants:
  - code: KEN
    regions:
      - code: KEN-CST
        name: Coast
        regions:
          - {code: KEN-MSA, name: Mombasa}
      - {code: KEN-NBI, name: Nairobi}
  - code: NGA
    regions:
      - {code: NGA-LA, name: Lagos}
"""


def seed_hierarchy(engine: Engine) -> None:
    save_hierarchy(engine, HIERARCHY, "entry-test-hierarchy.yaml", by="test")
