"""The ZIP table in PostGIS: filled by its migration, answered by SQL, never held by the API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from directory import geo
from directory.config import get_settings
from directory.db import make_engine
from directory.geo import ZipPlace, ZipPlaceRow, nearest_zip, offline_zips, zip_place, zip_places
from directory.search.places import Place, resolve_place
from tests.conftest import bearer
from tests.redisserver import free_port

TAMPA = ZipPlace("33602", 27.9614, -82.4597, "FL", "America/New_York")

# Answers of the in-memory table that geo held before the ZIP table moved to PostGIS (a grid
# of one-degree cells), for the same points: the KNN scan must give the same. 6,000 random points
# over the US and its seas agreed with it too, every one (measured when the table moved).
NEAREST = [
    ((27.95, -82.46), ("33606", "FL", "America/New_York")),  # Tampa
    ((40.7484, -73.9857), ("10118", "NY", "America/New_York")),  # Manhattan
    ((61.2181, -149.9003), ("99509", "AK", "America/Anchorage")),
    ((21.3069, -157.8583), ("96859", "HI", "Pacific/Honolulu")),
    ((18.4655, -66.1057), ("00940", "PR", "America/Puerto_Rico")),  # San Juan
    ((24.5551, -81.78), ("33040", "FL", "America/New_York")),  # Key West
    ((36.5054, -117.0794), ("92328", "CA", "America/Los_Angeles")),  # Death Valley
    ((43.6532, -79.3832), ("14174", "NY", "America/New_York")),  # Toronto: 54 km from Youngstown
    ((30.0, -40.0), None),  # mid-Atlantic
    ((25.0, -90.0), None),  # Gulf of Mexico
    ((19.4326, -99.1332), None),  # Mexico City
    ((64.5011, -165.4064), None),  # Nome: 73 km from the nearest ZIP centre
]


def test_the_migration_fills_the_table(session: Session) -> None:
    # 42,789 in the package, less 872 without a centre (at 0°N 0°E there: APO/FPO ZIPs)
    assert session.scalar(select(func.count()).select_from(ZipPlaceRow)) == 41_917
    row = session.execute(
        select(
            ZipPlaceRow.state,
            ZipPlaceRow.timezone,
            func.ST_Y(func.geometry(ZipPlaceRow.point)),
            func.ST_X(func.geometry(ZipPlaceRow.point)),
        ).where(ZipPlaceRow.zip5 == "33602")
    ).one()
    assert tuple(row) == ("FL", "America/New_York", 27.9614, -82.4597)
    military = session.get(ZipPlaceRow, "96505")  # an FPO ZIP with a centre: no time zone
    assert military is not None and military.timezone is None
    assert session.get(ZipPlaceRow, "09001") is None  # an APO ZIP without one


def test_zips_sharing_a_centre_share_a_state(session: Session) -> None:
    """So the nearest ZIP's state does not depend on which of them the KNN scan gives first."""
    shared = (
        select(ZipPlaceRow.latitude, ZipPlaceRow.longitude)
        .group_by(ZipPlaceRow.latitude, ZipPlaceRow.longitude)
        .having(func.count(func.distinct(ZipPlaceRow.state)) > 1)
    )
    assert session.execute(shared).all() == []


def test_a_zip_is_found_by_its_code(session: Session) -> None:
    assert zip_place(session, "33602") == TAMPA
    assert zip_place(session, " 33602-1234") == TAMPA  # ZIP+4: the first five
    assert zip_place(session, "00000") is None
    assert zip_place(session, "") is None
    assert zip_places(session, ["33602", "99501", "nope", None]) == {
        "33602": TAMPA,
        "99501": ZipPlace("99501", 61.2225, -149.8677, "AK", "America/Anchorage"),
    }


@pytest.mark.parametrize(("point", "expected"), NEAREST)
def test_the_nearest_zip_is_the_old_tables(
    session: Session, point: tuple[float, float], expected: tuple[str, str, str] | None
) -> None:
    found = nearest_zip(session, *point)
    assert (found and (found.zip5, found.state, found.timezone)) == expected
    offline = offline_zips().nearest(*point)  # the copy for when the database cannot answer
    assert (offline and (offline.zip5, offline.state, offline.timezone)) == expected


