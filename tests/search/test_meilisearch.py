"""The Meilisearch backend at the HTTP boundary: the official client talks to a real local HTTP
server (pytest-httpserver) that answers with the response shapes of Meilisearch's API reference;
the tests assert on the requests the backend sends and on what it makes of the answers."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from directory.geo import distance_km
from directory.listings.read_schemas import (
    AddressRead,
    LocationRead,
    NeedRef,
    OrganizationRead,
    PhoneRead,
    ScheduleRead,
    ServiceRead,
)
from directory.listings.vocabularies import seed_dir
from directory.search import meili_filters as mf
from directory.search.documents import Document, documents
from directory.search.meili_documents import index_stop_words, meili_document, query_words
from directory.search.meilisearch import MeiliBackend, SearchBackendError, SearchUnavailable
from directory.search.places import Place
from directory.search.query import SearchQuery
from directory.search.vocabulary import fold, stop_words, vocabulary

AT = "2026-11-24T15:00:00.000000Z"
TAMPA = Place(27.9506, -82.4572, "US", "US-FL")
SUNDAY_NOON_TAMPA = dt.datetime(2026, 11, 29, 17, 0, tzinfo=dt.UTC)
TUESDAY_10AM_TAMPA = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
LINEAGE: dict[str, tuple[str, ...]] = {"anxiety": ("anxiety", "mental-health")}
RETRIEVE = ["id", "service_id", "kind", "sites", "body", "open_minutes", "timezone", "_geo"]
FACETS = ["needs", "languages", "accessibility"]
INJECTIONS = [
    '"x" OR 1=1',
    'es" OR kind = "site',
    "x\\",
    '\\"',
    'a\\"b',
    "\\\\\\",
    "\\n\\u{41}",
    "AND",
    "1 TO 9",
    "languages EXISTS",
    "NOT",
    "(",
    "it's",
    '"',
    "",
    "_geoRadius(0, 0, 1)",
    "ünïcödé",
]


# --- Meilisearch's reading of a filter, from its parser (crates/filter-parser/src/value.rs) ---


def read_quoted(text: str) -> tuple[str, str]:
    """A double-quoted value as Meilisearch reads it, and the text after it."""
    assert text.startswith('"')
    i, escaped = 1, False
    while i < len(text) and text[i] != '"':
        if text[i] == "\\":
            i += 1
            assert i < len(text), "a value may not end with a lone backslash"
            escaped |= text[i] == '"'
        i += 1
    assert i < len(text), "unterminated value"
    raw = text[1:i]
    if escaped:
        raw = raw.replace('\\"', '"')
    return unescape(raw), text[i + 1 :]


def unescape(raw: str) -> str:
    """The escapes the parser then resolves (it rejects unknown ones)."""
    out, chars = [], iter(raw)
    for c in chars:
        if c == "\\":
            c = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}[next(chars)]
        out.append(c)
    return "".join(out)


def skeleton(expression: str) -> tuple[str, list[str]]:
    """The expression with each quoted value replaced by ``?``, and the values."""
    shape, values, rest = [], [], expression
    while '"' in rest:
        head = rest[: rest.index('"')]
        value, rest = read_quoted(rest[len(head) :])
        shape.append(head + "?")
        values.append(value)
    return "".join(shape) + rest, values


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_value_reads_back_as_itself_and_nothing_more(value: str) -> None:
    assert read_quoted(mf.literal(value)) == (value, "")
    assert skeleton(mf.equals("languages", value)) == ("languages = ?", [value])
    assert skeleton(mf.any_of("regions", [value, "US"])) == ("regions IN [?, ?]", [value, "US"])


def test_numbers_must_be_finite_and_are_written_plainly() -> None:
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError):
            mf.number(bad)
    for wrong in (True, "1", None):
        with pytest.raises(TypeError):
            mf.number(wrong)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mf.literal(1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        mf.equals('kind = "x" OR kind', "site")
    assert mf.number(1e-07) == "0.0000001" and mf.number(-82.4572) == "-82.4572"
    assert mf.geo_point(1e-07, 2.5) == "_geoPoint(0.0000001, 2.5):asc"
    assert mf.geo_radius(27.9, -82.4, 2499.6) == "_geoRadius(27.9, -82.4, 2500)"


def test_hostile_codes_and_regions_stay_values() -> None:
    """Escaping does not rely on validation: values that skipped it are still only values."""
    query = SearchQuery().model_copy(
        update={"language": INJECTIONS[:2], "cost": [INJECTIONS[2]], "age": 30}
    )
    place = Place(27.95, -82.45, 'U"S', 'US-FL" OR kind = "area')
    expression = mf.query_filter(query, place, [INJECTIONS[3]], TUESDAY_10AM_TAMPA, [])
    assert expression is not None
    assert skeleton(expression) == (
        "(needs IN [?]) AND (languages = ?) AND (languages = ?) AND (costs IN [?])"
        " AND (minimum_age <= 30) AND (maximum_age >= 30)"
        " AND (((kind = ?) AND (_geoRadius(27.95, -82.45, 25000)))"
        " OR ((kind = ?) AND (regions IN [?, ?])))",
        [INJECTIONS[3], *INJECTIONS[:3], "site", "area", *place.regions],
    )


def test_opening_hours_in_quarters_and_to_the_minute() -> None:
    monday_8_to_20 = [(8 * 60, 20 * 60)]
    assert mf.open_quarters(monday_8_to_20) == list(range(32, 80))
    assert mf.open_quarters([(485, 520)]) == [33]  # only quarters open in full
    assert mf.open_quarters([(10080 - 60, 10080)]) == [668, 669, 670, 671]
    tuesday_10am = mf.week_minute(TUESDAY_10AM_TAMPA, "America/New_York")
    assert tuesday_10am == 1440 + 600
    assert mf.week_minute(TUESDAY_10AM_TAMPA, "Not/AZone") is None
    assert mf.open_at([(1440 + 600, 1440 + 601)], "America/New_York", TUESDAY_10AM_TAMPA)
    assert mf.open_at([(1440 + 601, 1500)], "America/New_York", TUESDAY_10AM_TAMPA) is False
    assert mf.open_at(None, "America/New_York", TUESDAY_10AM_TAMPA) is None
    assert mf.open_at(monday_8_to_20, None, TUESDAY_10AM_TAMPA) is None


# --- listings, documents, and a fake Meilisearch ------------------------------------------------


def blank(model: type[Any], **fields: Any) -> dict[str, Any]:
    """The model's required fields as None (those with a default keep it), and these fields."""
    required = [name for name, info in model.model_fields.items() if info.is_required()]
    return {**dict.fromkeys(required), **fields}


