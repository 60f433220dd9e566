"""Rendering pages: one Jinja2 environment per language, and what every page knows."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from directory.accounts.roles import can
from directory.listings.staleness import freshness
from directory.listings.vocabularies import language as iso_language
from directory.web import i18n, present, vocab

STATIC_DIR = Path(__file__).parent / "static"
# Signed-in pages hold what mentors work on: no cache keeps them, and no other site frames
# them. Scripts and styles only from our own files (no inline script: a strict policy).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
}


@lru_cache
def static_version(name: str) -> str:
    """A short hash of a static file's content, for URLs that can be cached for a year."""
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]


def static_url(name: str) -> str:
    return f"/static/{name}?v={static_version(name)}"


@lru_cache
def environment(lang: str, zone: str = "UTC") -> Environment:
    """The templates with a language's catalogue installed; times shown in ``zone`` (the
    program's)."""
    env = Environment(
        loader=PackageLoader("directory.web", "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    names = lambda code: _language_name(code, lang)  # noqa: E731
    env.globals.update(
        static_url=static_url,
        lang=lang,
        languages=i18n.NAMES,
        present=present,
        vocab=vocab,
        language_name=names,
        can=can,
        freshness=freshness,
    )
    env.filters.update(
        language_name=names,
        date=lambda value, fmt="medium": _date(value, lang, fmt, zone),
        datetime=lambda value: _datetime(value, lang, zone),
        days=lambda text: day_words(text, lang),
        km=lambda value: format_decimal(round(value, 1), locale=i18n.locale(lang)),
    )
    return env


@lru_cache(maxsize=2048)
def _language_name(code: str, lang: str) -> str:
    """A language's name in the page's language (ISO 639 code; ``ase``: American Sign)."""
    names = i18n.locale(lang).languages
    canonical = code.replace("-", "_")
    if canonical in names:
        return str(names[canonical]).capitalize()
    try:
        return iso_language(code)[1]
    except ValueError:
        return code


def _date(value: dt.date | dt.datetime | None, lang: str, fmt: str, zone: str) -> str:
    """A day (a time: its day in the program's time zone)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zone)).date()
    return format_date(value, format=fmt, locale=i18n.locale(lang))


def _datetime(value: dt.datetime | None, lang: str, zone: str) -> str:
    if value is None:
        return ""
    return format_datetime(value, format="medium", tzinfo=ZoneInfo(zone), locale=i18n.locale(lang))


DAY_CODES = re.compile(r"\b(MO|TU|WE|TH|FR|SA|SU)\b(,?)")


def day_words(text: str | None, lang: str) -> str:
    """Hours written with RRULE day codes ("MO,TU 09:00-17:00") in words of the language."""
    if not text:
        return ""
    names = i18n.translations(lang)
    return DAY_CODES.sub(
        lambda found: names.gettext(vocab.DAYS[found.group(1)]) + (", " if found.group(2) else ""),
        text,
    )


def gettext(request: Request, message: str) -> str:
    """A message in the request's language (for text made in Python)."""
    return i18n.translations(request.state.lang).gettext(message)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    """A page in the request's language, with the signed-in user and the form token."""
    lang: str = request.state.lang
    page = environment(lang, request.app.state.settings.time_zone).get_template(template)
    values = {
        "request": request,
        "user": getattr(request.state, "user", None),
        "csrf": request.state.csrf,
        "path": request.url.path,
        "here": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        **(context or {}),
    }
    response = HTMLResponse(page.render(values), status_code=status, headers=SECURITY_HEADERS)
    for name, value in getattr(request.state, "set_cookies", {}).items():
        response.set_cookie(name, value, **request.state.cookie_options)
    return response
