"""The whole SAMHSA vocabulary: every code of both national directories' reference sheets (Mental
Health: the XLSX's "Service Code Reference"; Substance Use: its CSV extract) has an entry in
samhsa.yaml made of our vocabularies, substance-use codes give the needs a searcher asks for, and
every need of the taxonomy has search keywords."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session

from directory.ingest.formats.samhsa_codes import code_table, expand, need_lineage, split_codes
from directory.ingest.formats.samhsa_directory import reference_rows
from directory.ingest.records import Normalised
from directory.listings import vocabularies
from directory.listings.taxonomy import need_lineage as stored_lineage
from directory.listings.taxonomy import resolve_needs

MH_FILE = "samhsa-mh-directory-2022/National_Directory_MH_Facilities_2022.xlsx"
SA_FILE = "samhsa-sa-2022-codes/service_code_reference.csv"
ENTRY_KEYS = {"needs", "needs_if", "languages", "cost", "ages", "modes", "accessibility"}
NEW_NEEDS = (
    "inpatient-treatment",
    "recovery-housing",
    "recovery-support",
    "gambling",
    "pregnant-postpartum",
    "tobacco-cessation",
)


@pytest.fixture(scope="module")
def mh_reference(datasets_dir: Path) -> list[dict[str, Any]]:
    return reference_rows(datasets_dir / MH_FILE)


@pytest.fixture(scope="module")
def sa_reference(datasets_dir: Path) -> list[dict[str, Any]]:
    with (datasets_dir / SA_FILE).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def our_needs() -> set[str]:
    return set(need_lineage())


def expanded(codes: str) -> Normalised:
    result = Normalised({})
    expand(split_codes(codes), result.doc, result, field="service_code_info")
    return result


def _same(text: Any) -> str:
    return " ".join(str(text or "").split())


# --- both sheets, whole


def test_both_reference_sheets_are_whole(
    mh_reference: list[dict[str, Any]], sa_reference: list[dict[str, Any]]
) -> None:
    for rows, codes, categories in ((mh_reference, 176, 21), (sa_reference, 225, 31)):
        found = [_same(row["service_code"]) for row in rows]
        assert len(found) == len(set(found)) == codes
        assert len({row["category_code"] for row in rows}) == categories


def test_every_code_of_both_sheets_has_a_mapping_and_no_other(
    mh_reference: list[dict[str, Any]], sa_reference: list[dict[str, Any]]
) -> None:
    table = code_table()
    sheets = {
        "MH": {_same(row["service_code"]) for row in mh_reference},
        "SA": {_same(row["service_code"]) for row in sa_reference},
    }
    for sheet, codes in sheets.items():
        assert sorted(codes - set(table)) == [], f"codes of the {sheet} sheet without a mapping"
    assert sorted(set(table) - sheets["MH"] - sheets["SA"]) == []
    assert len(table) == len(sheets["MH"] | sheets["SA"]) == 176 + 139


def test_a_code_of_both_sheets_means_the_same_in_each(
    mh_reference: list[dict[str, Any]], sa_reference: list[dict[str, Any]]
) -> None:
    """What samhsa.yaml's header says: one entry serves both files because the 86 shared codes
    have the same category, name and description in both sheets."""
    columns = ("category_code", "service_name", "service_description")
    mh = {_same(row["service_code"]): tuple(_same(row[c]) for c in columns) for row in mh_reference}
    sa = {_same(row["service_code"]): tuple(_same(row[c]) for c in columns) for row in sa_reference}
    shared = set(mh) & set(sa)
    assert len(shared) == 86
    assert {code: (mh[code], sa[code]) for code in shared if mh[code] != sa[code]} == {}


def test_the_mapping_uses_only_our_vocabularies() -> None:
    needs, access = our_needs(), set(vocabularies.accessibility_codes())
    for code, entry in code_table().items():
        entry = entry or {}
        assert set(entry) <= ENTRY_KEYS, code
        assert set(entry.get("needs", [])) <= needs, code
        for condition, extra in entry.get("needs_if", {}).items():
            assert {condition, *extra} <= needs, code
        for language in entry.get("languages", []):
            assert vocabularies.language(language)[0] == language, code
        assert set(entry.get("accessibility", [])) <= access, code
        assert set(entry.get("modes", [])) <= {"virtual"}, code
        if "ages" in entry:
            low, high = entry["ages"]
            assert isinstance(low, int) and (high is None or low <= high), code
        if "cost" in entry:
            cost = entry["cost"]
            assert isinstance(cost, str) or set(cost) == {"option", "description"}, code


def test_the_mapping_has_no_repeated_code() -> None:
    """YAML keeps the last of two equal keys: a code mapped twice would lose one silently."""
    text = (vocabularies.seed_dir() / "mappings" / "samhsa.yaml").read_text()
    keys = Counter(
        line.split(":")[0].strip()
        for line in text.splitlines()
        if line.startswith("  ") and not line.strip().startswith("#") and ":" in line
    )
    assert [code for code, n in keys.items() if n > 1] == []


# --- what substance-use codes mean


@pytest.mark.parametrize(
    ("codes", "needs"),
    [
        ("DT", ["detox"]),
        ("ADTX BDTX CDTX MDTX ODTX MDET ULC LFXD", ["detox"]),
        ("HID", ["inpatient-treatment", "detox"]),
        ("HIT", ["inpatient-treatment"]),
        ("OD", ["outpatient-treatment", "detox"]),
        ("RD", ["residential-treatment", "detox"]),
        ("RS RL", ["residential-treatment"]),
        ("OIT ODT ORT", ["outpatient-treatment"]),
        ("MU BU NU", ["medication-assisted-treatment"]),
        ("BUM BMW MM MMW UB UN OTP SOTP METH", ["medication-assisted-treatment"]),
        ("BSDM BWN BWON BERI NXN VTRL ACM DSF PMAT", ["medication-assisted-treatment"]),
        ("DB DM", ["detox", "medication-assisted-treatment"]),
        ("MOA NMOA NOOP NAUT NMAUT ACMA INPE PC", []),
        ("HH", ["recovery-housing"]),
        ("SHG", ["support-groups"]),
        ("RC", ["peer-support", "recovery-support"]),
        ("ACC RELP TWFA", ["recovery-support"]),
        ("NOE", ["harm-reduction"]),
        ("ICO GCO SACA MOTI", ["counseling"]),
        ("FCO MCO", ["counseling", "family"]),
        ("TRC XA", ["counseling", "trauma"]),
        ("AD", ["youth"]),
        ("PW", ["pregnant-postpartum"]),
        ("VET ADM", ["veterans"]),
        ("TGD TOD", ["gambling"]),
        ("TCC NRT NSC", ["tobacco-cessation"]),  # not substance use: a clinic beside any care
        ("STU SMON", []),
        ("DVFP", ["domestic-violence"]),
        ("EMP VOC", ["employment"]),
        ("PSYH MHS", ["mental-health"]),
        ("FEM MALE WN MN GH CARF JC", []),
    ],
)
def test_substance_use_codes_give_their_needs(codes: str, needs: list[str]) -> None:
    result = expanded(codes)
    assert result.warnings == []
    assert result.doc["needs"] == needs


def test_a_setting_is_substance_use_care_beside_any_substance_use_need() -> None:
    """needs_if counts a need under substance-use: a detox-only facility's RES is residential."""
    assert expanded("DT RES OP").doc["needs"] == [
        "detox",
        "residential-treatment",
        "outpatient-treatment",
    ]
    assert expanded("HH RES").doc["needs"] == ["recovery-housing", "residential-treatment"]
    assert expanded("SA HI").doc["needs"] == ["substance-use", "inpatient-treatment"]
    assert expanded("MH HI RES OP").doc["needs"] == ["mental-health"]
    assert expanded("PW RES").doc["needs"] == ["pregnant-postpartum"]  # not a substance-use need


