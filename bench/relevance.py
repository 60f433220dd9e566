"""Judged search relevance: recall@10, nDCG@10 and the zero-result rate, per language and backend.

The evaluation set (bench/relevance/questions.yaml) holds natural questions in English and
Spanish, each at a place with a radius, and the rule that says which listings answer it: SAMHSA
service codes (taken from the RAW source rows kept in ``provenance.raw``, never from our needs
mapping) of a listing within the radius, plus a few listings judged by hand, by name. See
bench/relevance/README.md.

Loads the real datasets (SAMHSA locator + MH directory, merged; the Illinois legal-aid HSDS
package; Wikipedia's crisis lines) into a private PostGIS cluster of its own with the importer,
indexes them, runs every question through ``directory.search.service.search`` (q, place,
radius_km, per_page=10) and prints the figures next to their targets. The loaded cluster is kept
between runs in .directory/bench-relevance/, keyed by a hash of the code that imports and indexes
(directory/ but its web app, API, accounts and referrals) and of the data files: a changed
importer, mapping or index reloads it (about three minutes).

    python bench/relevance.py [--verbose] [--meili-url URL] [--fresh] [--only ID,ID]

Meilisearch is measured when DIRECTORY_TEST_MEILI_URL (or --meili-url) names a server (key:
DIRECTORY_TEST_MEILI_KEY or --meili-key): the listings go into a throwaway index, deleted after.
Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import math
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, sessionmaker

from directory.config import PROJECT_ROOT, get_settings
from directory.db import make_engine, make_sessionmaker, unit_of_work
from directory.geo import offline_zips
from directory.pgcluster import DATABASE_NAME, SERVER_USER, PrivateCluster

HERE = Path(__file__).resolve().parent
SET = HERE / "relevance" / "questions.yaml"
# beside the checkout this file is in (also when the code under test is another one)
DATASETS = Path(
    os.environ.get("DIRECTORY_DATASETS_DIR") or HERE.parent.parent / "shared" / "datasets"
)
# (format, file or folder): imported in this order, the locator first (it has the coordinates;
# the directory's rows merge onto its listings).
FILES = (
    ("samhsa-locator", "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv"),
    ("samhsa-directory", "samhsa-mh-directory-2022/National_Directory_MH_Facilities_2022.xlsx"),
    ("hsds", "hsds1-ilao"),
    ("crisis-lines", "crisis-lines-wikipedia/suicide-hotlines.json"),
)
# Parts of the package that neither import nor index listings: a change there keeps the cache.
NOT_LOADING = frozenset(
    {"web", "api", "accounts", "referrals", "cli.py", "serving.py", "__main__.py"}
)
CACHE_DIR = PROJECT_ROOT / ".directory" / "bench-relevance"
PORT = 55438
K = 10
TARGET_RECALL = 0.8
TARGET_LANGUAGE_GAP = 0.05
LANGUAGES = {"en": "English", "es": "Spanish"}


# --- the evaluation set ----------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    id: str
    name: str
    latitude: float
    longitude: float
    postcode: str | None  # searched by ZIP when given, else by point


@dataclass(frozen=True)
class Rule:
    """Which listings within the radius answer a question, by their raw SAMHSA codes."""

    any_of: frozenset[str] = frozenset()  # at least one of these (when given)
    all_of: frozenset[str] = frozenset()  # every one of these
    none_of: frozenset[str] = frozenset()  # none of these

    def holds(self, codes: set[str]) -> bool:
        return (
            (not self.any_of or bool(self.any_of & codes))
            and self.all_of <= codes
            and not (self.none_of & codes)
        )

    def describe(self) -> str:
        parts = []
        if self.any_of:
            parts.append("any of " + " ".join(sorted(self.any_of)))
        if self.all_of:
            parts.append("all of " + " ".join(sorted(self.all_of)))
        if self.none_of:
            parts.append("none of " + " ".join(sorted(self.none_of)))
        return "; ".join(parts) or "any listing"


@dataclass(frozen=True)
class Question:
    id: str
    language: str
    q: str
    place: Place
    radius_km: float
    rule: Rule
    judged: tuple[str, ...]  # listing names judged relevant by hand
    intent: str
    crisis: bool  # a question that should bring the crisis lines


def load_set(path: Path = SET) -> list[Question]:
    """The questions of the set: each entry an English and a Spanish question."""
    data = yaml.safe_load(path.read_text())
    default_radius = float(data["radius_km"])
    places: dict[str, tuple[Place, float]] = {}
    for key, entry in data["places"].items():
        postcode = entry.get("postcode")
        if postcode:
            found = offline_zips().place(str(postcode))
            if found is None:
                raise SystemExit(f"{path.name}: place {key}: unknown ZIP {postcode}")
            lat, lng = found.latitude, found.longitude
        else:
            lat, lng = entry["near"]
        place = Place(key, entry["name"], lat, lng, str(postcode) if postcode else None)
        places[key] = (place, float(entry.get("radius_km", default_radius)))
    intents = data["intents"]
    questions: list[Question] = []
    for entry in data["questions"]:
        intent = intents[entry["intent"]]
        rule = intent["rule"]
        place, radius = places[entry["place"]]
        for language in LANGUAGES:
            questions.append(
                Question(
                    id=f"{entry['place']}/{entry['intent']}/{language}",
                    language=language,
                    q=entry[language],
                    place=place,
                    radius_km=float(entry.get("radius_km", radius)),
                    rule=Rule(
                        frozenset(rule.get("any", ())),
                        frozenset(rule.get("all", ())),
                        frozenset(rule.get("none", ())),
                    ),
                    judged=(*intent.get("judged", ()), *entry.get("judged", ())),
                    intent=entry["intent"],
                    crisis=bool(intent.get("crisis", False)),
                )
            )
    ids = [question.id for question in questions]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{path.name}: a place and intent asked twice")
    return questions


# --- the database: loaded once per code revision -----------------------------------------------


def revision() -> str:
    """A hash of what decides the loaded listings and their index: the package but for the
    parts that never write listings (NOT_LOADING), and the data files' names and sizes."""
    digest = hashlib.sha256()
    package = PROJECT_ROOT / "directory"
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if (
            not path.is_file()
            or relative.parts[0] in NOT_LOADING
            or "__pycache__" in relative.parts
            or path.suffix == ".pyc"
        ):
            continue
        digest.update(str(relative).encode() + b"\0" + path.read_bytes() + b"\0")
    for _, name in FILES:
        target = DATASETS / name
        for path in sorted(target.rglob("*")) if target.is_dir() else [target]:
            digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def loaded_database(*, fresh: bool, keep: bool) -> Iterator[str]:
    """The URL of the private cluster holding the datasets, imported and indexed for this
    revision; the cluster is stopped afterwards (its files stay, unless ``keep`` is off)."""
    cluster = PrivateCluster.for_data_dir(CACHE_DIR, port=PORT)
    stamp = CACHE_DIR / "revision.txt"
    wanted = revision()
    started = time.perf_counter()
    cluster.start()
    try:
        have = stamp.read_text().strip() if stamp.exists() else None
        if fresh or have != wanted:
            why = "asked for" if fresh else ("none cached" if have is None else "code changed")
            print(f"loading the datasets into a private database ({why}; revision {wanted})")
            stamp.unlink(missing_ok=True)
            _recreate_database(cluster)
            _load(cluster.url)
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            stamp.write_text(wanted + "\n")
            print(f"loaded and indexed in {time.perf_counter() - started:.0f} s")
        else:
            print(f"reusing the loaded database of revision {wanted} ({cluster.root})")
        yield cluster.url
    finally:
        if keep:
            cluster.stop()
        else:
            cluster.destroy()
            stamp.unlink(missing_ok=True)


