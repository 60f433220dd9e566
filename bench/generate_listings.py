"""Write an HSDS package of N realistic listings across the US, for the search benchmark.

Varied names, descriptions (some in Spanish), needs, languages, accessibility and opening
hours, at real US ZIP centres (a ZIP drawn at random, so places follow where ZIPs are dense).
Seeded: the same N gives the same package.
"""

from __future__ import annotations

import csv
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import zipcodes

KINDS = [  # (name, needs as airs.yaml text keys, sentence)
    (
        "Counseling Center",
        ["counseling", "anxiety", "depression"],
        "Individual, couples and group therapy for adults with anxiety, depression and stress.",
    ),
    (
        "Behavioral Health Clinic",
        ["mental health", "psychiatry", "counseling"],
        "Outpatient mental health care: assessment, therapy and medication management.",
    ),
    (
        "Recovery Services",
        ["substance use", "outpatient treatment", "peer support"],
        "Outpatient treatment for alcohol and drug use with recovery coaching and peer support.",
    ),
    (
        "Detox Center",
        ["detox", "substance use"],
        "Medically supervised withdrawal management, 24 hours a day, with referral to treatment.",
    ),
    (
        "Crisis Stabilization Unit",
        ["crisis stabilization", "crisis", "suicide prevention"],
        "Short-term crisis beds as an alternative to the emergency room for adults in crisis.",
    ),
    (
        "Mobile Crisis Team",
        ["mobile crisis", "crisis"],
        "Crisis counselors who come to you at home, school or work in a mental health crisis.",
    ),
    (
        "Youth and Family Services",
        ["youth", "family", "counseling"],
        "Therapy and support for children, teens and their families, including school-based care.",
    ),
    (
        "Peer Support Center",
        ["peer support", "support groups"],
        "A drop-in center run by people with lived experience: groups, warmline and classes.",
    ),
    (
        "Trauma Recovery Program",
        ["trauma", "counseling"],
        "Trauma-focused therapy for survivors of violence and abuse, and for veterans with PTSD.",
    ),
    (
        "Medication-Assisted Treatment Clinic",
        ["medication assisted treatment", "substance use"],
        "Buprenorphine and naltrexone treatment for opioid use disorder with counseling.",
    ),
    (
        "Harm Reduction Program",
        ["harm reduction", "substance use"],
        "Naloxone, syringe services, drug checking and testing for HIV and hepatitis C.",
    ),
    (
        "Residential Treatment Center",
        ["residential treatment", "substance use"],
        "Live-in treatment for substance use and co-occurring mental health conditions.",
    ),
    (
        "Eating Disorder Program",
        ["eating disorders", "counseling"],
        "Outpatient and intensive outpatient care for anorexia, bulimia and binge eating.",
    ),
    (
        "Grief Support Services",
        ["grief", "support groups"],
        "Bereavement groups and counseling after the death of a loved one, including suicide loss.",
    ),
    (
        "Veterans Wellness Center",
        ["veterans", "counseling", "peer support"],
        "Counseling and peer support for veterans, service members and their families.",
    ),
    (
        "Domestic Violence Services",
        ["domestic violence", "housing"],
        "Emergency shelter, safety planning, advocacy and counseling for survivors of abuse.",
    ),
    (
        "LGBTQ Community Center",
        ["lgbtq", "support groups", "counseling"],
        "Affirming counseling and support groups for LGBTQ+ youth and adults.",
    ),
    (
        "Housing First Program",
        ["housing", "serious mental illness"],
        "Permanent supportive housing with case management for people with serious mental illness.",
    ),
    (
        "Psychiatric Rehabilitation Clubhouse",
        ["serious mental illness", "employment"],
        "A clubhouse for adults living with mental illness: work-ordered day, jobs and friendship.",
    ),
    ("Food Pantry", ["food"], "Free groceries and hot meals for individuals and families."),
]
SPANISH = {
    "counseling": "Terapia individual y de grupo para adultos con ansiedad y depresión.",
    "substance use": "Tratamiento ambulatorio para el consumo de alcohol y drogas.",
    "youth": "Terapia y apoyo para niños, adolescentes y sus familias.",
    "mental health": "Atención de salud mental: evaluación, terapia y medicamentos.",
}
PLACES = [
    "Riverside",
    "Lakeview",
    "Hillcrest",
    "Northgate",
    "Cedar",
    "Harbor",
    "Summit",
    "Maple",
    "Pioneer",
    "Sunrise",
    "Valley",
    "Oak Grove",
    "Bayside",
    "Prairie",
    "Pinecrest",
]
WORDS = [
    "Community",
    "Family",
    "Regional",
    "County",
    "Hope",
    "New Horizons",
    "Pathways",
    "Bridges",
    "Compass",
    "Open Door",
    "Lighthouse",
    "Anchor",
    "Beacon",
    "Cornerstone",
]
OTHER_LANGUAGES = [
    "Vietnamese",
    "Chinese",
    "Haitian Creole",
    "Arabic",
    "Russian",
    "Korean",
    "Tagalog",
    "French",
    "Portuguese",
    "American Sign Language",
]
ACCESS = [
    "Wheelchair accessible",
    "Accessible parking",
    "Elevator",
    "TTY",
    "Braille",
    "Hearing loop",
    "Service animals welcome",
    "Near public transit",
]
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
HOURS = [  # (share, days, opens, closes)
    (0.55, DAYS[:5], "9:00", "17:00"),
    (0.15, DAYS[:5], "8:00", "20:00"),
    (0.10, DAYS, "0:00", "23:59"),
    (0.10, DAYS[:6], "10:00", "18:00"),
    (0.10, (), "", ""),  # hours unknown
]