def test_payment_and_languages_of_the_substance_use_sheet() -> None:
    doc = expanded("SA * NP MD SS * SP F4 * YAD ADLT").doc
    assert [option["option"] for option in doc["cost_options"]] == [
        "free",
        "medicaid",
        "sliding-scale",
    ]
    assert doc["languages"] == [{"code": "en"}, {"code": "es"}, {"code": "ar"}]
    assert (doc["minimum_age"], doc["maximum_age"]) == (18, 64)  # young adults and adults
    assert expanded("FSA SAMF").doc["cost_options"] == []  # funds of the facility, not a price


# --- the taxonomy and its search words


def test_the_taxonomy_keeps_its_codes_and_has_the_new_needs() -> None:
    lineage = need_lineage()
    assert set(NEW_NEEDS) <= set(lineage)
    for code in ("inpatient-treatment", "recovery-housing", "recovery-support"):
        assert lineage[code] == (code, "substance-use")
    assert lineage["gambling"] == ("gambling",) and lineage["pregnant-postpartum"] == (
        "pregnant-postpartum",
    )

    def walk(items: list[dict[str, Any]]) -> list[str]:
        return [code for item in items for code in [item["code"], *walk(item.get("children", []))]]

    codes = walk(yaml.safe_load((vocabularies.seed_dir() / "needs.yaml").read_text())["needs"])
    assert len(codes) == len(set(codes)) == len(lineage)


def test_every_need_has_search_keywords() -> None:
    data = yaml.safe_load((vocabularies.seed_dir() / "search.yaml").read_text(encoding="utf-8"))
    keywords: dict[str, list[str]] = data["need_keywords"]
    assert sorted(keywords) == sorted(our_needs())
    for code, words in keywords.items():
        assert len(words) >= 3, code
        assert len(words) == len({word.casefold() for word in words}), f"{code}: a repeat"


def test_the_new_needs_are_seeded(session: Session) -> None:
    """The harness seeds needs.yaml as `directory seed` does: the new needs resolve, and a search
    for substance-use reaches the ones under it."""
    assert set(resolve_needs(session, NEW_NEEDS)) == set(NEW_NEEDS)
    stored = stored_lineage(session)
    assert stored["recovery-housing"] == ("recovery-housing", "substance-use")
    assert {code: stored[code] for code in need_lineage()} == need_lineage()
