"""DHIS2 identifier schemes (dataValueSets JSON) and ADX's direct category option combos
and date-time period starts (issue 14)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doseflow.cli.app import run
from doseflow.domain.errors import DoseflowError
from doseflow.reporting import (
    DEFAULT_SCHEMA,
    DataValue,
    IdScheme,
    IdSchemes,
    data_value_set,
    load_mapping,
    read_adx,
    read_data_value_set,
    write_adx,
)
from doseflow.reporting.dhis2_mapping import Dhis2Mapping, Ident, IdKind, is_uid
from doseflow.reporting.periods import PeriodType, parse_period

from .test_files import example, write

MAPPING = load_mapping(example("reporting_dhis2_mapping.yaml"))


def adx(group_attrs: str, value_attrs: str) -> str:
    return (
        '<adx xmlns="urn:ihe:qrph:adx:2015" exported="2021-09-27T08:00:00Z">\n'
        f"  <group {group_attrs}>\n"
        f"    <dataValue {value_attrs}/>\n"
        "  </group>\n</adx>\n"
    )


# -- ADX ----------------------------------------------------------------------------------


@pytest.mark.parametrize("combo", ["CocD1Hcw001", "dose=dose1,group=hcw"])
def test_adx_category_option_combo_is_the_combo(combo: str) -> None:
    mapping = MAPPING if combo == "CocD1Hcw001" else load_mapping(None)
    text = adx(
        'orgUnit="PRK_SPY" period="2021-09-01/P1M"',
        f'dataElement="COVAC_DOSES" categoryOptionCombo="{combo}" value="12"',
    )
    (value,) = read_adx(text, mapping, DEFAULT_SCHEMA)
    assert value.category == "dose=dose1,group=hcw"
    assert value.origin is not None
    assert value.origin.columns["category"] == "categoryOptionCombo"


def test_adx_combo_and_category_attributes_refused() -> None:
    text = adx(
        'orgUnit="PRK_SPY" period="2021-09-01/P1M"',
        'dataElement="COVAC_DOSES" categoryOptionCombo="CocD1Hcw001" DOSE="D1" value="12"',
    )
    with pytest.raises(DoseflowError) as exc:
        read_adx(text, MAPPING, DEFAULT_SCHEMA, source="in.xml")
    d = exc.value.detail
    assert d.code == "REPORT_ADX_INVALID"
    assert "both categoryOptionCombo and category attributes (DOSE)" in d.message
    assert (d.location.source, d.location.line, d.location.field) == (
        "in.xml",
        3,
        "categoryOptionCombo",
    )


@pytest.mark.parametrize(
    "start",
    [
        "2021-09-20T00:00:00",
        "2021-09-20T00:00",
        "2021-09-20T00:00:00Z",
        "2021-09-20T00:00:00.000+02:00",
    ],
)
def test_adx_period_with_midnight_time(start: str) -> None:
    period = parse_period(f"{start}/P7D")
    assert (period.type, period.code) == (PeriodType.WEEKLY, "2021W38")
    text = adx(f'orgUnit="PRK" period="{start}/P7D"', 'dataElement="C19_TESTED" value="5"')
    (value,) = read_adx(text, MAPPING, DEFAULT_SCHEMA)
    assert parse_period(value.period).code == "2021W38"


def test_adx_period_not_at_midnight_refused() -> None:
    with pytest.raises(DoseflowError) as exc:
        parse_period("2021-09-01T08:00:00/P1M")
    d = exc.value.detail
    assert d.code == "REPORT_BAD_PERIOD"
    assert "starts at 08:00:00, not at midnight" in d.message
    assert d.expected == "2021-09-01/P1M or 2021-09-01T00:00:00/P1M"


# -- identifier schemes: export -----------------------------------------------------------

VALUES = [
    DataValue("PRK", "PRK", "2021W38", "people_tested", "default", 667),
    DataValue("PRK", "PRK-SPY", "202109", "doses_administered", "dose=dose1,group=hcw", 1200),
]


def test_export_code_scheme_applies_to_every_identifier() -> None:
    doc = data_value_set(VALUES, MAPPING, id_scheme=IdScheme.CODE, data_set="administration")
    assert doc["idScheme"] == "CODE"
    assert doc["dataSet"] == "COVAC_ADMIN"
    first, second = doc["dataValues"]
    assert first == {
        "dataElement": "C19_TESTED",
        "period": "2021W38",
        "orgUnit": "PRK",
        "categoryOptionCombo": "default",  # DHIS2's default combo, by its code
        "value": "667",
        "attributeOptionCombo": "default",
    }
    assert second["categoryOptionCombo"] == "D1_HCW"  # the combo's code, not its UID
    assert second["orgUnit"] == "PRK_SPY"
    assert not any(is_uid(str(v)) for row in doc["dataValues"] for v in row.values())


def test_export_uid_scheme_is_stated_and_uses_uids() -> None:
    doc = data_value_set(VALUES, MAPPING)
    assert doc["idScheme"] == "UID"
    second = doc["dataValues"][1]
    assert (second["dataElement"], second["orgUnit"], second["categoryOptionCombo"]) == (
        "CovDosesAd1",
        "OuSPyongan1",
        "CocD1Hcw001",
    )


def test_export_per_kind_schemes_are_stated() -> None:
    schemes = IdSchemes(general=IdScheme.UID, org_unit=IdScheme.CODE)
    doc = data_value_set(VALUES, MAPPING, id_schemes=schemes)
    assert (doc["idScheme"], doc["orgUnitIdScheme"]) == ("UID", "CODE")
    assert "dataElementIdScheme" not in doc
    assert doc["dataValues"][1]["orgUnit"] == "PRK_SPY"
    assert doc["dataValues"][1]["dataElement"] == "CovDosesAd1"
    back = read_data_value_set(json.dumps(doc), MAPPING)
    assert [(v.data_element, v.org_unit, v.category) for v in back] == [
        ("people_tested", "PRK", "default"),
        ("doses_administered", "PRK-SPY", "dose=dose1,group=hcw"),
    ]


def test_export_uid_without_mapping_refuses_to_invent_uids() -> None:
    with pytest.raises(DoseflowError) as exc:
        data_value_set(VALUES, Dhis2Mapping())
    found = {(d.code, d.location.field) for d in exc.value}
    assert found == {
        ("REPORT_DHIS2_UNMAPPED_ID", "data_elements.people_tested"),
        ("REPORT_DHIS2_UNMAPPED_ID", "org_units.PRK"),
        ("REPORT_DHIS2_UNMAPPED_ID", "data_elements.doses_administered"),
        ("REPORT_DHIS2_UNMAPPED_ID", "org_units.PRK-SPY"),
        ("REPORT_DHIS2_UNMAPPED_ID", "category_option_combos.dose=dose1,group=hcw"),
    }
    combo = next(d for d in exc.value if d.location.field.startswith("category"))  # type: ignore[union-attr]
    assert "has no DHIS2 UID in the mapping" in combo.message
    assert combo.expected is not None
    assert "category_option_combos: {dose=dose1,group=hcw: {id: <UID>}}" in combo.expected


def test_export_without_mapping_by_code_states_code() -> None:
    doc = data_value_set(VALUES, Dhis2Mapping(), id_scheme=IdScheme.CODE)
    assert doc["idScheme"] == "CODE"
    # DHIS2's default combo is the same everywhere: code "default", UID HllvX50cXC0
    assert doc["dataValues"][0]["categoryOptionCombo"] == "default"
    by_uid = data_value_set(
        VALUES[:1],
        Dhis2Mapping(),
        id_schemes=IdSchemes(general=IdScheme.CODE, category_option_combo=IdScheme.UID),
    )
    assert by_uid["dataValues"][0]["categoryOptionCombo"] == "HllvX50cXC0"
    assert doc["dataValues"][1]["categoryOptionCombo"] == "dose=dose1,group=hcw"


def test_export_unmapped_combo_under_uid_refused() -> None:
    value = DataValue(
        "PRK", "PRK-SPY", "202109", "doses_administered", "dose=booster1,group=general", 3
    )
    with pytest.raises(DoseflowError) as exc:
        data_value_set([value], MAPPING)
    assert [d.location.field for d in exc.value] == [
        "category_option_combos.dose=booster1,group=general"
    ]


# -- identifier schemes: import -----------------------------------------------------------


def dvs(**top: object) -> str:
    row: dict[str, object] = {
        "dataElement": "C19_TESTED",
        "period": "2021W38",
        "orgUnit": "PRK",
        "value": "5",
    }
    row.update(
        {k: v for k, v in top.items() if k in ("dataElement", "orgUnit", "categoryOptionCombo")}
    )
    doc = {k: v for k, v in top.items() if k not in row}
    return json.dumps({**doc, "dataValues": [row]})


def test_import_round_trip_by_code() -> None:
    text = json.dumps(data_value_set(VALUES, MAPPING, id_scheme=IdScheme.CODE))
    back = read_data_value_set(text, MAPPING)
    assert [(v.data_element, v.org_unit, v.category) for v in back] == [
        ("people_tested", "PRK", "default"),
        ("doses_administered", "PRK-SPY", "dose=dose1,group=hcw"),
    ]


@pytest.mark.parametrize(
    ("doc", "schemes", "path", "value"),
    [
        (
            dvs(idScheme="CODE", dataElement="C19Tested01"),
            None,
            "dataValues[0].dataElement",
            "C19Tested01",
        ),
        (
            dvs(dataElementIdScheme="code", dataElement="people_tested"),
            None,
            "dataValues[0].dataElement",
            "people_tested",
        ),
        (dvs(), IdSchemes(general=IdScheme.UID), "dataValues[0].dataElement", "C19_TESTED"),
        (
            dvs(dataElement="C19Tested01"),
            IdSchemes(org_unit=IdScheme.UID),
            "dataValues[0].orgUnit",
            "PRK",
        ),
        (
            dvs(categoryOptionComboIdScheme="CODE", categoryOptionCombo="CocD1Hcw001"),
            None,
            "dataValues[0].categoryOptionCombo",
            "CocD1Hcw001",
        ),
    ],
)
def test_import_reads_identifiers_under_the_scheme_only(
    doc: str, schemes: IdSchemes | None, path: str, value: str
) -> None:
    with pytest.raises(DoseflowError) as exc:
        read_data_value_set(doc, MAPPING, source="in.json", id_schemes=schemes)
    d = exc.value.detail
    assert d.code == "REPORT_DHIS2_ID_SCHEME_MISMATCH"
    assert (d.location.source, d.location.field, d.value) == ("in.json", path, value)


def test_import_auto_reads_either() -> None:
    (a,) = read_data_value_set(dvs(dataElement="C19Tested01"), MAPPING)
    (b,) = read_data_value_set(dvs(), MAPPING)
    assert a.data_element == b.data_element == "people_tested"


def test_document_scheme_overrides_importer() -> None:
    (v,) = read_data_value_set(
        dvs(idScheme="CODE"), MAPPING, id_schemes=IdSchemes(general=IdScheme.UID)
    )
    assert v.data_element == "people_tested"


@pytest.mark.parametrize("scheme", ["NAME", "ATTRIBUTE:Abc0123456x", "ID"])
def test_unsupported_scheme_refused(scheme: str) -> None:
    with pytest.raises(DoseflowError) as exc:
        read_data_value_set(dvs(orgUnitIdScheme=scheme), MAPPING, source="in.json")
    d = exc.value.detail
    assert d.code == "REPORT_ID_SCHEME_UNSUPPORTED"
    assert (d.location.field, d.value, d.expected) == ("orgUnitIdScheme", scheme, "UID or CODE")


def test_json_number_value_read_as_written() -> None:
    """DHIS2 reads a JSON number as its text: 12.0 is not an INTEGER."""
    text = (
        '{"dataValues": [{"dataElement": "people_tested", "period": "2021W38", '
        '"orgUnit": "PRK", "value": 12.0}, {"dataElement": "positives", "period": "2021W38", '
        '"orgUnit": "PRK", "value": 12}]}'
    )
    values = read_data_value_set(text, Dhis2Mapping())
    assert [v.value for v in values] == ["12.0", 12]


def test_adx_scheme_applies() -> None:
    text = adx(
        'orgUnit="OuDPRKorea1" period="2021-09-20/P7D"', 'dataElement="C19_TESTED" value="5"'
    )
    (v,) = read_adx(text, MAPPING, DEFAULT_SCHEMA, id_schemes=IdSchemes(data_element=IdScheme.CODE))
    assert (v.data_element, v.org_unit) == ("people_tested", "PRK")
    with pytest.raises(DoseflowError) as exc:
        read_adx(text, MAPPING, DEFAULT_SCHEMA, id_schemes=IdSchemes(general=IdScheme.CODE))
    d = exc.value.detail
    assert (d.code, d.location.line, d.location.field) == (
        "REPORT_DHIS2_ID_SCHEME_MISMATCH",
        3,
        "orgUnit",
    )


# -- mapping file -------------------------------------------------------------------------


def test_mapping_combos_bare_uid_or_id_and_code(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "category_option_combos:\n"
        "  dose=dose1,group=hcw: CocD1Hcw001\n"
        "  dose=dose2,group=hcw: {id: CocD2Hcw001, code: D2_HCW}\n",
    )
    m = load_mapping(path)
    assert m.category_option_combos["dose=dose1,group=hcw"] == Ident(id="CocD1Hcw001")
    assert (
        m.identifier_out(IdKind.CATEGORY_OPTION_COMBO, "dose=dose2,group=hcw", IdScheme.CODE)
        == "D2_HCW"
    )
    assert (
        m.identifier_in(IdKind.CATEGORY_OPTION_COMBO, "D2_HCW", None)
        == m.identifier_in(IdKind.CATEGORY_OPTION_COMBO, "CocD2Hcw001", None)
        == "dose=dose2,group=hcw"
    )


def test_mapping_id_must_be_a_uid(tmp_path: Path) -> None:
    path = write(tmp_path, "org_units:\n  PRK: {id: PRK_UID, code: PRK}\n")
    with pytest.raises(DoseflowError) as exc:
        load_mapping(path)
    d = exc.value.detail
    assert d.code == "REPORT_MAPPING_INVALID"
    assert "'PRK_UID' is not a DHIS2 UID" in d.message
    assert d.location.line == 2


# -- command line -------------------------------------------------------------------------


def test_cli_export_and_import_by_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.sqlite")
    hierarchy = str(example("reporting_hierarchy.yaml"))
    mapping = str(example("reporting_dhis2_mapping.yaml"))
    src = str(example("reporting_prk_surveillance.json"))
    common = ["--hierarchy", hierarchy, "--as-of", "2021-09-27", "--db", db]
    assert run(["report", "import", src, "--id-scheme", "code", "--json", *common]) == 0
    capsys.readouterr()
    out = tmp_path / "x.json"
    export = ["report", "export", "--format", "dhis2-json", "--period", "2021W38", "--db", db]
    assert run([*export, "--mapping", mapping, "--id-scheme", "code", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["idScheme"] == "CODE"
    elements = {r["dataElement"] for r in doc["dataValues"]}
    assert {"C19_TESTED", "C19_POSITIVE"} <= elements
    assert not any(is_uid(e) for e in elements)
    assert run([*export, "--out", str(out)]) == 2  # UIDs, but no mapping gives any
    assert "REPORT_DHIS2_UNMAPPED_ID" in capsys.readouterr().err
    assert run([*export, "--id-scheme", "name"]) == 2
    err = capsys.readouterr().err
    assert "REPORT_ID_SCHEME_UNSUPPORTED" in err
    assert "--id-scheme" in err
    assert run(["report", "import", src, "--id-scheme", "uid", "--dry-run", *common]) == 2
    assert "REPORT_DHIS2_ID_SCHEME_MISMATCH" in capsys.readouterr().err


# -- ADX under identifier schemes -----------------------------------------------------------

ADX_VALUES = [
    *VALUES,
    DataValue("PRK", "PRK", "2021W38", "positives", "default", 7, attribute="funder=gavi"),
    DataValue("PRK", "PRK", "2021W38", "ili_cases", "default", 2, attribute="AocOther001"),
]
UID_MAPPING = Dhis2Mapping(
    data_elements=MAPPING.data_elements,
    org_units=MAPPING.org_units,
    data_sets=MAPPING.data_sets,
    category_option_combos=MAPPING.category_option_combos,
    categories=MAPPING.categories,
    attribute_option_combos={"AocOther001": Ident(id="AocOther001", code="OTHER")},
)


def test_adx_written_by_uid_reads_back_by_uid() -> None:
    text = write_adx(ADX_VALUES, UID_MAPPING, DEFAULT_SCHEMA, id_schemes=IdSchemes(IdScheme.UID))
    assert 'orgUnit="OuDPRKorea1"' in text
    assert 'orgUnit="OuSPyongan1"' in text
    assert 'dataSet="CovWeekly01"' in text
    assert 'dataElement="CovDosesAd1"' in text
    assert 'DOSE="D1"' in text  # category attributes stay codes, as ADX requires
    assert 'attributeOptionCombo="AocOther001"' in text
    back = read_adx(text, UID_MAPPING, DEFAULT_SCHEMA, id_schemes=IdSchemes(IdScheme.UID))
    got = sorted((v.org_unit, v.data_element, v.category, v.attribute) for v in back)
    assert got == sorted((v.org_unit, v.data_element, v.category, v.attribute) for v in ADX_VALUES)
    with pytest.raises(DoseflowError) as exc:  # codes are not UIDs
        read_adx(
            text.replace("CovDosesAd1", "COVAC_DOSES"),
            UID_MAPPING,
            DEFAULT_SCHEMA,
            id_schemes=IdSchemes(IdScheme.UID),
        )
    assert exc.value.code == "REPORT_DHIS2_ID_SCHEME_MISMATCH"
    # the group's identifiers are read under the scheme too, not only the values'
    for uid, code in (
        ("AocOther001", "OTHER"),
        ("CovWeekly01", "COVID_WEEKLY"),
        ('orgUnit="OuDPRKorea1"', 'orgUnit="PRK"'),
    ):
        with pytest.raises(DoseflowError) as exc:
            read_adx(
                text.replace(uid, code),
                UID_MAPPING,
                DEFAULT_SCHEMA,
                id_schemes=IdSchemes(IdScheme.UID),
            )
        assert exc.value.code == "REPORT_DHIS2_ID_SCHEME_MISMATCH", code


def test_adx_default_and_per_kind_schemes() -> None:
    by_code = write_adx(ADX_VALUES, UID_MAPPING, DEFAULT_SCHEMA)
    assert 'orgUnit="PRK_SPY"' in by_code
    assert 'dataElement="COVAC_DOSES"' in by_code
    assert 'attributeOptionCombo="OTHER"' in by_code
    mixed = write_adx(
        ADX_VALUES,
        UID_MAPPING,
        DEFAULT_SCHEMA,
        id_schemes=IdSchemes(IdScheme.CODE, data_element=IdScheme.UID),
    )
    assert 'orgUnit="PRK_SPY"' in mixed
    assert 'dataElement="CovDosesAd1"' in mixed


def test_adx_unmapped_under_uid_refused() -> None:
    with pytest.raises(DoseflowError) as exc:
        write_adx(VALUES, Dhis2Mapping(), DEFAULT_SCHEMA, id_schemes=IdSchemes(IdScheme.UID))
    found = {(d.code, d.location.field) for d in exc.value}
    assert ("REPORT_DHIS2_UNMAPPED_ID", "org_units.PRK") in found
    assert ("REPORT_DHIS2_UNMAPPED_ID", "data_elements.doses_administered") in found
    assert ("REPORT_DHIS2_UNMAPPED_ID", "data_sets.surveillance") in found


def test_cli_export_adx_by_uid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "r.sqlite")
    hierarchy = str(example("reporting_hierarchy.yaml"))
    mapping = str(example("reporting_dhis2_mapping.yaml"))
    src = str(example("reporting_prk_surveillance.json"))
    common = ["--hierarchy", hierarchy, "--as-of", "2021-09-27", "--db", db]
    assert run(["report", "import", src, "--id-scheme", "code", "--json", *common]) == 0
    out = tmp_path / "x.adx.xml"
    export = ["report", "export", "--format", "adx", "--period", "2021W38", "--participant", "PRK"]
    export += ["--db", db]
    assert run([*export, "--mapping", mapping, "--out", str(out)]) == 0
    assert 'dataElement="C19_TESTED"' in out.read_text()  # ADX defaults to codes
    assert run([*export, "--mapping", mapping, "--id-scheme", "uid", "--out", str(out)]) == 0
    text = out.read_text()
    assert 'dataElement="C19Tested01"' in text
    assert 'orgUnit="OuDPRKorea1"' in text
    back = read_adx(text, MAPPING, DEFAULT_SCHEMA, id_schemes=IdSchemes(IdScheme.UID))
    assert {v.data_element for v in back} >= {"people_tested", "positives"}
    capsys.readouterr()
    assert run([*export, "--id-scheme", "uid"]) == 2  # no mapping: no UIDs to give
    assert "REPORT_DHIS2_UNMAPPED_ID" in capsys.readouterr().err