def test_the_offline_copy_agrees_with_the_table(session: Session) -> None:
    offline = offline_zips()
    assert len(offline.codes) == 41_917
    for zip5 in ("00501", "33602", "99950", "09001", "96505", "96799"):
        assert offline.place(zip5) == zip_place(session, zip5)
    assert offline.place("3360") is None and offline.place("ABCDE") is None


def test_recent_answers_are_bounded() -> None:
    recent = geo._Recent(2)
    for key in ("a", "b", "a", "c"):  # "a" used again: "b" is the one dropped
        recent.put(key, TAMPA)
    assert [recent.get(k)[0] for k in ("a", "b", "c")] == [True, False, True]
    assert len(recent) == 2


def test_a_place_is_resolved_when_the_database_cannot_answer() -> None:
    """From the offline copy: the crisis lines are answered from their cache then."""
    down = make_engine(f"postgresql://nobody@127.0.0.1:{free_port()}/directory", pre_ping=False)
    # a ZIP and a point no other test asks about: not among this process's recent answers
    with Session(down) as dead:
        by_zip = resolve_place(dead, None, "59801", None)
        by_point = resolve_place(dead, (46.8721, -113.9940), None, None)
    down.dispose()
    assert by_zip == Place(46.8563, -114.0252, "US", "US-MT")
    assert by_point == Place(46.8721, -113.9940, "US", "US-MT")


def test_a_search_by_zip_or_point_loads_no_zip_table(client: TestClient, session: Session) -> None:
    headers = bearer(session, "mentor")
    for body in ({"postcode": "32801"}, {"near": [28.54, -81.38]}):
        assert client.post("/v1/search", json=body, headers=headers).status_code == 200
    assert "32801" in geo._by_zip._answers and (28.54, -81.38) in geo._by_point._answers
    assert "zipcodes" not in sys.modules  # the package is only ever read in a child process


API_PROCESS = """
import json, sys
from fastapi.testclient import TestClient
from directory.api.app import create_app
from directory.config import Settings
from directory import geo
from directory.db import make_engine

app = create_app(Settings(database_url=sys.argv[1], index_sync_interval=0))
with TestClient(app) as client:
    for query in ("postcode=33602", "near=27.95,-82.46"):
        assert client.get("/v1/crisis-lines?" + query).status_code == 200
print(json.dumps({
    "zipcodes": "zipcodes" in sys.modules,
    "offline": geo.offline_zips.cache_info().currsize,
    "recent": [len(geo._by_zip), len(geo._by_point)],
}))
"""


def test_an_api_process_holds_no_zip_table(engine: object, database_url: str) -> None:
    """A whole API process (its own engine, as served), after a lookup by ZIP and by point."""
    child = subprocess.run(
        [sys.executable, "-c", API_PROCESS, database_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    held = json.loads(child.stdout.strip().splitlines()[-1])
    assert held == {"zipcodes": False, "offline": 0, "recent": [1, 1]}


@pytest.mark.parametrize(
    "path", ["/v1/search?q=counseling&postcode=05401", "/v1/crisis-lines?postcode=05401"]
)
def test_a_cancelled_zip_lookup_leaves_the_request_answerable(
    client: TestClient, mentor: dict[str, str], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """A ZIP lookup cancelled by the statement timeout aborts the request's transaction; the
    place comes from the offline copy and the search (and the crisis lines) still answer,
    instead of failing with the aborted transaction's error."""

    def cancelled(db: Session, zips: object) -> None:
        db.execute(text("SET LOCAL statement_timeout = '10ms'"))
        db.execute(text("SELECT pg_sleep(0.2)"))

    monkeypatch.setattr(geo, "zip_places", cancelled)
    answer = client.get(path, headers=mentor)
    assert answer.status_code == 200, answer.text


def test_the_kept_package_table_is_in_the_configured_data_folder_and_made_again_when_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIRECTORY_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        whole = geo.package_table()
        (kept,) = (tmp_path / "cache").iterdir()
        assert kept.read_bytes() == whole and whole.endswith(b"\n")
        kept.write_bytes(whole[: len(whole) // 2])  # a copy cut short (a disk that filled up)
        assert geo.package_table() == whole
        assert kept.read_bytes() == whole
    finally:
        get_settings.cache_clear()