def listing(*sites: tuple[float, float], virtual: bool = True) -> ServiceRead:
    """A published listing with these physical sites (and a virtual location)."""
    address = blank(AddressRead, city="Tampa", state_province="FL", postal_code="33602")
    address |= {"country": "US", "address_type": "physical"}
    locations = [
        blank(LocationRead, id=uuid.uuid4(), service_at_location_id=uuid.uuid4())
        | {"name": f"Site {i}", "location_type": "physical", "latitude": lat, "longitude": lng}
        | {"coordinates_approximate": False, "addresses": [address], "phones": [], "schedules": []}
        | {"accessibility": [{"code": "tty", "details": None, "url": None}]}
        for i, (lat, lng) in enumerate(sites)
    ]
    if virtual:
        locations.append({**locations[0], "id": uuid.uuid4(), "location_type": "virtual"})
    weekdays = blank(ScheduleRead, id=uuid.uuid4(), freq="WEEKLY", byday="MO,TU,WE,TH,FR")
    weekdays |= {"opens_at": "08:00", "closes_at": "20:00", "timezone": "America/New_York"}
    return ServiceRead.model_validate(
        blank(ServiceRead, id=uuid.uuid4(), name="Calm Minds Counseling", status="active")
        | {
            "description": "Therapy for anxiety and panic.",
            "curation_status": "published",
            "organization": blank(OrganizationRead, id=uuid.uuid4(), name="Calm Minds"),
            "needs": [{"code": "anxiety", "name": "Anxiety"}],
            "languages": [{"code": c, "name": c, "note": None} for c in ("en", "es")],
            "phones": [
                blank(PhoneRead, id=uuid.uuid4(), number="8135550100", display="813-555-0100")
                | {"tel_uri": "tel:+18135550100", "country": "US", "type": "voice"}
            ],
            "schedules": [weekdays],
            "locations": locations,
            "service_areas": [{"name": "Florida", "description": None, "regions": ["US-FL"]}],
            "cost_options": [],
            "crisis_channels": [],
            "provenance": [],
            "verification": {"last_verified_at": "2026-10-01T12:00:00Z", "verified_by": None},
            "version": 1,
            "created_at": AT,
            "updated_at": AT,
        }
    )


def hit(doc: Document, meters: int | None = None) -> dict[str, Any]:
    """A search hit as Meilisearch returns it: the retrieved attributes and ``_geoDistance``."""
    stored = json.loads(json.dumps(meili_document(doc)))
    found = {key: stored[key] for key in RETRIEVE if key in stored}
    return found if meters is None else {**found, "_geoDistance": meters}


def answer(hits: list[dict[str, Any]], total: int, facets: dict[str, Any] | None = None) -> Any:
    """A search response body (exhaustive pagination: page, hitsPerPage, totalHits)."""
    return {
        "hits": hits,
        "query": "",
        "processingTimeMs": 1,
        "hitsPerPage": max(len(hits), 1),
        "page": 1,
        "totalPages": 1,
        "totalHits": total,
        "facetDistribution": facets or {},
        "facetStats": {},
    }


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def api_error(code: str, message: str) -> dict[str, str]:
    """Meilisearch's error object."""
    link = f"https://docs.meilisearch.com/errors#{code}"
    return {"message": message, "code": code, "type": "invalid_request", "link": link}