def _write(folder: Path, name: str, header: list[str], rows: Iterable[Iterable[object]]) -> None:
    with (folder / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _zips() -> list[dict[str, str]]:
    return [
        z
        for z in zipcodes.list_all()  # type: ignore[no-untyped-call]
        if z["zip_code_type"] == "STANDARD" and z["lat"] and z["long"] and z["active"]
    ]


def generate(folder: Path, n: int, seed: int = 7) -> None:
    """Write the package's CSV files into ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    zips = _zips()
    terms = sorted({t for _, needs, _ in KINDS for t in needs})
    term_id = {t: f"t{i}" for i, t in enumerate(terms)}
    rows: dict[str, list[tuple[object, ...]]] = {
        k: []
        for k in (
            "organizations",
            "services",
            "locations",
            "sal",
            "addresses",
            "phones",
            "schedules",
            "languages",
            "access",
            "links",
        )
    }
    for i in range(n):
        place = zips[rng.randrange(len(zips))]
        kind, needs, sentence = KINDS[rng.randrange(len(KINDS))]
        city = place["city"].title()
        org = f"{rng.choice([city, rng.choice(PLACES)])} {rng.choice(WORDS)} {kind}"
        description = f"{sentence} Serving {city} and {place['county']}."
        if rng.random() < 0.15 and needs[0] in SPANISH:
            description += " " + SPANISH[needs[0]]
        lat = float(place["lat"]) + rng.uniform(-0.02, 0.02)
        lng = float(place["long"]) + rng.uniform(-0.02, 0.02)
        rows["organizations"].append((f"o{i}", org))
        rows["services"].append(
            (f"s{i}", f"o{i}", org if rng.random() < 0.6 else kind, description, "active")
        )
        rows["locations"].append((f"l{i}", f"o{i}", f"{city} office", f"{lat:.5f}", f"{lng:.5f}"))
        rows["sal"].append((f"sal{i}", f"s{i}", f"l{i}"))
        rows["addresses"].append(
            (
                f"a{i}",
                f"l{i}",
                f"{rng.randint(1, 9999)} Main St",
                city,
                place["state"],
                place["zip_code"],
                "US",
                "physical",
            )
        )
        area = place["area_codes"][0] if place["area_codes"] else "555"
        rows["phones"].append((f"p{i}", f"l{i}", f"({area}) 555-{rng.randint(100, 199):04d}"))
        share, cumulative = rng.random(), 0.0
        for weight, days, opens, closes in HOURS:
            cumulative += weight
            if share <= cumulative:
                rows["schedules"] += [(f"h{i}-{d}", f"l{i}", d, opens, closes) for d in days]
                break
        spoken = ["English"] + (["Spanish"] if rng.random() < 0.35 else [])
        spoken += [rng.choice(OTHER_LANGUAGES)] if rng.random() < 0.1 else []
        rows["languages"] += [(f"lg{i}-{j}", f"s{i}", lang) for j, lang in enumerate(spoken)]
        access = rng.sample(ACCESS, rng.randint(0, 3))
        rows["access"] += [(f"ac{i}-{j}", f"l{i}", a) for j, a in enumerate(access)]
        rows["links"] += [(f"st{i}-{j}", f"s{i}", term_id[t]) for j, t in enumerate(needs)]
    tables = [
        ("organizations.csv", ["id", "name"], "organizations"),
        ("services.csv", ["id", "organization_id", "name", "description", "status"], "services"),
        ("locations.csv", ["id", "organization_id", "name", "latitude", "longitude"], "locations"),
        ("services_at_location.csv", ["id", "service_id", "location_id"], "sal"),
        (
            "physical_addresses.csv",
            [
                "id",
                "location_id",
                "address_1",
                "city",
                "state_province",
                "postal_code",
                "country",
                "address_type",
            ],
            "addresses",
        ),
        ("phones.csv", ["id", "location_id", "number"], "phones"),
        (
            "regular_schedules.csv",
            ["id", "location_id", "weekday", "opens_at", "closes_at"],
            "schedules",
        ),
        ("languages.csv", ["id", "service_id", "language"], "languages"),
        ("accessibility_for_disabilities.csv", ["id", "location_id", "accessibility"], "access"),
        ("services_taxonomy.csv", ["id", "service_id", "taxonomy_id"], "links"),
    ]
    for name, header, key in tables:
        _write(folder, name, header, rows[key])
    _write(folder, "taxonomy.csv", ["id", "name"], ((term_id[t], t) for t in terms))


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)


def import_generated(url: str, env: dict[str, str], count: int, source: str) -> None:
    """Generate and import ``count`` listings as ``source`` unless the database holds them."""
    from sqlalchemy import func, select

    from directory.db import make_engine, make_sessionmaker
    from directory.listings.models import Provenance

    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        query = select(func.count(Provenance.id)).where(Provenance.source == source)
        present = session.scalar(query) or 0
    engine.dispose()
    if present >= count:
        return
    with tempfile.TemporaryDirectory(prefix="listings-bench-") as folder:
        generate(Path(folder), count)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "directory", "ingest", "hsds", folder, "--source", source],
            env=env,
            check=True,
            capture_output=True,
        )
        print(f"imported {count:,} listings in {time.perf_counter() - started:.0f} s")
