"""The mentor app's pages through HTTP (no browser): search, listing, refer, follow up."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from directory.accounts.models import AuditEntry, Program
from directory.curation.models import ProblemReport
from directory.listings.schemas import ServiceCreate
from directory.listings.service import create_service
from directory.referrals.models import Referral
from directory.web.i18n import LANG_COOKIE
from directory.web.templating import day_words
from tests.conftest import bearer
from tests.web.webutil import PASSWORD, csrf, invite, post_form, sign_up

LISTING = re.compile(r'href="/listings/([0-9a-f-]{36})"')


def _first_listing(client: TestClient, query: str = "q=anxiety&postcode=33602") -> str:
    page = client.get(f"/search?{query}")
    assert page.status_code == 200
    found = LISTING.findall(page.text)
    assert found, "no result"
    return found[0]


def _refer(client: TestClient, service_id: str, **fields: object) -> object:
    form = client.get(f"/listings/{service_id}/refer")
    idem = re.search(r'name="idem" value="([^"]+)"', form.text)
    assert idem
    data = {
        "csrf": csrf(form),
        "idem": idem.group(1),
        "mentee_ref": "HP-1042",
        "priority": "routine",
        "contact_preference": "mentee-will-contact",
        "consent_scope": "Referral and follow-up",
        "consent_method": "verbal",
        "follow_up": (dt.date.today() + dt.timedelta(days=2)).isoformat(),
        **fields,
    }
    return client.post(f"/listings/{service_id}/refer", data=data, follow_redirects=False)


def test_search_shows_cards_like_the_api(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    page = client.get("/search?q=anxiety&postcode=33602")
    api = client.get(
        "/v1/search?q=anxiety&postcode=33602&per_page=10", headers=bearer(session, "mentor")
    ).json()
    assert api["total"] > 0
    assert f"{api['total']} services found" in page.text or "1 service found" in page.text
    first = api["items"][0]
    assert html.escape(first["name"]) in page.text
    assert 'href="tel:' in page.text
    assert "km away" in page.text
    assert 'class="badge demo"' in page.text
    assert any(item["costs"] for item in api["items"])
    assert '<span class="label">Cost:</span>' in page.text  # the Tampa results are the demo region
    assert "Directions" in page.text and "google.com/maps/dir" in page.text
    assert f"/listings/{first['service_id']}/refer" in page.text
    assert "crisis-title" not in page.text  # no crisis banner for anxiety


def test_a_crisis_search_puts_988_first_and_never_a_demo_line(
    client: TestClient, session: Session
) -> None:
    sign_up(client, session)
    page = client.get("/search?q=quiero+morir&postcode=33602")
    banner = page.text.split('id="crisis-title"')[1].split("</section>")[0]
    assert page.text.index('id="crisis-title"') < page.text.index('class="cards"')
    first_call = re.search(r'href="(tel:[^"]+)"', banner)
    assert first_call and first_call.group(1) == "tel:988"
    assert "(demo)" not in banner and "555" not in banner
    assert 'href="/crisis"' in page.text  # the link on every page


def test_bad_search_input_is_shown_not_a_json_error(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    page = client.get("/search?q=help&postcode=abc")
    assert page.status_code == 200
    assert "A ZIP code has 5 digits." in page.text
    assert 'aria-invalid="true"' in page.text


def test_the_htmx_search_answers_only_the_results(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    partial = client.get("/search?q=anxiety&postcode=33602", headers={"HX-Request": "true"})
    assert "<html" not in partial.text and 'class="cards"' in partial.text


def test_a_listing_page_and_its_share_page(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    page = client.get(f"/listings/{service_id}")
    assert page.status_code == 200
    assert "Share with mentee" in page.text and "Refer" in page.text
    assert "Open now" in page.text or "Closed now" in page.text or "Hours not known" in page.text
    assert "America/New_York" in page.text or "Hours not known" in page.text
    share = client.get(f"/listings/{service_id}/share")
    assert 'href="sms:?&amp;body=' in share.text
    assert "HP-" not in share.text


def test_a_crisis_lines_listing_page_lets_a_mentor_reach_it_now(
    client: TestClient, session: Session
) -> None:
    sign_up(client, session)
    document = {
        "name": "Quokkaheron Youth Line",
        "organization": {"name": "Quokkaheron Health"},
        "curation_status": "published",
        "maximum_age": 24,
        "needs": ["crisis"],
        "crisis_channels": [
            {"channel": "text", "number": "813-555-0199", "country": "US", "keyword": "HOLA"},
            {"channel": "chat", "url": "https://quokkaheron.example.org/chat", "hours": "24/7"},
        ],
        "phones": [
            {"number": "813-555-0150", "type": "text"},
            {"number": "813-555-0151", "type": "video"},
            {"number": "813-555-0152", "type": "cell"},
            {"number": "813-555-0153", "type": "fax"},
        ],
        "provenance": {"source": "test-pages", "external_id": f"line-{uuid.uuid4().hex[:6]}"},
    }
    service_id = create_service(session, ServiceCreate.model_validate(document))
    session.commit()
    for lang, words in (
        ("en", ("Reach them now", "Up to age 24")),
        ("es", ("Contáctalos ahora", "Hasta los 24 años")),
    ):
        client.cookies.set(LANG_COOKIE, lang)
        text = html.unescape(client.get(f"/listings/{service_id}").text)
        for seen in (
            *words,
            'href="sms:+18135550199?&body=HOLA"',
            'href="https://quokkaheron.example.org/chat"',
            "24/7",
        ):
            assert seen in text, (lang, seen)
    client.cookies.delete(LANG_COOKIE)
    # each number does what it is for: a text line is texted (not called), a videophone says so
    assert 'href="sms:+18135550150"' in text and 'href="tel:+18135550150"' not in text
    assert "Videoteléfono (813) 555-0151" in text
    assert 'href="tel:+18135550152"' in text and 'href="sms:+18135550152"' in text
    assert "555-0153" not in text  # a fax


def test_a_referral_from_form_to_connected(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    made = _refer(client, service_id, note="Prefers mornings")
    assert made.status_code == 303, made.text
    location = made.headers["location"]
    assert "HP-1042" not in location  # a mentee code never travels in a URL
    page = client.get(location)
    assert "Referral sent" in page.text and "HP-1042" in page.text
    assert "Prefers mornings" in page.text
    referral_id = location.split("/")[2].split("?")[0]
    path = f"/referrals/{referral_id}"

    def event(**data: object) -> None:
        current = client.get(path)
        version = re.search(r'name="version" value="(\d+)"', current.text)
        assert version
        answer = client.post(
            f"{path}/events",
            data={"csrf": csrf(current), "version": version.group(1), **data},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text

    event(type="contact-attempt", channel="phone", result="reached")
    event(type="status", to="accepted")
    event(type="status", to="completed", outcome="got-help")
    done = client.get(path)
    assert "Connected" in done.text and "Got help" in done.text
    assert "Log a contact attempt" not in done.text  # a closed referral takes no more steps
    stored = session.scalars(select(Referral).where(Referral.id == uuid.UUID(referral_id))).one()
    assert (stored.status, stored.outcome, stored.mentee_ref) == (
        "completed",
        "got-help",
        "HP-1042",
    )


def test_a_stale_page_is_told_what_changed(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    made = _refer(client, _first_listing(client))
    path = made.headers["location"].split("?")[0]  # type: ignore[attr-defined]
    old = client.get(path)
    token = csrf(old)
    first = client.post(
        f"{path}/events", data={"csrf": token, "version": "1", "type": "status", "to": "accepted"}
    )
    assert first.status_code == 200  # followed to the page
    again = client.post(
        f"{path}/events",
        data={"csrf": token, "version": "1", "type": "status", "to": "cancelled", "reason": "x"},
    )
    assert again.status_code == 409
    assert "This referral changed since you opened it." in again.text
    assert "Accepted" in again.text


def test_a_refused_move_says_why(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    made = _refer(client, _first_listing(client))
    path = made.headers["location"].split("?")[0]  # type: ignore[attr-defined]
    page = client.get(path)
    refused = client.post(
        f"{path}/events",
        data={"csrf": csrf(page), "version": "1", "type": "status", "to": "failed"},
    )
    assert refused.status_code == 422
    assert "That step is not possible for this referral now." in refused.text
    client.post(
        f"{path}/events",
        data={"csrf": csrf(page), "version": "1", "type": "status", "to": "accepted"},
    )
    spanish = client.get("/language/es?next=" + path)
    early = client.post(
        f"{path}/events",
        data={
            "csrf": csrf(spanish),
            "version": "2",
            "type": "status",
            "to": "failed",
            "outcome": "could-not-contact",
            "reason": "no answer",
        },
    )
    assert early.status_code == 422
    assert "Registra al menos 3 intentos de contacto" in early.text


def test_the_refer_form_explains_a_bad_mentee_code(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    name = _refer(client, service_id, mentee_ref="Johnny Smith")
    assert name.status_code == 422  # type: ignore[attr-defined]
    assert "no spaces" in name.text  # type: ignore[attr-defined]
    session.execute(
        update(Program).where(Program.name == "Page tests").values(mentee_ref_pattern="HP-[0-9]{4}")
    )
    session.commit()
    shape = _refer(client, service_id, mentee_ref="AB-12")
    assert shape.status_code == 422  # type: ignore[attr-defined]
    assert "HP-[0-9]{4}" in shape.text  # type: ignore[attr-defined]
    assert 'value="AB-12"' in shape.text  # what was typed stays  # type: ignore[attr-defined]


def test_coordinators_cannot_refer_and_mentors_cannot_review(
    client: TestClient, session: Session
) -> None:
    sign_up(client, session, role="coordinator")
    service_id = _first_listing(client)
    assert client.get(f"/listings/{service_id}/refer").status_code == 403
    assert client.get("/console/queue").status_code == 200
    client.cookies.clear()
    sign_up(client, session)
    assert client.get("/console/queue").status_code == 403


def test_problem_reports_are_stored_and_listed(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    empty = post_form(client, f"/listings/{service_id}/report", {"kind": "other", "detail": " "})
    assert empty.status_code == 422 and "say what is wrong" in empty.text
    sent = post_form(
        client, f"/listings/{service_id}/report", {"kind": "wrong-number", "detail": "Disconnected"}
    )
    assert sent.status_code == 200 and "is with the coordinators" in sent.text
    stored = session.scalars(
        select(ProblemReport).where(ProblemReport.service_id == uuid.UUID(service_id))
    ).one()
    assert (stored.kind, stored.detail, stored.status) == ("wrong-number", "Disconnected", "open")
    client.cookies.clear()
    sign_up(client, session, role="coordinator")
    review = client.get("/console/queue")
    assert "Disconnected" in review.text and "Wrong phone number" in review.text


def test_my_list(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    saved = post_form(
        client, f"/listings/{service_id}/save", {}, form_page=f"/listings/{service_id}"
    )
    assert saved.status_code == 303
    assert service_id in client.get("/my-list").text
    assert "In my list" in client.get("/search?q=anxiety&postcode=33602").text
    assert f"/listings/{service_id}" in client.get("/search").text  # first, before any search
    post_form(
        client, f"/listings/{service_id}/save", {"remove": "1"}, form_page=f"/listings/{service_id}"
    )
    assert service_id not in client.get("/my-list").text


def test_follow_ups_put_the_overdue_first(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    for code in ("HP-2001", "HP-2002"):
        assert _refer(client, service_id, mentee_ref=code).status_code == 303  # type: ignore[attr-defined]
    session.execute(
        update(Referral)
        .where(Referral.mentee_ref == "HP-2002")
        .values(follow_up_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    )
    session.commit()
    page = client.get("/follow-ups").text
    assert page.index("HP-2002") < page.index("HP-2001")
    assert "Follow-up overdue" in page
    assert "HP-2001" in client.get("/referrals").text


def test_a_history_restore_gets_the_whole_page(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    back = client.get(
        "/search?q=anxiety&postcode=33602",
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in back.text and 'class="search"' in back.text
    assert "HX-Request" in back.headers["vary"]


def test_problem_reports_stay_in_their_program(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    post_form(client, f"/listings/{service_id}/report", {"kind": "closed", "detail": "Shut"})
    client.cookies.clear()
    _, token = invite(session, role="coordinator", program="Another program")
    page = client.get(f"/welcome/{token}")
    client.post("/welcome", data={"csrf": csrf(page), "password": PASSWORD, "confirm": PASSWORD})
    assert "Shut" not in client.get("/console/queue").text
    client.cookies.clear()
    sign_up(client, session, role="admin")
    assert "Shut" in client.get("/console/queue").text


def _form_values(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(idem|consent_at)" value="([^"]*)"', page))


def test_a_form_sent_twice_makes_one_referral(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    form = client.get(f"/listings/{service_id}/refer")
    data = {
        "csrf": csrf(form),
        **_form_values(form.text),
        "mentee_ref": "HP-3003",
        "priority": "routine",
        "contact_preference": "mentee-will-contact",
        "consent_scope": "Referral",
        "consent_method": "verbal",
        "follow_up": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
    }
    first = client.post(f"/listings/{service_id}/refer", data=data, follow_redirects=False)
    again = client.post(f"/listings/{service_id}/refer", data=data, follow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert first.headers["location"].split("?")[0] == again.headers["location"].split("?")[0]
    changed = client.post(
        f"/listings/{service_id}/refer", data={**data, "note": "later"}, follow_redirects=False
    )
    assert changed.headers["location"].endswith("?already=1")
    assert "sent already" in client.get(changed.headers["location"]).text
    count = session.scalar(
        select(func.count()).select_from(Referral).where(Referral.mentee_ref == "HP-3003")
    )
    assert count == 1


def test_form_errors_sit_by_their_fields(client: TestClient, session: Session) -> None:
    sign_up(client, session)
    service_id = _first_listing(client)
    past = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    page = _refer(client, service_id, follow_up=past, consent_expires="nonsense", priority="x")
    text = page.text  # type: ignore[attr-defined]
    assert page.status_code == 422  # type: ignore[attr-defined]
    for field in ("follow_up", "consent_expires", "priority"):
        assert f'href="#{field}"' in text and f'id="{field}-error"' in text
    assert 'id="follow_up"' in text and 'id="consent_expires"' in text
    assert "Choose one of the options." in text and "Not a valid date." in text


def test_a_follow_up_date_is_the_end_of_that_day_in_the_programs_zone(
    client: TestClient, session: Session
) -> None:
    sign_up(client, session)
    day = dt.date.today() + dt.timedelta(days=5)
    made = _refer(client, _first_listing(client), follow_up=day.isoformat())
    path = made.headers["location"].split("?")[0]  # type: ignore[attr-defined]
    stored = session.scalars(
        select(Referral.follow_up_at).where(Referral.id == uuid.UUID(path.split("/")[2]))
    ).one()
    local = stored.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour) == (day, 17)
    page = client.get(path)
    later = day + dt.timedelta(days=2)
    client.post(
        f"{path}/events",
        data={
            "csrf": csrf(page),
            "version": "1",
            "type": "follow-up",
            "next_at": later.isoformat(),
        },
    )
    moved = session.scalars(
        select(Referral.follow_up_at).where(Referral.id == uuid.UUID(path.split("/")[2]))
    ).one()
    local = moved.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour) == (later, 17)


def test_another_mentors_referral_is_not_found_and_audited_once(
    client: TestClient, session: Session
) -> None:
    sign_up(client, session)
    made = _refer(client, _first_listing(client))
    path = made.headers["location"].split("?")[0]  # type: ignore[attr-defined]
    client.cookies.clear()
    sign_up(client, session)
    page = client.get("/account")
    refused = client.post(
        f"{path}/events", data={"csrf": csrf(page), "version": "1", "type": "note", "text": "x"}
    )
    assert refused.status_code == 404
    denied = session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(
            AuditEntry.action == "referral.denied",
            AuditEntry.referral_id == uuid.UUID(path.split("/")[2]),
        )
    )
    assert denied == 1


def test_hours_in_day_codes_read_as_words() -> None:
    assert day_words("MO,TU 09:00-17:00; SA 10:00-12:00", "en") == (
        "Monday, Tuesday 09:00-17:00; Saturday 10:00-12:00"
    )
    assert day_words("MO 09:00-17:00", "es").startswith("Lunes")


def test_a_follow_up_years_ahead_is_refused_in_the_pages_language(
    client: TestClient, session: Session
) -> None:
    """The referral service's date window reaches the refer form as a message of the form's
    own, in Spanish too (the service's message names a field and a number of days)."""
    from pydantic import TypeAdapter, ValidationError

    from directory.referrals.schemas import ReferralCreate
    from directory.web.forms import field_errors
    from directory.web.i18n import translations

    try:
        TypeAdapter(ReferralCreate).validate_python(
            {"mentee_ref": "HP-1042", "service_id": "00000000-0000-0000-0000-000000000001",
             "needs": ["anxiety"], "contact_preference": "mentee-will-contact",
             "consent": {"scope": "share my need", "method": "verbal",
                         "obtained_at": "2026-12-01T10:00:00Z"},
             "follow_up_at": "9999-01-01T17:00:00Z"}
        )  # fmt: skip
    except ValidationError as error:
        spanish = field_errors(error, translations("es").gettext)
    assert spanish["follow_up"] == "Esta fecha está demasiado lejos: revisa el año."
