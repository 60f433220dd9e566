"""English and Spanish: every message of the pages is in the Spanish catalogue, and the
language is chosen, switched and remembered."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

import directory.web
from directory.web.i18n import LANG_COOKIE, choose

WEB = Path(directory.web.__file__).parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> set[str]:
    with (WEB / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {"_": None, "gettext": (2,), "ngettext": (1, 2), "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_of_the_pages_is_translated() -> None:
    with (WEB / "locale" / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    extracted = _extracted()
    assert len(extracted) > 250  # the extraction found the templates and the vocabularies
    missing = sorted(m for m in extracted if m not in catalog or not catalog[m].string)
    assert missing == [], "run pybabel extract/update (see directory/web/babel.cfg)"
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= wanted | set(PLACEHOLDER.findall(ids[0]))
            assert text.count("%") == len(PLACEHOLDER.findall(text)), text
    assert not list(catalog.check())


def test_the_language_is_chosen_from_the_switch_then_the_browser() -> None:
    assert choose("es", "en-US,en") == "es"
    assert choose(None, "es-MX,es;q=0.9,en;q=0.5") == "es"
    assert choose(None, "fr-FR,fr") == "en"
    assert choose("xx", None) == "en"


def test_the_switch_is_remembered(client: TestClient) -> None:
    english = client.get("/sign-in")
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    switched = client.get("/language/es?next=/sign-in", follow_redirects=False)
    assert switched.headers["location"] == "/sign-in"
    assert f"{LANG_COOKIE}=es" in switched.headers["set-cookie"]
    spanish = client.get("/sign-in")
    assert '<html lang="es">' in spanish.text
    assert "Iniciar sesión" in spanish.text
    assert 'hreflang="en"' in spanish.text  # the way back
    crisis = client.get("/crisis")
    assert "Líneas de crisis" in crisis.text
    elsewhere = client.get("/language/es?next=https://evil.example", follow_redirects=False)
    assert elsewhere.headers["location"] == "/search"