def _recreate_database(cluster: PrivateCluster) -> None:
    admin = f"host={cluster.socket_dir} port={cluster.port} user={SERVER_USER} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def _load(url: str) -> None:
    from directory import migrate
    from directory.ingest.formats import resolve
    from directory.ingest.load import run_import
    from directory.listings.seed import seed_all
    from directory.search.sync import drain

    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        seed_all(session, get_settings().seed_dir, demo=False)
    for format_name, name in FILES:
        path = DATASETS / name
        fmt = resolve(format_name, path)
        started = time.perf_counter()
        with unit_of_work(factory) as session:
            report = run_import(session, fmt, path, source=f"{fmt.name}:{path.stem}")
        summary = report.summary()
        print(f"  {name}: {time.perf_counter() - started:.0f} s; {summary[1] if summary else ''}")
    started = time.perf_counter()
    indexed = drain(factory)
    print(f"  indexed {indexed} change(s) in {time.perf_counter() - started:.0f} s")
    engine.dispose()


# --- what is relevant: raw codes within the radius, and the listings judged by hand ---------


@dataclass
class Listing:
    service_id: uuid.UUID
    name: str
    distance_km: float  # from the place to its nearest site
    codes: set[str] = field(default_factory=set)
    coded: bool = False  # the MH directory's row is among its sources (its codes are known)