class FakeMeili:
    """Tasks as Meilisearch reports them: ``processing`` at the first poll, then their outcome."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.tasks: dict[int, dict[str, Any]] = {}
        self.polled: set[int] = set()
        self.failures: dict[str, list[dict[str, str]]] = {}
        server.expect_request(re.compile(r"^/tasks/\d+$"), method="GET").respond_with_handler(
            self._task
        )

    def accepts(self, path: str, method: str, kind: str, index: str | None = "services") -> None:
        """A write endpoint that enqueues a task of this type."""
        handler = self.server.expect_request(path, method=method)
        handler.respond_with_handler(lambda _: self._enqueue(kind, index))

    def fail_next(self, kind: str, error: dict[str, str]) -> None:
        self.failures.setdefault(kind, []).append(error)

    def _enqueue(self, kind: str, index: str | None) -> Response:
        uid = len(self.tasks)
        error = self.failures.get(kind, []).pop(0) if self.failures.get(kind) else None
        self.tasks[uid] = {
            **{"uid": uid, "indexUid": index, "type": kind, "canceledBy": None, "details": {}},
            **{"status": "failed" if error else "succeeded", "error": error},
            **{"duration": "PT0.004S", "enqueuedAt": AT, "startedAt": AT, "finishedAt": AT},
        }
        summary = {"taskUid": uid, "indexUid": index, "status": "enqueued", "type": kind}
        return json_response(summary | {"enqueuedAt": AT}, status=202)

    def _task(self, request: Request) -> Response:
        uid = int(request.path.rsplit("/", 1)[1])
        task = self.tasks[uid]
        if uid not in self.polled:
            self.polled.add(uid)
            task = {**task, "status": "processing", "error": None, "finishedAt": None}
        return json_response(task)

    def sent(self, path: str, method: str = "POST") -> list[Any]:
        """The JSON bodies sent to a path, in order."""
        log = self.server.log
        return [json.loads(r.get_data()) for r, _ in log if r.path == path and r.method == method]

    def calls(self) -> list[tuple[str, str]]:
        """The requests other than task polls, in order."""
        log = self.server.log
        return [(r.method, r.path) for r, _ in log if not r.path.startswith("/tasks/")]


@pytest.fixture
def meili(httpserver: HTTPServer) -> FakeMeili:
    return FakeMeili(httpserver)


@pytest.fixture
def backend(httpserver: HTTPServer) -> MeiliBackend:
    return MeiliBackend(httpserver.url_for("/").rstrip("/"), "test-key")


INDEX = {"uid": "services", "primaryKey": "id", "createdAt": AT, "updatedAt": AT}


# --- writing -------------------------------------------------------------------------------------


def test_settings_create_the_index_once_and_are_the_same_every_time(
    httpserver: HTTPServer, meili: FakeMeili, backend: MeiliBackend
) -> None:
    missing = api_error("index_not_found", "Index `services` not found.")
    httpserver.expect_oneshot_request("/indexes/services").respond_with_json(missing, status=404)
    httpserver.expect_request("/indexes/services", method="GET").respond_with_json(INDEX)
    meili.accepts("/indexes", "POST", "indexCreation")
    meili.accepts("/indexes/services/settings", "PATCH", "settingsUpdate")
    backend.ensure_settings()
    backend.ensure_settings()
    assert meili.calls() == [
        ("GET", "/indexes/services"),
        ("POST", "/indexes"),
        ("PATCH", "/indexes/services/settings"),
        ("GET", "/indexes/services"),
        ("PATCH", "/indexes/services/settings"),
    ]
    assert meili.sent("/indexes") == [{"uid": "services", "primaryKey": "id"}]
    first, second = meili.sent("/indexes/services/settings", "PATCH")
    assert first == second
    assert first["searchableAttributes"] == [  # needs and their keywords weigh most
        *("needs_text", "name_text", "description_text", "place_text", "related_text")
    ]
    assert set(first["filterableAttributes"]) >= {
        *("kind", "needs", "languages", "accessibility", "costs", "regions", "minimum_age"),
        *("maximum_age", "open_quarters", "timezone", "service_id", "_geo"),
    }
    assert first["sortableAttributes"] == ["_geo", "last_verified_at"]
    assert first["rankingRules"] == [
        *("sort", "words", "typo", "proximity", "attribute", "exactness"),
        *("is_site:desc", "last_verified_at:desc"),
    ]
    assert first["typoTolerance"] == {"enabled": True}
    assert first["stopWords"] == index_stop_words() and "ourselves" in first["stopWords"]
    assert set(first["stopWords"]) == set(stop_words()) - vocabulary().vocabulary_words()
    assert "son" in stop_words() and "son" not in first["stopWords"]  # a word of the vocabulary
    for group in vocabulary().synonyms:
        for word in group:
            assert set(first["synonyms"][word]) >= set(group) - {word}
    assert "therapy" in first["synonyms"]["counseling"]
    assert {"grief", "duelo"} <= set(first["synonyms"]["luto"])  # the bilingual list
    assert "soledad" in first["synonyms"]["lonely"]
    request, _ = httpserver.log[0]
    assert request.headers["Authorization"] == "Bearer test-key"


def test_replace_deletes_the_services_then_posts_their_documents(
    meili: FakeMeili, backend: MeiliBackend
) -> None:
    meili.accepts("/indexes/services/documents/delete", "POST", "documentDeletion")
    meili.accepts("/indexes/services/documents", "POST", "documentAdditionOrUpdate")
    service = listing((27.96, -82.46))
    other = uuid.uuid4()
    docs = documents(service, LINEAGE)
    backend.replace([service.id, other], docs)

    assert meili.calls() == [
        ("POST", "/indexes/services/documents/delete"),
        ("POST", "/indexes/services/documents"),
    ]
    (deletion,) = meili.sent("/indexes/services/documents/delete")
    assert skeleton(deletion["filter"]) == ("service_id IN [?, ?]", [str(service.id), str(other)])
    (sent,) = meili.sent("/indexes/services/documents")
    site, area = sent
    assert site["id"] == str(service.locations[0].service_at_location_id)
    assert area["id"] == str(service.id)
    assert site["_geo"] == {"lat": 27.96, "lng": -82.46} and "_geo" not in area
    assert (site["kind"], area["kind"]) == ("site", "area")
    assert (site["is_site"], area["is_site"]) == (1, 0)  # a ranking rule: the site first
    assert site["sites"] == area["sites"] == 1
    assert site["regions"] == [] and area["regions"] == ["US-FL"]
    weekdays = [q for day in range(5) for q in range(day * 96 + 32, day * 96 + 80)]
    for doc in sent:
        assert doc["service_id"] == str(service.id)
        assert doc["needs"] == ["anxiety", "mental-health"]
        assert doc["languages"] == ["en", "es"]
        assert (doc["minimum_age"], doc["maximum_age"]) == (0, 200)  # no bounds: open
        assert doc["open_quarters"] == weekdays and doc["timezone"] == "America/New_York"
        assert doc["name_text"] == "Calm Minds Counseling"
        assert "ansiedad" in doc["needs_text"] and "panic" in doc["description_text"]
        assert doc["last_verified_at"] == dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC).timestamp()
    assert site["body"] == json.loads(json.dumps(docs[0].body))
    assert site["accessibility"] == ["tty"] and area["accessibility"] == []
    assert meili.polled == set(meili.tasks)  # both tasks waited for


def test_a_general_listing_is_found_by_the_needs_under_its_own_below_them() -> None:
    """A mental health clinic answers "depression" too: the keywords of the needs under its
    needs go in a field of their own, searched last (postgres: from its needs at query time)."""
    lineage = {
        "mental-health": ("mental-health",),
        "depression": ("depression", "mental-health"),
        "anxiety": ("anxiety", "mental-health"),
        "detox": ("detox", "substance-use"),
    }
    service = listing((27.96, -82.46), virtual=False)
    general = service.model_copy(update={"needs": [NeedRef(code="mental-health", name="MH")]})
    (doc,) = documents(general, lineage)
    related = meili_document(doc)["related_text"]
    assert {"depression", "depresion", "anxiety", "ansiedad"} <= set(fold(related).split())
    assert "detox" not in related and "mental" not in related
    (specific,) = documents(service, lineage)  # anxiety (and mental health): depression only
    assert "anxiety" not in meili_document(specific)["related_text"]
    assert "depression" in meili_document(specific)["related_text"]


def test_a_failed_task_raises_and_nothing_counts_as_done(
    meili: FakeMeili, backend: MeiliBackend
) -> None:
    meili.accepts("/indexes/services/documents", "POST", "documentAdditionOrUpdate")
    error = api_error("invalid_document_geo_field", "The `_geo` field is not an object.")
    meili.fail_next("documentAdditionOrUpdate", error)
    with pytest.raises(SearchBackendError, match="invalid_document_geo_field") as failed:
        backend.replace([], documents(listing((27.96, -82.46)), LINEAGE))
    assert not isinstance(failed.value, SearchUnavailable)


def test_rebuild_fills_a_fresh_index_and_swaps_it_in(
    httpserver: HTTPServer, meili: FakeMeili, backend: MeiliBackend
) -> None:
    meili.accepts("/indexes/services_rebuild", "DELETE", "indexDeletion", "services_rebuild")
    meili.fail_next("indexDeletion", api_error("index_not_found", "Index not found."))
    meili.accepts("/indexes", "POST", "indexCreation", "services_rebuild")
    meili.accepts("/indexes/services_rebuild/settings", "PATCH", "settingsUpdate")
    meili.accepts("/indexes/services_rebuild/documents", "POST", "documentAdditionOrUpdate")
    httpserver.expect_request("/indexes/services", method="GET").respond_with_json(INDEX)
    meili.accepts("/swap-indexes", "POST", "indexSwap", None)
    first, second = listing((27.96, -82.46)), listing((28.0, -82.5), virtual=False)
    batches = [documents(first, LINEAGE), [], documents(second, LINEAGE)]

    assert backend.rebuild(iter(batches)) == 3
    assert meili.calls() == [
        ("DELETE", "/indexes/services_rebuild"),  # a leftover (here: none, tolerated)
        ("POST", "/indexes"),
        ("PATCH", "/indexes/services_rebuild/settings"),
        ("POST", "/indexes/services_rebuild/documents"),
        ("POST", "/indexes/services_rebuild/documents"),
        ("GET", "/indexes/services"),
        ("POST", "/swap-indexes"),
        ("DELETE", "/indexes/services_rebuild"),
    ]
    assert meili.sent("/indexes") == [{"uid": "services_rebuild", "primaryKey": "id"}]
    assert meili.sent("/swap-indexes") == [[{"indexes": ["services", "services_rebuild"]}]]
    assert meili.polled == set(meili.tasks)  # every task waited for


def test_a_refused_request_is_an_error_and_a_failing_server_is_unavailable(
    httpserver: HTTPServer, backend: MeiliBackend
) -> None:
    refused = api_error("invalid_search_filter", "Attribute `x` is not filterable.")
    search = "/indexes/services/search"
    httpserver.expect_oneshot_request(search).respond_with_json(refused, status=400)
    httpserver.expect_oneshot_request(search).respond_with_data("Bad Gateway", status=502)
    with pytest.raises(SearchBackendError, match="invalid_search_filter") as error:
        backend.search(SearchQuery(), None, need_codes=[], now=TUESDAY_10AM_TAMPA)
    assert not isinstance(error.value, SearchUnavailable)
    with pytest.raises(SearchUnavailable):  # a refusal does not hold the next search back
        backend.search(SearchQuery(), None, need_codes=[], now=TUESDAY_10AM_TAMPA)
    assert len(httpserver.log) == 2


def test_a_closed_port_is_unavailable_at_once() -> None:
    closed = MeiliBackend("http://127.0.0.1:9", None, timeout=2.0)
    started = time.monotonic()
    with pytest.raises(SearchUnavailable, match="unreachable"):
        closed.search(SearchQuery(q="anxiety"), TAMPA, need_codes=[], now=TUESDAY_10AM_TAMPA)
    with pytest.raises(SearchUnavailable):
        closed.replace([uuid.uuid4()], [])
    assert closed.health() is False
    assert time.monotonic() - started < 2.0


def test_health(httpserver: HTTPServer, backend: MeiliBackend) -> None:
    httpserver.expect_oneshot_request("/health").respond_with_json({"status": "available"})
    httpserver.expect_oneshot_request("/health").respond_with_data("", status=503)
    assert backend.health() is True
    assert backend.health() is False


def test_stop_words_are_the_snowball_lists_folded_and_left_out_of_queries() -> None:
    listed: set[str] = set()
    for name in ("english", "spanish"):
        lines = (seed_dir() / "stop_words" / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        listed |= {fold(line.strip()) for line in lines if line.strip() and line[0] != "#"}
    assert list(stop_words()) == sorted(listed)
    assert {"ourselves", "itself", "nosotras", "mas", "esta", "el", "s"} <= listed
    assert query_words("It's THERAPY for the family, therapy!") == ["therapy", "family"]
    assert query_words("Más ayuda para mí") == ["ayuda"]


def test_an_index_created_meanwhile_is_tolerated(
    httpserver: HTTPServer, meili: FakeMeili, backend: MeiliBackend
) -> None:
    missing = api_error("index_not_found", "Index `services` not found.")
    httpserver.expect_oneshot_request("/indexes/services").respond_with_json(missing, status=404)
    meili.accepts("/indexes", "POST", "indexCreation")
    meili.accepts("/indexes/services/settings", "PATCH", "settingsUpdate")
    exists = api_error("index_already_exists", "Index `services` already exists.")
    meili.fail_next("indexCreation", exists)  # another process created it after our GET
    backend.ensure_settings()
    assert meili.calls() == [
        ("GET", "/indexes/services"),
        ("POST", "/indexes"),
        ("PATCH", "/indexes/services/settings"),
    ]
    meili.accepts("/indexes/services_rebuild", "DELETE", "indexDeletion", "services_rebuild")
    meili.fail_next("indexCreation", exists)  # a rebuild's fresh index must be its own
    with pytest.raises(SearchBackendError, match="index_already_exists"):
        backend.rebuild([])


def test_recover_reapplies_the_settings_and_says_whether_it_could(
    httpserver: HTTPServer, meili: FakeMeili, backend: MeiliBackend
) -> None:
    missing = api_error("index_not_found", "Index `services` not found.")
    httpserver.expect_oneshot_request("/indexes/services").respond_with_json(missing, status=404)
    httpserver.expect_request("/indexes/services", method="GET").respond_with_json(INDEX)
    meili.accepts("/indexes", "POST", "indexCreation")
    meili.accepts("/indexes/services/settings", "PATCH", "settingsUpdate")
    search = "/indexes/services/search"
    httpserver.expect_oneshot_request(search).respond_with_data("Bad Gateway", status=502)
    httpserver.expect_request(search).respond_with_json(answer([], 0))
    with pytest.raises(SearchUnavailable):  # searches now fail at once, for 30 s
        backend.search(SearchQuery(), None, need_codes=[], now=TUESDAY_10AM_TAMPA)

    assert backend.recover() is True  # the lost index is back, with its settings
    assert meili.calls()[1:] == [
        ("GET", "/indexes/services"),
        ("POST", "/indexes"),
        ("PATCH", "/indexes/services/settings"),
    ]
    assert backend.search(SearchQuery(), None, need_codes=[], now=TUESDAY_10AM_TAMPA).total == 0
    invalid = api_error("invalid_settings_ranking_rules", "Invalid ranking rule.")
    meili.fail_next("settingsUpdate", invalid)
    assert backend.recover() is False
    assert MeiliBackend("http://127.0.0.1:9", None).recover() is False


# --- searching -----------------------------------------------------------------------------------

NEAR_TAMPA_10KM = (
    '(((kind = "site") AND (_geoRadius(27.9506, -82.4572, 10000)))'
    ' OR ((kind = "area") AND (regions IN ["US", "US-FL"])))'
)
BY_DISTANCE = ["_geoPoint(27.9506, -82.4572):asc"]
SEARCHES = [
    (
        SearchQuery(
            q="Anxiety, therapy!",
            need=["anxiety"],
            language=["es", "ht"],
            radius_km=10,
            page=2,
            per_page=5,
        ),
        TAMPA,
        {
            "q": "anxiety therapy",  # relevance: no sort (the first rule does nothing)
            "filter": '(needs IN ["anxiety"]) AND (languages = "es") AND (languages = "ht")'
            f" AND {NEAR_TAMPA_10KM}",
            "page": 2,
            "hitsPerPage": 5,
        },
    ),
    (
        SearchQuery(
            q="It's therapy for the family, THERAPY",
            mode="virtual",
            cost=["free", "sliding-scale"],
            age=15,
            sort="distance",
        ),
        None,  # no place: nothing to be near
        {
            "q": "therapy family",  # stop words left out, each word once
            "filter": '(costs IN ["free", "sliding-scale"]) AND (minimum_age <= 15)'
            ' AND (maximum_age >= 15) AND (kind = "area")',
            "page": 1,
            "hitsPerPage": 20,
        },
    ),
    (
        SearchQuery(
            q='"  "',
            accessibility=["sign-language-interpreter", "tty"],
            mode="in_person",
            sort="distance",
            radius_km=10,
        ),
        TAMPA,
        {
            "q": "",
            "filter": '(accessibility = "sign-language-interpreter") AND (accessibility = "tty")'
            f' AND (kind = "site") AND {NEAR_TAMPA_10KM}',
            "sort": BY_DISTANCE,
            "page": 1,
            "hitsPerPage": 20,
        },
    ),
]


@pytest.mark.parametrize(("query", "place", "expected"), SEARCHES)
def test_a_search_sends_its_filter_sort_facets_and_page(
    httpserver: HTTPServer,
    meili: FakeMeili,
    backend: MeiliBackend,
    query: SearchQuery,
    place: Place | None,
    expected: dict[str, Any],
) -> None:
    httpserver.expect_request("/indexes/services/search").respond_with_json(answer([], 0))
    found = backend.search(query, place, need_codes=query.need, now=TUESDAY_10AM_TAMPA)
    fixed: dict[str, Any] = {"matchingStrategy": "frequency", "distinct": "service_id"}
    fixed |= {"attributesToRetrieve": RETRIEVE, "facets": FACETS}
    assert meili.sent("/indexes/services/search") == [expected | fixed]
    assert (found.total, found.items, found.backend) == (0, [], "meilisearch")


def test_a_query_of_only_stop_words_matches_nothing_without_a_request(
    httpserver: HTTPServer, backend: MeiliBackend
) -> None:
    found = backend.search(SearchQuery(q="It's the"), TAMPA, need_codes=[], now=TUESDAY_10AM_TAMPA)
    assert (found.total, found.items, found.facets.needs) == (0, [], {})  # as on postgres
    assert httpserver.log == []


def test_open_now_asks_each_time_zone_for_its_local_quarter(
    httpserver: HTTPServer, meili: FakeMeili, backend: MeiliBackend
) -> None:
    zones = {"America/New_York": 40, "America/Chicago": 3, "Not/AZone": 1}

    def respond(request: Request) -> Response:
        wants_zones = json.loads(request.get_data()).get("limit") == 0
        return json_response(answer([], 0, {"timezone": zones} if wants_zones else None))

    httpserver.expect_request("/indexes/services/search").respond_with_handler(respond)
    for open_now in (True, False):
        query = SearchQuery(open_now=open_now)
        backend.search(query, None, need_codes=[], now=SUNDAY_NOON_TAMPA)
    first, opened, closed = meili.sent("/indexes/services/search")
    assert first == {"q": "", "limit": 0, "facets": ["timezone"]}  # once: then cached
    # Sunday 11:00 in Chicago is quarter 620 of the week, 12:00 in New York 624
    assert opened["filter"] == (
        '(((timezone IN ["America/Chicago"]) AND (open_quarters = 620))'
        ' OR ((timezone IN ["America/New_York"]) AND (open_quarters = 624)))'
    )
    assert closed["filter"] == (
        '(((timezone IN ["America/Chicago"])'
        " AND (open_quarters EXISTS AND NOT open_quarters = 620))"
        ' OR ((timezone IN ["America/New_York"])'
        " AND (open_quarters EXISTS AND NOT open_quarters = 624)))"
    )


def test_a_search_answer_becomes_results_with_distances_facets_and_total(
    httpserver: HTTPServer, backend: MeiliBackend
) -> None:
    service = listing((27.96, -82.46))
    site, area = documents(service, LINEAGE)
    facets = {
        "needs": {"anxiety": 2, "mental-health": 2},
        "languages": {"en": 2, "es": 2},
        "accessibility": {"tty": 1},
    }
    reply = answer([hit(site), hit(area)], 2, facets)  # no _geoDistance: not sorted by _geoPoint
    httpserver.expect_request("/indexes/services/search").respond_with_json(reply)
    query = SearchQuery(q="anxiety", near=(TAMPA.latitude, TAMPA.longitude))
    found = backend.search(query, TAMPA, need_codes=[], now=TUESDAY_10AM_TAMPA)

    assert (found.total, found.page, found.per_page, found.crisis) == (2, 1, 20, None)
    assert found.facets.model_dump() == facets
    near, remote = found.items
    haversine = round(distance_km(TAMPA.latitude, TAMPA.longitude, 27.96, -82.46), 3)
    assert 1.0 < haversine < 1.5
    assert (near.distance_km, near.match, near.location_id) == (haversine, "near", site.location_id)
    assert (remote.distance_km, remote.match, remote.location_id) == (None, "serves_area", None)
    for item in found.items:
        assert item.service_id == service.id and item.name == "Calm Minds Counseling"
        assert item.open_now is True and item.hours == "MO,TU,WE,TH,FR 08:00-20:00"
        assert item.phones[0].tel_uri == "tel:+18135550100"
        assert item.last_verified_at == dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)
    sunday = backend.search(query, None, need_codes=[], now=SUNDAY_NOON_TAMPA)
    assert [(i.open_now, i.match, i.distance_km) for i in sunday.items] == [(False, None, None)] * 2


def test_sorting_by_distance_is_one_request_in_meilisearchs_order(
    httpserver: HTTPServer, meili: FakeMeili, backend: MeiliBackend
) -> None:
    far, close, remote = documents(listing((28.03, -82.46), (27.96, -82.46)), LINEAGE)
    nearest_first = [hit(close, meters=1200), hit(far, meters=9000), hit(remote)]
    reply = answer(nearest_first, 3, {"needs": {"anxiety": 3}})
    httpserver.expect_request("/indexes/services/search").respond_with_json(reply)
    query = SearchQuery(q="anxiety", sort="distance", per_page=3)
    found = backend.search(query, TAMPA, need_codes=[], now=TUESDAY_10AM_TAMPA)

    assert [item.location_id for item in found.items] == [close.location_id, far.location_id, None]
    assert [item.distance_km for item in found.items] == [1.2, 9.0, None]  # _geoDistance
    assert found.total == 3 and found.facets.needs == {"anxiety": 3}
    (sent,) = meili.sent("/indexes/services/search")
    assert (sent["q"], sent["sort"], sent["hitsPerPage"]) == ("anxiety", BY_DISTANCE, 3)


def test_a_question_sends_the_words_that_name_needs_first_without_filler() -> None:
    assert query_words("I need help with my anxiety") == ["anxiety"]
    assert query_words("ayuda para la depresión") == ["depresion"]
    assert query_words("where can my son get counseling") == ["counseling", "son"]
    assert query_words("desintoxicación cerca") == ["desintoxicacion"]
    assert query_words("grupo de duelo") == ["duelo", "grupo"]  # "duelo" names grief
    assert query_words("I want to kill myself") == ["crisis", "kill"]  # crisis services too
    assert query_words("quiero morir") == ["crisis", "morir"]
    assert query_words("help") == ["help"]  # only filler: searched as it is
    assert query_words("one two three four five six seven eight nine ten eleven") == [
        *("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
    ]


def test_relevance_near_a_place_shows_each_listing_at_its_nearest_site(
    httpserver: HTTPServer, meili: FakeMeili, backend: MeiliBackend
) -> None:
    """Ranked by relevance, Meilisearch keeps any one site of a listing (``distinct``); one more
    request, sorted by distance and narrowed to those listings, finds each one's nearest."""
    far, close, remote = documents(listing((28.03, -82.46), (27.96, -82.46)), LINEAGE)
    other = documents(listing((27.97, -82.47), virtual=False), LINEAGE)[0]
    first = answer([hit(far), hit(other)], 2)
    second = answer([hit(close, meters=1200)], 1)

    def respond(request: Request) -> Response:
        return json_response(second if "sort" in json.loads(request.get_data()) else first)

    httpserver.expect_request("/indexes/services/search").respond_with_handler(respond)
    query = SearchQuery(q="anxiety", radius_km=10)
    found = backend.search(query, TAMPA, need_codes=[], now=TUESDAY_10AM_TAMPA)

    assert [i.location_id for i in found.items] == [close.location_id, other.location_id]
    assert found.items[0].distance_km == 1.2 and found.total == 2
    ranked, nearest = meili.sent("/indexes/services/search")
    assert "sort" not in ranked and ranked["distinct"] == "service_id"
    assert nearest["sort"] == BY_DISTANCE and nearest["distinct"] == "service_id"
    assert (nearest["q"], nearest["page"], nearest["hitsPerPage"]) == ("anxiety", 1, 1)
    assert skeleton(nearest["filter"]) == (
        f"({skeleton(ranked['filter'])[0]}) AND (kind = ?) AND (service_id IN [?])",
        [*skeleton(ranked["filter"])[1], "site", str(far.service_id)],
    )
    assert remote.kind == "area"


