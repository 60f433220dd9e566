"""Search over real data: the Vermont rows of both SAMHSA files, merged, indexed, searched.

Results near a point are checked against plain PostGIS over the listing tables (not the index),
and facet counts against plain counts of the same listings.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from directory.listings.taxonomy import with_descendants
from directory.search import service
from directory.search.query import SearchQuery
from directory.search.sync import sync_batch
from tests.ingest.test_datasets import _subset_directory, _subset_locator, load

BURLINGTON = (44.4759, -73.2121)
NEAR = """
SELECT sal.id, ST_Distance(l.point, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography) AS m
FROM service s JOIN service_at_location sal ON sal.service_id = s.id
JOIN location l ON l.id = sal.location_id
WHERE s.curation_status = 'published' AND s.status = 'active' AND l.location_type <> 'virtual'
  AND ST_DWithin(l.point, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography, :radius)
  AND s.id IN (SELECT service_id FROM provenance WHERE source LIKE 'test:%')
ORDER BY m, sal.id
"""


def test_vermont_results_and_facets_match_plain_queries(
    session: Session, datasets_dir: Path, tmp_path: Path
) -> None:
    load(session, _subset_locator(datasets_dir, tmp_path, "VT"), "test:locator")
    load(session, _subset_directory(datasets_dir, tmp_path, "VT"), "test:directory")
    while sync_batch(session):
        pass
    point = {"lat": BURLINGTON[0], "lng": BURLINGTON[1], "radius": 40_000}
    expected = session.execute(text(NEAR), point).all()
    assert len(expected) > 10
    query = SearchQuery(
        near=BURLINGTON, radius_km=40, mode="in_person", sort="distance", per_page=100
    )
    found = service.search(session, query)
    seed_ids = {i.location_id for i in found.items if i.name.endswith("(demo)")}
    assert not seed_ids  # Tampa's demo listings are far away
    ours = [(i.location_id, i.distance_km) for i in found.items]
    sal_of = dict(
        session.execute(
            text("SELECT location_id, id FROM service_at_location WHERE id = ANY(:ids)"),
            {"ids": [row.id for row in expected]},
        ).all()
    )
    assert [sal_of[location] for location, _ in ours] == [row.id for row in expected]
    for (_, km), row in zip(ours, expected, strict=True):
        assert abs(km - row.m / 1000) < 0.001  # type: ignore[operator]

    assert found.facets.needs
    for code, count in found.facets.needs.items():  # a need counts with its child needs
        plain = session.scalar(
            text(
                "WITH sites AS (" + NEAR + ") SELECT count(DISTINCT sites.id) FROM sites"
                " JOIN service_at_location sal ON sal.id = sites.id"
                " JOIN attribute a ON a.link_id = sal.service_id AND a.link_entity = 'service'"
                " WHERE a.taxonomy_term_id = ANY(:terms)"
            ),
            {**point, "terms": with_descendants(session, code)},
        )
        assert count == plain, code
        assert service.search(session, query.model_copy(update={"need": [code]})).total == count
    plain_languages = dict(
        session.execute(
            text(
                """
                WITH sites AS ("""
                + NEAR
                + """)
                SELECT g.code, count(DISTINCT sites.id)
                FROM sites JOIN service_at_location sal ON sal.id = sites.id
                JOIN language g ON g.service_id = sal.service_id
                GROUP BY g.code
                """
            ),
            point,
        ).all()
    )
    assert plain_languages and found.facets.languages == plain_languages