NEARBY = text(
    """
    SELECT s.id, s.name, min(ST_Distance(l.point, CAST(:origin AS geography))) / 1000 AS km
    FROM service s
    JOIN service_at_location sal ON sal.service_id = s.id
    JOIN location l ON l.id = sal.location_id
    WHERE s.status = 'active' AND s.curation_status = 'published'
      AND ST_DWithin(l.point, CAST(:origin AS geography), :radius_m)
    GROUP BY s.id, s.name
    """
)
RAW = text(
    """
    SELECT service_id, format, raw FROM provenance
    WHERE service_id = ANY(:ids) AND format IN ('samhsa-directory', 'samhsa-locator')
    """
)
BY_NAME = text(
    """
    SELECT s.id, s.name FROM service s
    WHERE s.status = 'active' AND s.curation_status = 'published' AND s.name = ANY(:names)
    """
)


def raw_codes(format_name: str, raw: dict[str, Any]) -> set[str]:
    """The SAMHSA codes a source row gives: the directory's ``service_code_info`` (groups split
    by ``*``), the locator's ``type_facility``."""
    if format_name == "samhsa-directory":
        value = raw.get("service_code_info") or ""
    else:
        value = raw.get("type_facility") or ""
    return {code for code in str(value).replace("*", " ").split() if code != "NA"}


def nearby(session: Session, place: Place, radius_km: float) -> dict[uuid.UUID, Listing]:
    """Every listing with a site within the radius, with the raw codes of its SAMHSA rows."""
    params = {
        "origin": f"SRID=4326;POINT({place.longitude} {place.latitude})",
        "radius_m": radius_km * 1000,
    }
    found = {
        row.id: Listing(row.id, row.name, float(row.km)) for row in session.execute(NEARBY, params)
    }
    for row in session.execute(RAW, {"ids": list(found)}):
        listing = found[row.service_id]
        listing.codes |= raw_codes(row.format, row.raw or {})
        listing.coded |= row.format == "samhsa-directory"
    return found


@dataclass
class Judgement:
    relevant: dict[uuid.UUID, str]  # service id -> why ("codes" or "by hand")
    names: dict[uuid.UUID, str]  # every listing nearby, and the hand-judged ones
    distance_km: dict[uuid.UUID, float]  # of the listings nearby
    coded: set[uuid.UUID]  # listings whose codes are known (a MH directory row)
    missing_by_hand: list[str]  # hand-judged names found nowhere


def judge(session: Session, question: Question) -> Judgement:
    listings = nearby(session, question.place, question.radius_km)
    relevant = {
        sid: "codes" for sid, listing in listings.items() if question.rule.holds(listing.codes)
    }
    names = {sid: listing.name for sid, listing in listings.items()}
    found_names: set[str] = set()
    if question.judged:
        for row in session.execute(BY_NAME, {"names": list(question.judged)}):
            # a name judged by hand counts where it is: nearby, or a line serving everywhere
            if row.id in listings or _serves_everywhere(session, row.id):
                relevant.setdefault(row.id, "by hand")
                names[row.id] = row.name
                found_names.add(row.name)
    return Judgement(
        relevant,
        names,
        {sid: listing.distance_km for sid, listing in listings.items()},
        {sid for sid, listing in listings.items() if listing.coded},
        [name for name in question.judged if name not in found_names],
    )


def _serves_everywhere(session: Session, service_id: uuid.UUID) -> bool:
    """A national US service (a crisis line): one of its service areas is the whole country."""
    return bool(
        session.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM service_area WHERE service_id = :id"
                " AND 'US' = ANY(regions))"
            ),
            {"id": service_id},
        )
    )


# --- asking the questions ---------------------------------------------------------------------


