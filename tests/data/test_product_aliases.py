"""One set of product codes (issue 15): every alias names a product code of the bundled table,
and every product code the bundled examples, the storage profiles and the UNICEF import use
is either a code of that table or an alias of one."""

from __future__ import annotations

from pathlib import Path

import yaml

from doseflow.data.product_codes import (
    bundled_product_aliases,
    bundled_product_codes,
    canonical_product,
)
from doseflow.ledger.unicef import VACCINE_PRODUCTS
from doseflow.logistics.storage_profiles import bundled_profiles

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "doseflow" / "data" / "examples"


def test_every_alias_names_one_known_product_and_no_alias_is_a_code() -> None:
    codes = bundled_product_codes()
    aliases = bundled_product_aliases()
    assert len(aliases) >= 20
    for alias, product in aliases.items():
        assert product in codes, (alias, product)
        assert alias not in {c.upper() for c in codes}, alias


def test_a_code_or_alias_in_any_case_is_its_canonical_code() -> None:
    assert canonical_product("PFIZER-BNT") == "PFIZER"
    assert canonical_product(" comirnaty ") == "PFIZER"
    assert canonical_product("pfizer") == "PFIZER"
    assert canonical_product("Covishield") == "AZ-SII"
    assert canonical_product("az-skb") == "AZ-SKB"
    assert canonical_product("AZ") == "AZ"
    assert canonical_product("my-own") == "my-own"  # a scenario's own product, as written


def test_the_bundled_examples_use_the_canonical_codes() -> None:
    codes = set(bundled_product_codes())
    scenario = yaml.safe_load((EXAMPLES / "covax_2021.yaml").read_text())
    used = {p["code"] for p in scenario["products"]}
    network = yaml.safe_load((EXAMPLES / "network.yaml").read_text())
    used |= {p for node in network["nodes"] for p in node.get("products", [])}
    deployment = yaml.safe_load((EXAMPLES / "deployment_prk.yaml").read_text())
    used |= {p["code"] for p in deployment["products"]}
    used |= set(VACCINE_PRODUCTS.values())
    assert used <= codes, used - codes


def test_every_storage_profile_is_found_by_a_canonical_code() -> None:
    """Cold chain takes the same codes as allocation: each profile's code is a product code
    or an alias of one, and that code finds the profile."""
    table = bundled_profiles()
    for code in table.profiles:
        canonical = canonical_product(code)
        assert canonical in bundled_product_codes(), code
        assert table.require(canonical) is table.profiles[code]
