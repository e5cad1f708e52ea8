"""The deployment file: the bundled example loads, CSV parts load, and one test per error
code asserting the code, the message and the value it names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from doseflow.deployment import (
    load_deployment,
    parse_deployment_document,
    parse_deployment_yaml,
    plan_deployment,
)
from doseflow.domain.errors import DoseflowError

EXAMPLE = Path(__file__).resolve().parents[2] / "src/doseflow/data/examples/deployment_prk.yaml"

GOOD = """\
country: PRK
start: 2021-06-01
horizon_days: 60
products:
  - code: AZ
    name: AstraZeneca
    doses_per_course: 2
    doses_per_vial: 10
    pack_doses: 500
    storage_band: 2-8
stock:
  - {product: AZ, lot: L1, doses: 10000, expiry: 2021-09-30}
regions:
  - {code: PY, name: Pyongyang, population: 3000000, doses_per_day: 5000,
     cold_chain_litres: {2-8: 500}}
  - {code: RS, name: Rason, population: 200000, doses_per_day: 500, cold_chain_litres: {2-8: 50}}
groups:
  - {name: Health workers, kind: health-workers, share: 0.01, coverage: 1.0}
"""


def _error(text: str, tmp_path: Path | None = None) -> DoseflowError:
    with pytest.raises(DoseflowError) as info:
        parse_deployment_yaml(text, "plan.yaml", csv_dir=tmp_path)
    return info.value


def test_the_bundled_example_loads_and_plans() -> None:
    inp = load_deployment(EXAMPLE)
    assert inp.country == "PRK"
    assert len(inp.regions) == 12
    older = next(g for g in inp.groups if g.name.startswith("Older"))
    assert older.note.startswith("aged 60+")
    plan = plan_deployment(inp)
    assert 0 < plan.planned_doses() <= plan.available_doses()


def test_a_good_file_gives_products_with_defaults_from_the_storage_profiles() -> None:
    inp = parse_deployment_yaml(GOOD, "plan.yaml")
    pol = inp.products[0]
    assert pol.interval_days == 84  # AstraZeneca, WHO SAGE
    assert pol.cm3_per_dose == 2.5  # logistics storage profile, 10-dose vial
    assert inp.groups[0].population_by_region == (30_000, 2_000)


def test_regions_stock_and_groups_can_come_from_csv(tmp_path: Path) -> None:
    (tmp_path / "regions.csv").write_text(
        "code,name,population,doses_per_day,lead_days,litres_2_8\n"
        "PY,Pyongyang,3000000,5000,1,500\nRS,Rason,200000,500,3,50\n"
    )
    (tmp_path / "groups.csv").write_text(
        "name,kind,share,coverage,priority,regions\nBorder,border-areas,0.1,0.9,1,RS\n"
    )
    text = GOOD.split("regions:")[0] + "regions: regions.csv\ngroups: groups.csv\n"
    inp = parse_deployment_yaml(text, "plan.yaml", csv_dir=tmp_path)
    assert inp.regions[1].lead_days == 3
    assert inp.groups[0].population_by_region == (0, 20_000)


def test_file_not_found() -> None:
    with pytest.raises(DoseflowError) as info:
        load_deployment("/nonexistent/plan.yaml")
    assert info.value.code == "DEPLOY_FILE_NOT_FOUND"
    assert "cannot open" in str(info.value)
    assert info.value.detail.value == "/nonexistent/plan.yaml"


def test_bad_yaml() -> None:
    err = _error("country: [PRK\n")
    assert err.code == "DEPLOY_BAD_YAML"
    assert "not valid YAML" in str(err)
    assert err.detail.location.line is not None


def test_missing_field_names_file_line_and_field() -> None:
    err = _error(GOOD.replace("{product: AZ, lot: L1, doses: 10000", "{product: AZ, lot: L1"))
    assert err.code == "DEPLOY_MISSING_FIELD"
    assert err.detail.location.field == "doses"
    assert err.detail.location.line == 12
    assert "'doses' is missing" in str(err)


def test_unknown_field() -> None:
    err = _error(GOOD.replace("horizon_days: 60", "horizon_days: 60\nhorizon: 60"))
    assert err.code == "DEPLOY_UNKNOWN_FIELD"
    assert err.detail.location.field == "horizon"
    assert err.detail.location.line == 4


def test_bad_field_value() -> None:
    err = _error(GOOD.replace("doses_per_day: 500,", "doses_per_day: -5,"))
    assert err.code == "DEPLOY_BAD_FIELD"
    assert err.detail.location.field == "doses_per_day"
    assert err.detail.value == -5
    assert err.detail.location.line == 16


def test_bad_csv_header(tmp_path: Path) -> None:
    (tmp_path / "regions.csv").write_text("")
    text = GOOD.split("regions:")[0] + "regions: regions.csv\ngroups: []\n"
    err = _error(text, tmp_path)
    assert err.code == "DEPLOY_BAD_CSV_HEADER"
    assert "no header" in str(err)


def test_duplicate_region() -> None:
    err = _error(GOOD.replace("{code: RS, name: Rason", "{code: PY, name: Rason"))
    assert err.code == "DEPLOY_DUPLICATE"
    assert err.detail.value == "PY"
    assert "given twice" in str(err)


def test_unknown_product_in_stock() -> None:
    err = _error(GOOD.replace("{product: AZ, lot", "{product: PFIZER, lot"))
    assert err.code == "DEPLOY_UNKNOWN_PRODUCT"
    assert err.detail.value == "PFIZER"


def test_undefined_product() -> None:
    err = _error(GOOD.replace("    doses_per_course: 2\n", ""))
    assert err.code == "DEPLOY_UNKNOWN_PRODUCT"
    assert err.detail.location.field == "doses_per_course"
    assert "is not defined" in str(err)


def test_group_names_an_unknown_region() -> None:
    err = _error(GOOD.replace("coverage: 1.0}", "coverage: 1.0, regions: [XX]}"))
    assert err.code == "DEPLOY_UNKNOWN_REGION"
    assert err.detail.value == "XX"


def test_group_without_a_size() -> None:
    err = _error(GOOD.replace("share: 0.01, ", ""))
    assert err.code == "DEPLOY_GROUP_SIZE"
    assert err.detail.value == "Health workers"


def test_group_larger_than_the_region() -> None:
    err = _error(GOOD.replace("share: 0.01, ", "per_region: {RS: 300000}, "))
    assert err.code == "DEPLOY_GROUP_TOO_LARGE"
    assert err.detail.value == 300_000


def test_age_limit_off_the_wpp_bands() -> None:
    err = _error(GOOD.replace("share: 0.01, ", "min_age: 62, "))
    assert err.code == "DEPLOY_BAD_AGE"
    assert err.detail.value == 62
    assert "five-year" in str(err)


def test_no_interval_for_an_unknown_two_dose_product() -> None:
    err = _error(
        GOOD.replace("code: AZ\n    name: AstraZeneca", "code: XV\n    name: Xvax").replace(
            "{product: AZ", "{product: XV"
        )
    )
    assert err.code == "DEPLOY_NO_INTERVAL"
    assert err.detail.value == "XV"


def test_no_volume_for_an_unknown_product() -> None:
    err = _error(
        GOOD.replace("code: AZ\n    name: AstraZeneca", "code: XV\n    name: Xvax")
        .replace("{product: AZ", "{product: XV")
        .replace("storage_band: 2-8", "storage_band: 2-8\n    interval_days: 28")
    )
    assert err.code == "DEPLOY_NO_VOLUME"
    assert err.detail.value == "XV"


def test_negative_stock_quantity() -> None:
    from doseflow.deployment import StockLot

    with pytest.raises(DoseflowError) as info:
        StockLot("AZ", "L1", -1)
    assert info.value.code == "DEPLOY_BAD_QUANTITY"
    assert info.value.detail.value == -1


def test_group_populations_must_match_the_regions() -> None:
    from .builders import group, lot, make, region

    inp = make([region("A"), region("B")], [group("G", [1])], [lot("AZ", "L", 100)])
    with pytest.raises(DoseflowError) as info:
        plan_deployment(inp)
    assert info.value.code == "DEPLOY_GROUP_REGIONS"
    assert info.value.detail.value == 1


def test_unknown_region_and_product_lookups_on_a_plan() -> None:
    plan = plan_deployment(parse_deployment_yaml(GOOD, "plan.yaml"))
    with pytest.raises(DoseflowError) as info:
        plan.explain("XX", "AZ")
    assert info.value.code == "DEPLOY_UNKNOWN_REGION"
    assert info.value.detail.value == "XX"


def test_without_a_csv_dir_a_file_name_is_refused_without_reading(tmp_path: Path) -> None:
    """Only a caller reading the user's own file (the CLI) gives a directory; text or data
    from anywhere else has no file access, whether or not the file exists."""
    (tmp_path / "regions.csv").write_text("code,name,population,doses_per_day\nPY,P,10,1\n")
    text = GOOD.split("regions:")[0] + f"regions: {tmp_path / 'regions.csv'}\ngroups: []\n"
    err = _error(text)
    assert err.code == "DEPLOY_FILE_REFERENCE"
    assert err.detail.location.field == "regions"
    assert (
        err.detail.location.line
        == text.splitlines().index(f"regions: {tmp_path / 'regions.csv'}") + 1
    )
    missing = _error(text.replace("regions.csv", "missing.csv"))
    assert (missing.code, missing.detail.message) == (err.code, err.detail.message)
    document = {**yaml.safe_load(GOOD), "stock": "/etc/passwd"}
    with pytest.raises(DoseflowError) as info:
        parse_deployment_document(json.loads(json.dumps(document, default=str)), "body")
    assert info.value.code == "DEPLOY_FILE_REFERENCE"
    assert "root:" not in str(info.value)
@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        ("doses: 10000", "doses: true", "doses", "not true or false"),
        ("doses: 10000", 'doses: "12"', "doses", "whole number"),
        (
            "doses: 10000",
            "doses: 10000000000000000000000000000000",
            "doses",
            "at most 1,000,000,000,000",
        ),
        ("lot: L1", "lot: " + "L" * 101, "lot", "at most 100 characters"),
        ("lot: L1", 'lot: "L\\u2028"', "lot", "without control characters"),
        ("expiry: 2021-09-30", "expiry: 9999-12-31", "expiry", "2000-01-01 to 2099-12-31"),
        ("start: 2021-06-01", "start: 0001-01-01", "start", "2000-01-01 to 2099-12-31"),
    ],
)
def test_bounds_on_deployment_fields(old: str, new: str, field: str, expected: str) -> None:
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    d = _error(text).detail
    assert d.code == "DEPLOY_BAD_FIELD"
    assert d.location.field == field
    assert expected in (d.expected or "")


def test_numbers_in_csv_cells_are_numbers(tmp_path: Path) -> None:
    (tmp_path / "stock.csv").write_text(
        "product,lot,doses,expiry\nAZ,L1, 10000 ,2021-09-30\n", encoding="utf-8"
    )
    text = GOOD.replace(
        "stock:\n  - {product: AZ, lot: L1, doses: 10000, expiry: 2021-09-30}\n",
        "stock: stock.csv\n",
    )
    assert text != GOOD
    inp = parse_deployment_yaml(text, "plan.yaml", csv_dir=tmp_path)
    assert sum(lot.doses for lot in inp.stock) == 10_000