@dataclass
class Outcome:
    question: Question
    judgement: Judgement
    ranked: list[tuple[uuid.UUID, str, float | None, str | None]]  # id, name, km, match
    total: int
    crisis_shown: bool
    degraded: bool
    unjudged: set[uuid.UUID]  # results from the locator alone: their services are unknown

    @property
    def relevant_count(self) -> int:
        return len(self.judgement.relevant)

    def hits(self) -> list[bool]:
        return [sid in self.judgement.relevant for sid, *_ in self.ranked[:K]]

    def recall(self) -> float | None:
        if not self.relevant_count:
            return None
        return sum(self.hits()) / min(K, self.relevant_count)

    def ndcg(self) -> float | None:
        if not self.relevant_count:
            return None
        dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(self.hits()) if hit)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(K, self.relevant_count)))
        return dcg / ideal

    def zero(self) -> bool:
        """No result at all, though a relevant listing exists."""
        return self.relevant_count > 0 and self.total == 0


def ask(session: Session, question: Question, judgement: Judgement, backends: Any) -> Outcome:
    from directory.search import service
    from directory.search.query import SearchQuery

    fields: dict[str, Any] = {"q": question.q, "radius_km": question.radius_km, "per_page": K}
    if question.place.postcode:
        fields["postcode"] = question.place.postcode
    else:
        fields["near"] = (question.place.latitude, question.place.longitude)
    response = service.search(session, SearchQuery.model_validate(fields), backends=backends)
    ranked: list[tuple[uuid.UUID, str, float | None, str | None]] = []
    for item in response.items:
        if all(item.service_id != sid for sid, *_ in ranked):  # a listing counts once
            ranked.append((item.service_id, item.name, item.distance_km, item.match))
    return Outcome(
        question,
        judgement,
        ranked,
        response.total,
        bool(response.crisis and response.crisis.lines),
        response.degraded,
        _locator_only(session, [sid for sid, *_ in ranked]) - set(judgement.relevant),
    )