def test_one_site_listings_and_distance_sorts_need_no_second_request(
    httpserver: HTTPServer, meili: FakeMeili, backend: MeiliBackend
) -> None:
    site, area = documents(listing((27.96, -82.46)), LINEAGE)
    far, close, _ = documents(listing((28.03, -82.46), (27.96, -82.46)), LINEAGE)
    one_site = answer([hit(site), hit(area)], 2)
    nearest_first = answer([hit(close, meters=1200), hit(site, meters=1300)], 2)

    def respond(request: Request) -> Response:
        sorted_ = "sort" in json.loads(request.get_data())
        return json_response(nearest_first if sorted_ else one_site)

    httpserver.expect_request("/indexes/services/search").respond_with_handler(respond)
    for query, place in (
        (SearchQuery(q="anxiety"), TAMPA),  # each listing on the page has one site
        (SearchQuery(q="anxiety", sort="distance"), TAMPA),  # already nearest first
        (SearchQuery(q="anxiety"), None),  # no place: no distance
    ):
        backend.search(query, place, need_codes=[], now=TUESDAY_10AM_TAMPA)
    assert ["sort" in body for body in meili.sent("/indexes/services/search")] == [
        *(False, True, False)
    ]
    assert far.kind == "site"


def test_a_distance_from_a_zip_centre_is_marked_approximate(
    httpserver: HTTPServer, backend: MeiliBackend
) -> None:
    service = listing((27.96, -82.46))
    service.locations[0].coordinates_approximate = True
    site, area = documents(service, LINEAGE)
    exact = documents(listing((27.97, -82.46)), LINEAGE)[0]
    reply = answer([hit(site), hit(area), hit(exact)], 3)
    httpserver.expect_request("/indexes/services/search").respond_with_json(reply)
    found = backend.search(SearchQuery(), TAMPA, need_codes=[], now=TUESDAY_10AM_TAMPA)
    assert [(i.match, i.distance_approximate) for i in found.items] == [
        ("near", True),
        ("serves_area", False),
        ("near", False),
    ]
    anywhere = backend.search(SearchQuery(), None, need_codes=[], now=TUESDAY_10AM_TAMPA)
    assert not any(i.distance_approximate for i in anywhere.items)


