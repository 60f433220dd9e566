"""What the HSDS normaliser reads, table by table, and the accounting of what it does not: the
columns of a tabular package (``USED``, counted per file by ``Usage``) and the keys of a nested
JSON record (``NESTED`` says where the normaliser looks inside one; ``unread_keys`` counts the
rest). The import report names everything outside these, with its row count.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# fmt: off
# The columns the HSDS normaliser reads (or the reader joins on), by table; the report names every
# other column that holds values, and every table not listed in TABLES.
_LINKS = ("id", "service_id", "location_id", "service_at_location_id", "organization_id")
_SCHEDULE = ("weekday", "opens_at", "closes_at", "description", "original_text", "freq", "byday",
             "wkst", "interval", "count", "bymonthday", "byweekno", "byyearday", "dtstart",
             "until", "valid_from", "valid_to", "timezone", "attending_type", "notes",
             "schedule_link")
_ADDRESS = ("attention", "address_1", "address_2", "address_3", "address_4", "city", "region",
            "state_province", "postal_code", "country", "address_type")
USED: dict[str, frozenset[str]] = {key: frozenset((*_LINKS, *columns)) for key, columns in {
    "services": ("name", "alternate_name", "description", "url", "email", "status",
                 "interpretation_services", "application_process", "fees_description", "fees",
                 "eligibility_description", "minimum_age", "maximum_age", "alert", "hours",
                 "taxonomy_ids", "keywords", "assured_date", "assurer_email"),
    "organizations": ("name", "alternate_name", "description", "email", "website", "url"),
    "locations": ("name", "description", "transportation", "location_type", "latitude",
                  "longitude"),
    "service_at_locations": (),
    "phones": ("contact_id", "number", "type", "description", "extension"),
    "schedules": _SCHEDULE,
    "regular_schedules": _SCHEDULE,
    "holiday_schedules": ("closed", "opens_at", "closes_at", "start_date", "end_date"),
    "contacts": ("name", "title", "department", "email"),
    "languages": ("code", "name", "language", "note"),
    "addresses": _ADDRESS,
    "physical_addresses": _ADDRESS,
    "postal_addresses": _ADDRESS,
    "accessibility": ("description", "accessibility", "details", "url"),
    "accessibility_for_disabilities": ("description", "accessibility", "details", "url"),
    "service_areas": ("name", "service_area", "description", "uri"),
    "cost_options": ("option", "amount", "currency", "amount_description"),
    "payments_accepted": ("payment",),
    "eligibility": ("eligibility",),
    "attributes": ("link_id", "link_type", "link_entity", "taxonomy_term_id"),
    "taxonomy_terms": ("code", "name", "taxonomy", "taxonomy_detail"),
    "services_taxonomy": ("taxonomy_id",),
    "taxonomy": ("name",),
}.items()}
_SERVICE = ("service_at_locations", "service_areas", "cost_options", "payments_accepted",
            "eligibility", "attributes", "taxonomy_terms", "services_taxonomy")
_LOCATION = ("addresses", "physical_addresses", "postal_addresses", "accessibility",
             "accessibility_for_disabilities")
# fmt: on
_SITE = ("phones", "languages", "contacts", "schedules", "regular_schedules", "holiday_schedules")
# Where the HSDS normaliser looks inside a nested record: object key -> the table it holds.
NESTED: dict[str, dict[str, str]] = {
    "services": {
        "organization": "organizations",
        "service_area": "service_areas",
        **{k: k for k in _SERVICE + _SITE},
    },
    "service_at_locations": {"location": "locations", **{k: k for k in _SITE}},
    "locations": {k: k for k in _LOCATION + _SITE},
    "contacts": {"phones": "phones"},
    "attributes": {"taxonomy_term": "taxonomy_terms"},
    "services_taxonomy": {"taxonomy": "taxonomy"},
}


@dataclass
class Usage:
    """What a file held, for the report: rows, and the rows where each column had a value."""

    key: str
    header: tuple[str, ...]
    rows: int = 0
    filled: Counter[str] = field(default_factory=Counter)
    unowned: int = 0  # rows that belong to nothing we list (a phone of an organization)

    def count(self, values: tuple[str, ...]) -> None:
        self.rows += 1
        self.filled.update(h for h, v in zip(self.header, values, strict=False) if v)


def unread_keys(value: Any, table: str, unread: Counter[str]) -> None:
    """Count the keys of a nested HSDS record that the normaliser does not read."""
    if isinstance(value, list):
        for item in value:
            unread_keys(item, table, unread)
        return
    if not isinstance(value, dict):
        return
    nested, used = NESTED.get(table, {}), USED.get(table, frozenset())
    for key, child in value.items():
        if key in nested:
            unread_keys(child, nested[key], unread)
        elif key not in used and child not in (None, "", [], {}):
            unread[f"{table}.{key}"] += 1