def _locator_only(session: Session, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The listings among ``ids`` known from the SAMHSA locator alone (no MH directory row)."""
    rows = session.execute(
        text(
            "SELECT service_id, bool_or(format = 'samhsa-directory') AS coded FROM provenance"
            " WHERE service_id = ANY(:ids) AND format LIKE 'samhsa-%' GROUP BY service_id"
        ),
        {"ids": ids},
    )
    return {row.service_id for row in rows if not row.coded}


def run_backend(
    factory: sessionmaker[Session],
    questions: list[Question],
    judgements: dict[str, Judgement],
    backends: Any,
) -> tuple[list[Outcome], float]:
    started = time.perf_counter()
    with factory() as session:
        outcomes = [ask(session, q, judgements[q.id], backends) for q in questions]
    return outcomes, time.perf_counter() - started


# --- figures ----------------------------------------------------------------------------------


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def report(name: str, outcomes: list[Outcome], seconds: float, *, verbose: bool) -> None:
    print(f"\n== {name}: {len(outcomes)} questions, top {K}, searched in {seconds:.1f} s")
    degraded = sum(o.degraded for o in outcomes)
    if degraded:
        print(f"   WARNING: {degraded} answer(s) degraded to postgres: not this backend's figures")
    header = (
        f"   {'':<14}{'recall@10':>10}{'nDCG@10':>10}{'zero-result':>14}"
        f"{'unjudged@10':>13}{'crisis lines':>14}"
    )
    print(header)
    groups = [
        (LANGUAGES[lang], [o for o in outcomes if o.question.language == lang])
        for lang in LANGUAGES
    ]
    groups.append(("overall", outcomes))
    for label, group in groups:
        judged = [o for o in group if o.relevant_count]
        slots = sum(min(K, len(o.ranked)) for o in group)
        unjudged = sum(len(o.unjudged) for o in group)
        crisis = [o for o in group if o.question.crisis]
        zero = sum(o.zero() for o in group)
        print(
            f"   {label + f' ({len(group)})':<14}"
            f"{_fmt(_mean([o.recall() for o in group])):>10}"
            f"{_fmt(_mean([o.ndcg() for o in group])):>10}"
            f"{f'{zero}/{len(judged)} ({zero / max(1, len(judged)):.0%})':>14}"
            f"{f'{unjudged / max(1, slots):.0%}':>13}"
            f"{f'{sum(o.crisis_shown for o in crisis)}/{len(crisis)}':>14}"
        )
    _targets(outcomes)
    _by_intent(outcomes)
    if verbose:
        for outcome in outcomes:
            _explain(outcome)


def _targets(outcomes: list[Outcome]) -> None:
    recall = _mean([o.recall() for o in outcomes])
    zero = sum(o.zero() for o in outcomes)
    english = _mean([o.recall() for o in outcomes if o.question.language == "en"])
    spanish = _mean([o.recall() for o in outcomes if o.question.language == "es"])

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    print("   targets:")
    print(
        f"     recall@10 >= {TARGET_RECALL}: {_fmt(recall)} -> "
        f"{verdict(recall is not None and recall >= TARGET_RECALL)}"
    )
    print(f"     zero-result = 0 where a relevant listing exists: {zero} -> {verdict(zero == 0)}")
    if english is not None and spanish is not None:
        gap = english - spanish
        print(
            f"     Spanish recall within {TARGET_LANGUAGE_GAP} of English: {spanish:.3f} vs"
            f" {english:.3f} (gap {gap:+.3f}) -> {verdict(gap <= TARGET_LANGUAGE_GAP)}"
        )


def _by_intent(outcomes: list[Outcome]) -> None:
    print(f"   recall@10 by intent (places){'':<10}{'English':>8}{'Spanish':>9}{'zero':>6}")
    for intent in dict.fromkeys(o.question.intent for o in outcomes):
        mine = [o for o in outcomes if o.question.intent == intent]
        places = len({o.question.place.id for o in mine})
        by_language = [
            _fmt(_mean([o.recall() for o in mine if o.question.language == lang]))
            for lang in LANGUAGES
        ]
        zero = sum(o.zero() for o in mine)
        print(f"     {f'{intent} ({places})':<36}{by_language[0]:>8}{by_language[1]:>9}{zero:>6}")


def _explain(outcome: Outcome) -> None:
    q = outcome.question
    where = f"ZIP {q.place.postcode}" if q.place.postcode else "a point"
    by_hand = sum(why == "by hand" for why in outcome.judgement.relevant.values())
    print(
        f"\n   [{q.id}] {q.q!r} at {q.place.name} ({where}), {q.radius_km:g} km;"
        f" rule: {q.rule.describe()}; {outcome.relevant_count} relevant ({by_hand} by hand)"
    )
    print(
        f"     recall {_fmt(outcome.recall())}  nDCG {_fmt(outcome.ndcg())}"
        f"  {outcome.total} result(s)" + ("  crisis lines shown" if outcome.crisis_shown else "")
    )
    for missing in outcome.judgement.missing_by_hand:
        print(f"     (judged by hand but not found near here: {missing})")
    for position, (sid, name, km, match) in enumerate(outcome.ranked[:K], start=1):
        mark = "+" if sid in outcome.judgement.relevant else "?" if sid in outcome.unjudged else "-"
        at = f"{km:.1f} km" if km is not None else "no distance"
        at += "" if match in (None, "near") else f", {match}"
        print(f"     {position:>2} {mark} {name} ({at})")
    found = {sid for sid, *_ in outcome.ranked[:K]}
    distance = outcome.judgement.distance_km
    missed = sorted(
        (sid for sid in outcome.judgement.relevant if sid not in found),
        key=lambda sid: distance.get(sid, 0.0),
    )
    if missed:
        shown = ", ".join(
            f"{outcome.judgement.names[sid]} ({distance[sid]:.1f} km)"
            if sid in distance
            else outcome.judgement.names[sid]
            for sid in missed[:5]
        )
        more = f" and {len(missed) - 5} more" if len(missed) > 5 else ""
        print(f"     missed, nearest first: {shown}{more}")


# --- Meilisearch --------------------------------------------------------------------------------


@contextlib.contextmanager
def meili_backends(factory: sessionmaker[Session], url: str, key: str | None) -> Iterator[Any]:
    """Every published listing in a throwaway Meilisearch index, deleted afterwards."""
    from directory.listings.models import Service
    from directory.search.backends import Backends
    from directory.search.meilisearch import MeiliBackend
    from directory.search.sync import documents_of

    meili = MeiliBackend(url, key, index=f"relevance_{uuid.uuid4().hex[:12]}")
    try:
        with factory() as session:
            published = select(Service.id).where(
                Service.curation_status == "published", Service.status == "active"
            )
            ids = list(session.scalars(published.order_by(Service.id)))
            batches = (documents_of(session, ids[i : i + 500]) for i in range(0, len(ids), 500))
            started = time.perf_counter()
            count = meili.rebuild(batches)
            print(
                f"Meilisearch: {count} documents indexed in {time.perf_counter() - started:.0f} s"
            )
        yield Backends(meili)
    finally:
        with contextlib.suppress(Exception):
            meili.client.wait_for_task(meili.client.delete_index(meili.uid).task_uid)


# --- the command --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", action="store_true", help="each question's hits and misses")
    parser.add_argument("--meili-url", default=os.environ.get("DIRECTORY_TEST_MEILI_URL"))
    parser.add_argument("--meili-key", default=os.environ.get("DIRECTORY_TEST_MEILI_KEY"))
    parser.add_argument("--fresh", action="store_true", help="reload the datasets even if cached")
    parser.add_argument(
        "--no-cache", action="store_true", help="delete the loaded cluster afterwards"
    )
    parser.add_argument("--only", help="comma-separated parts of question ids (bronx,/es)")
    parser.add_argument(
        "--list", action="store_true", help="print the questions and their judgements only"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    absent = [name for _, name in FILES if not (DATASETS / name).exists()]
    if absent:  # `make bench` goes on with the other benchmarks
        print(f"relevance not measured: datasets missing in {DATASETS}: {', '.join(absent)}")
        return
    questions = load_set()
    if args.only:
        parts = [p for p in args.only.split(",") if p]
        questions = [q for q in questions if any(p in q.id for p in parts)]
    places = {q.place.id for q in questions}
    counts = {lang: sum(q.language == lang for q in questions) for lang in LANGUAGES}
    languages = ", ".join(f"{n} {LANGUAGES[k]}" for k, n in counts.items())
    print(f"{len(questions)} questions ({languages}) at {len(places)} places")
    print(f"code under test: {_git_revision()}")
    with loaded_database(fresh=args.fresh, keep=not args.no_cache) as url:
        from directory.search import service

        engine = make_engine(url)
        event.listen(engine, "connect", service.prepare_connection)  # as the API's engine does
        factory = make_sessionmaker(engine)
        with factory() as session:
            judgements = {q.id: judge(session, q) for q in questions}
        _check_judgements(questions, judgements)
        if args.list:
            _list(questions, judgements)
            return
        service.warm_up()
        outcomes, seconds = run_backend(factory, questions, judgements, None)
        report("postgres", outcomes, seconds, verbose=args.verbose)
        if not args.meili_url:
            print(
                "\n== meilisearch: not measured: no server named (set DIRECTORY_TEST_MEILI_URL or"
                " pass --meili-url; Meilisearch cannot be installed on this machine)"
            )
        else:
            try:
                with meili_backends(factory, args.meili_url, args.meili_key) as backends:
                    outcomes, seconds = run_backend(factory, questions, judgements, backends)
                    report("meilisearch", outcomes, seconds, verbose=args.verbose)
            except Exception as error:
                print(f"\n== meilisearch: not measured: {type(error).__name__}: {error}")
        engine.dispose()
    print(f"\nrun took {time.perf_counter() - started:.0f} s")


def _git_revision() -> str:
    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=False
        )
        return result.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "directory")
    return f"{head}{' + uncommitted changes in directory/' if dirty else ''} ({PROJECT_ROOT})"


def _check_judgements(questions: list[Question], judgements: dict[str, Judgement]) -> None:
    empty = [q.id for q in questions if not judgements[q.id].relevant]
    if empty:
        print(f"note: no relevant listing for {', '.join(empty)} (left out of the figures)")
    missing = sorted({n for q in questions for n in judgements[q.id].missing_by_hand})
    if missing:
        print(f"note: listings judged by hand not found near their place: {'; '.join(missing)}")


def _list(questions: list[Question], judgements: dict[str, Judgement]) -> None:
    for q in questions:
        judgement = judgements[q.id]
        by_hand = sum(why == "by hand" for why in judgement.relevant.values())
        print(
            f"{q.id:<36} {q.q!r}: {q.radius_km:g} km of {q.place.name};"
            f" {q.rule.describe()}; {len(judgement.relevant)} relevant ({by_hand} by hand)"
        )


if __name__ == "__main__":
    main()