# --- a slow or failing server --------------------------------------------------------------------


@contextmanager
def serving(port: int = 0) -> Iterator[HTTPServer]:
    """A server of this test's own (its log is not shared with later tests)."""
    server = HTTPServer(host="127.0.0.1", port=port)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def test_a_slow_search_times_out_quickly_while_writes_wait_longer() -> None:
    def slow(_: Request) -> Response:
        time.sleep(0.6)
        return json_response(answer([], 0))

    with serving() as server:
        server.expect_request("/indexes/services/search").respond_with_handler(slow)
        backend = MeiliBackend(server.url_for("").rstrip("/"), None, search_timeout=0.2)
        started = time.monotonic()
        with pytest.raises(SearchUnavailable, match="unreachable"):
            backend.search(SearchQuery(q="anxiety"), None, need_codes=[], now=TUESDAY_10AM_TAMPA)
        assert time.monotonic() - started < 0.5
    assert (backend.search_client.config.timeout, backend.client.config.timeout) == (0.2, 5.0)


def test_after_an_unavailable_search_searches_fail_at_once_until_the_cooldown_ends() -> None:
    with serving() as server:
        port = server.port
    backend = MeiliBackend(f"http://127.0.0.1:{port}", None, cooldown=0.5)
    query = SearchQuery(q="anxiety")
    with pytest.raises(SearchUnavailable, match="unreachable"):  # the port is closed
        backend.search(query, None, need_codes=[], now=TUESDAY_10AM_TAMPA)
    with serving(port) as server:  # the same port answers now, and counts requests
        server.expect_request("/indexes/services/search").respond_with_json(answer([], 0))
        with pytest.raises(SearchUnavailable, match="not retried"):
            backend.search(query, None, need_codes=[], now=TUESDAY_10AM_TAMPA)
        assert server.log == []  # no connection attempt
        time.sleep(0.55)
        assert backend.search(query, None, need_codes=[], now=TUESDAY_10AM_TAMPA).total == 0
        assert backend.search(query, None, need_codes=[], now=TUESDAY_10AM_TAMPA).total == 0
        assert len(server.log) == 2  # after the cooldown: tried again, and it answered


def test_the_time_zones_lookup_is_behind_the_same_guard(
    httpserver: HTTPServer, backend: MeiliBackend
) -> None:
    search = "/indexes/services/search"
    httpserver.expect_request(search).respond_with_data("Bad Gateway", status=502)
    with pytest.raises(SearchUnavailable):
        backend.search(SearchQuery(open_now=True), None, need_codes=[], now=SUNDAY_NOON_TAMPA)
    with pytest.raises(SearchUnavailable, match="not retried"):
        backend.search(SearchQuery(q="anxiety"), TAMPA, need_codes=[], now=SUNDAY_NOON_TAMPA)
    assert [json.loads(r.get_data()).get("limit") for r, _ in httpserver.log] == [0]  # the zones
