"""Examples of the main schemas, shown by /docs and /redoc (``openapi._amend`` adds them).

Taken from the demo region's answers (fictional listings), trimmed to one of each list; each is
checked against its model (tests/api/test_docs.py), so an example cannot drift from the shape."""

from __future__ import annotations

from typing import Any

SERVICE = "fc34803b-0b58-583b-9f72-62026d271d97"
LOCATION = "58e4d92c-ec79-4c3d-8d49-1597a9513677"
REFERRAL = "0b9e3a52-5d0f-4c61-9f38-2f1c6a7d8e41"
MENTOR = "5a1d7c3e-8b2f-4e90-a6d4-3c7b9e1f0a28"
PROGRAM = "9c4e2b71-3f6a-4d58-8e19-7a2b5c0d6f93"
PHONE = {
    "display": "(813) 555-0102",
    "tel_uri": "tel:+18135550102",
    "type": "voice",
    "extension": None,
    "description": None,
}
ADDRESS = {
    "attention": None,
    "address_1": "4200 W Cypress St, Suite 250",
    "address_2": None,
    "city": "Tampa",
    "region": None,
    "state_province": "FL",
    "postal_code": "33607",
    "country": "US",
    "address_type": "physical",
}
NEEDS = [{"code": "counseling", "name": "Counseling and therapy"}]
VERIFIED = "2026-11-25T00:00:00Z"

SEARCH_RESPONSE: dict[str, Any] = {
    "items": [
        {
            "service_id": SERVICE,
            "location_id": LOCATION,
            "name": "Eating Disorder Intensive Outpatient (demo)",
            "organization": "Westshore Nourish Center (demo)",
            "demo": True,
            "snippet": "DEMO LISTING (fictional): Intensive outpatient program for teens (13+)"
            " and adults with anorexia, bulimia, binge eating disorder or ARFID…",
            "needs": NEEDS,
            "languages": ["en"],
            "accessibility": ["elevator", "accessible-parking"],
            "costs": ["private-insurance", "self-pay"],
            "address": ADDRESS,
            "distance_km": 5.556,
            "distance_approximate": False,
            "match": "near",
            "phones": [PHONE],
            "website": "https://example.org/demo/westshore-nourish",
            "open_now": False,
            "hours": "Mon-Fri 9am-5pm (intake and appointments)",
            "last_verified_at": VERIFIED,
            "capacity_status": "accepting",
            "capacity_updated_at": "2026-12-01T15:00:00Z",
        }
    ],
    "total": 29,
    "page": 1,
    "per_page": 20,
    "facets": {
        "needs": {"counseling": 9, "anxiety": 8, "mental-health": 27},
        "languages": {"en": 29, "es": 15},
        "accessibility": {"wheelchair": 17, "elevator": 5},
    },
    "crisis": None,
    "backend": "postgres",
    "degraded": False,
    "took_ms": 14.2,
}

