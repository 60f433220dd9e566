"""Write a synthetic HSDS tabular package of N services (default 100,000) for the ingest benchmark.

Each service has an organization (shared by ten services), a site with an address and a point,
two phones, weekday opening hours (HSDS 1.x style rows), a language and a taxonomy term. One
orphan phone row checks that rejections are reported at scale too.
"""

from __future__ import annotations

import csv
import random
import sys
from collections.abc import Iterable
from pathlib import Path

WORDS = [
    "community",
    "mental",
    "health",
    "counseling",
    "support",
    "crisis",
    "youth",
    "family",
    "housing",
    "food",
    "legal",
    "peer",
    "group",
    "recovery",
    "clinic",
    "walk-in",
    "appointment",
    "free",
    "sliding",
    "scale",
]
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TERMS = ("RP-1500", "RX-1700", "BD-1800", "BH-1800", "FT-3200")


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _write(folder: Path, name: str, header: list[str], rows: Iterable[Iterable[object]]) -> None:
    with (folder / name).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def generate(folder: Path, n: int, seed: int = 1) -> None:
    """Write the package's CSV files into ``folder``."""
    rng = random.Random(seed)
    orgs = max(n // 10, 1)
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder,
        "organizations.csv",
        ["id", "name", "description", "website"],
        ((f"o{i}", f"Org {i}", _text(rng, 30), f"www.org{i}.example") for i in range(orgs)),
    )
    _write(
        folder,
        "services.csv",
        ["id", "organization_id", "name", "description", "url", "status", "fees_description"],
        (
            (
                f"s{i}",
                f"o{i % orgs}",
                f"Service {i} {_text(rng, 3)}",
                _text(rng, 60),
                f"https://example.org/s{i}",
                "active",
                "Free",
            )
            for i in range(n)
        ),
    )
    _write(
        folder,
        "locations.csv",
        ["id", "organization_id", "name", "latitude", "longitude"],
        (
            (
                f"l{i}",
                f"o{i % orgs}",
                f"Site {i}",
                f"{30 + rng.random() * 10:.5f}",
                f"{-100 + rng.random() * 10:.5f}",
            )
            for i in range(n)
        ),
    )
    _write(
        folder,
        "service_at_location.csv",
        ["id", "service_id", "location_id"],
        ((f"sal{i}", f"s{i}", f"l{i}") for i in range(n)),
    )
    _write(
        folder,
        "addresses.csv",
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
        (
            (
                f"a{i}",
                f"l{i}",
                f"{i} Main St",
                "Springfield",
                "IL",
                f"{60000 + i % 999:05d}",
                "US",
                "physical",
            )
            for i in range(n)
        ),
    )
    _write(
        folder,
        "phones.csv",
        ["id", "location_id", "service_id", "number", "type"],
        [
            row
            for i in range(n)
            for row in (
                (f"p{i}", f"l{i}", "", f"(312) 555-{i % 10000:04d}", "voice"),
                (f"ps{i}", "", f"s{i}", f"(773) 555-{i % 10000:04d}", "voice"),
            )
        ]
        + [("orphan", "", "s-missing", "(312) 555-0000", "voice")],
    )
    _write(
        folder,
        "schedules.csv",
        ["id", "location_id", "weekday", "opens_at", "closes_at"],
        ((f"h{i}-{d}", f"l{i}", d, "9:00", "17:00") for i in range(n) for d in DAYS[:5]),
    )
    _write(
        folder,
        "languages.csv",
        ["id", "service_id", "name", "code"],
        ((f"lg{i}", f"s{i}", "Spanish", "es") for i in range(n)),
    )
    _write(
        folder,
        "taxonomy_terms.csv",
        ["id", "code", "name"],
        ((f"t{j}", code, code) for j, code in enumerate(TERMS)),
    )
    _write(
        folder,
        "attributes.csv",
        ["id", "link_id", "taxonomy_term_id", "link_entity"],
        ((f"at{i}", f"s{i}", f"t{i % len(TERMS)}", "service") for i in range(n)),
    )


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
