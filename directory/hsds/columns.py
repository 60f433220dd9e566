"""The HSDS 3.0 tabular package's tables: their names, files and columns, in the spec's order
(``schema/tables/*.json``: ``datapackage_metadata.order`` for the tables, each schema's
properties for the columns, nested arrays left out)."""

from __future__ import annotations

# table -> (file name in the package, columns)
# fmt: off
SPEC: dict[str, tuple[str, tuple[str, ...]]] = {
    "organizations": ("organizations.csv", (
        "id", "name", "alternate_name", "description", "email", "website", "tax_status",
        "tax_id", "year_incorporated", "legal_status", "logo", "uri", "parent_organization_id")),
    "services": ("services.csv", (
        "id", "organization_id", "program_id", "name", "alternate_name", "description", "url",
        "email", "status", "interpretation_services", "application_process", "fees_description",
        "wait_time", "fees", "accreditations", "eligibility_description", "minimum_age",
        "maximum_age", "assured_date", "assurer_email", "licenses", "alert", "last_modified")),
    "attributes": ("attributes.csv", (
        "id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "value")),
    "service_at_locations": ("service_at_location.csv", (
        "id", "service_id", "location_id", "description")),
    "locations": ("locations.csv", (
        "id", "location_type", "url", "organization_id", "name", "alternate_name", "description",
        "transportation", "latitude", "longitude", "external_identifier",
        "external_identifier_type")),
    "phones": ("phones.csv", (
        "id", "location_id", "service_id", "organization_id", "contact_id",
        "service_at_location_id", "number", "extension", "type", "description")),
    "contacts": ("contacts.csv", (
        "id", "organization_id", "service_id", "service_at_location_id", "location_id", "name",
        "title", "department", "email")),
    "addresses": ("addresses.csv", (
        "id", "location_id", "attention", "address_1", "address_2", "city", "region",
        "state_province", "postal_code", "country", "address_type")),
    "schedules": ("schedules.csv", (
        "id", "service_id", "location_id", "service_at_location_id", "valid_from", "valid_to",
        "dtstart", "timezone", "until", "count", "wkst", "freq", "interval", "byday", "byweekno",
        "bymonthday", "byyearday", "description", "opens_at", "closes_at", "schedule_link",
        "attending_type", "notes")),
    "service_areas": ("service_areas.csv", (
        "id", "service_id", "name", "description", "extent", "extent_type", "uri")),
    "languages": ("languages.csv", (
        "id", "service_id", "location_id", "phone_id", "name", "code", "note")),
    "accessibility": ("accessibility.csv", ("id", "location_id", "description", "details", "url")),
    "taxonomy_terms": ("taxonomy_terms.csv", (
        "id", "code", "name", "description", "parent_id", "taxonomy", "language", "taxonomy_id",
        "term_uri")),
    "cost_options": ("cost_options.csv", (
        "id", "service_id", "valid_from", "valid_to", "option", "currency", "amount",
        "amount_description")),
    "taxonomies": ("taxonomies.csv", ("id", "name", "description", "uri", "version")),
}
# fmt: on

# A service area's ISO 3166 regions (US, US-IL) are written in its ``uri``, each after this.
REGION_URN = "urn:iso:std:iso:3166:"

# The schema file (schema/tables/NAME.json) of each table.
SCHEMA_NAMES: dict[str, str] = {
    "organizations": "organization",
    "services": "service",
    "attributes": "attribute",
    "service_at_locations": "service_at_location",
    "locations": "location",
    "phones": "phone",
    "contacts": "contact",
    "addresses": "address",
    "schedules": "schedule",
    "service_areas": "service_area",
    "languages": "language",
    "accessibility": "accessibility",
    "taxonomy_terms": "taxonomy_term",
    "cost_options": "cost_option",
    "taxonomies": "taxonomy",
}

TABLES: tuple[str, ...] = tuple(SPEC)
COLUMNS: dict[str, tuple[str, ...]] = {name: columns for name, (_, columns) in SPEC.items()}
FILES: dict[str, str] = {name: file for name, (file, _) in SPEC.items()}

# The columns whose values are numbers (the spec's type "number"); every other is a string.
NUMBERS: dict[str, tuple[str, ...]] = {
    "organizations": ("year_incorporated",),
    "services": ("minimum_age", "maximum_age"),
    "locations": ("latitude", "longitude"),
    "phones": ("extension",),
    "schedules": ("count", "interval"),
    "cost_options": ("amount",),
}

# The table each foreign key column names (``link_id`` names whatever ``link_entity`` says).
REFERENCES: dict[str, str] = {
    "organization_id": "organizations",
    "service_id": "services",
    "location_id": "locations",
    "contact_id": "contacts",
    "service_at_location_id": "service_at_locations",
    "taxonomy_term_id": "taxonomy_terms",
    "taxonomy_id": "taxonomies",
    "parent_id": "taxonomy_terms",
}