SCHEDULE = {
    "id": "fbb5e64a-e3a8-4daa-ad73-9cf5cf138d69",
    "freq": "WEEKLY",
    "interval": None,
    "byday": "MO,TU,WE,TH,FR",
    "bymonthday": None,
    "byweekno": None,
    "byyearday": None,
    "wkst": None,
    "dtstart": None,
    "until": None,
    "count": None,
    "valid_from": None,
    "valid_to": None,
    "opens_at": "09:00:00",
    "closes_at": "17:00:00",
    "timezone": "America/New_York",
    "description": "Mon-Fri 9am-5pm (intake and appointments)",
    "schedule_link": None,
    "attending_type": None,
    "notes": None,
}
SERVICE_READ: dict[str, Any] = {
    "id": SERVICE,
    "name": "Eating Disorder Intensive Outpatient (demo)",
    "alternate_name": None,
    "description": "DEMO LISTING (fictional): Intensive outpatient program for teens (13+) and"
    " adults with anorexia, bulimia, binge eating disorder or ARFID.",
    "url": "https://example.org/demo/westshore-nourish",
    "email": "intake.nourish@example.org",
    "status": "active",
    "curation_status": "published",
    "interpretation_services": None,
    "application_process": "Call central intake for a screening",
    "fees_description": None,
    "eligibility_description": "Ages 13 and up",
    "minimum_age": 13,
    "maximum_age": None,
    "alert": None,
    "capacity_status": "accepting",
    "capacity_updated_at": "2026-12-01T15:00:00Z",
    "verification_method": "phone",
    "verification_note": "Intake confirmed the evening groups",
    "organization": {
        "id": "6be6b0d8-ff25-5ff0-8bad-b387ea8c4192",
        "name": "Westshore Nourish Center (demo)",
        "alternate_name": None,
        "description": None,
        "email": None,
        "website": "https://example.org/demo/westshore-nourish",
    },
    "needs": [{**NEEDS[0], "inferred": False}],
    "languages": [{"code": "en", "name": "English", "note": None}],
    "phones": [
        {
            "id": "6c15c393-952e-478e-9a3e-4960a8eaf77f",
            "number": "(813) 555-0102",
            "e164": "+18135550102",
            "country": "US",
            **PHONE,
        }
    ],
    "schedules": [],
    "locations": [
        {
            "id": LOCATION,
            "service_at_location_id": "f0f94c66-7a15-4a0e-ac93-8adc5bafd702",
            "name": "Westshore office",
            "location_type": "physical",
            "description": None,
            "transportation": None,
            "latitude": 27.9563,
            "longitude": -82.5133,
            "coordinates_approximate": False,
            "addresses": [ADDRESS],
            "accessibility": [
                {"code": "elevator", "details": "Elevator from the parking garage", "url": None}
            ],
            "phones": [],
            "schedules": [SCHEDULE],
        }
    ],
    "service_areas": [],
    "cost_options": [
        {
            "option": "self-pay",
            "amount": None,
            "currency": None,
            "amount_description": "Payment plans available",
        }
    ],
    "crisis_channels": [],
    "contacts": [],
    "provenance": [
        {
            "source": "seed:demo",
            "external_id": "demo-westshore-eating-disorders-iop",
            "source_url": None,
            "retrieved_at": "2026-12-06T11:27:41Z",
        }
    ],
    "verification": {"last_verified_at": VERIFIED, "verified_by": "coordinator@example.org"},
    "version": 3,
    "created_at": "2026-12-06T11:27:38Z",
    "updated_at": "2026-12-06T11:27:38Z",
    "demo": True,
}

CONSENT = {
    "scope": "first name and need",
    "obtained_at": "2026-12-01T14:05:00Z",
    "method": "verbal",
}
REFERRAL_CREATE: dict[str, Any] = {
    "mentee_ref": "HP-1042",
    "service_id": SERVICE,
    "location_id": LOCATION,
    "needs": ["eating-disorders"],
    "priority": "routine",
    "contact_preference": "mentor-will-contact",
    "consent": CONSENT,
    "note": "Prefers evening groups",
}
REFERRAL_READ: dict[str, Any] = {
    **REFERRAL_CREATE,
    "id": REFERRAL,
    "status": "requested",
    "version": 1,
    "program_id": PROGRAM,
    "mentor_id": MENTOR,
    "consent": {**CONSENT, "expires_at": None},
    "outcome": None,
    "sub_status": None,
    "follow_up_at": "2026-12-08T14:10:00Z",
    "overdue": False,
    "stale": False,
    "last_event_at": "2026-12-01T14:10:00Z",
    "created_at": "2026-12-01T14:10:00Z",
    "updated_at": "2026-12-01T14:10:00Z",
    "history": [
        {
            "seq": 1,
            "type": "status",
            "at": "2026-12-01T14:10:00Z",
            "actor_id": MENTOR,
            "data": {"to": "requested"},
            "text": None,
        }
    ],
}
ERROR: dict[str, Any] = {
    "error": "ValidationError",
    "detail": "near: latitude must be -90..90 and longitude -180..180",
    "field": "near",
    "fields": [{"field": "near", "message": "latitude must be -90..90 and longitude -180..180"}],
}

EXAMPLES: dict[str, dict[str, Any]] = {  # by schema name
    "SearchResponse": SEARCH_RESPONSE,
    "ServiceRead": SERVICE_READ,
    "ReferralCreate": REFERRAL_CREATE,
    "ReferralRead": REFERRAL_READ,
    "Error": ERROR,
}
