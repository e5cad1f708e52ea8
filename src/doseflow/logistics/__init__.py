"""Cold chain and routing: storage profiles, the network file, feasibility, routes, capacity.

The public API (see ``docs/logistics.md``):

- storage profiles: :func:`storage_profile`, :func:`storage_cm3_per_dose`,
  :func:`transport_cm3_per_dose`, :func:`storage_litres`, :func:`profile_table`;
- the network file: :func:`load_network`, :func:`load_network_file`;
"""

from __future__ import annotations

from doseflow.logistics.network_file import NetworkFile, load_network, load_network_file
from doseflow.logistics.profile_file import load_profiles
from doseflow.logistics.storage_profiles import (
    PackedVolume,
    ProfileTable,
    StorageProfile,
    bundled_profiles,
    profile_table,
    storage_cm3_per_dose,
    storage_litres,
    storage_profile,
    transport_cm3_per_dose,
    transport_litres,
)

__all__ = [
    "NetworkFile",
    "PackedVolume",
    "ProfileTable",
    "StorageProfile",
    "bundled_profiles",
    "load_network",
    "load_network_file",
    "load_profiles",
    "profile_table",
    "storage_cm3_per_dose",
    "storage_litres",
    "storage_profile",
    "transport_cm3_per_dose",
    "transport_litres",
]
