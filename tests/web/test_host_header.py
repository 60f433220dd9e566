"""A Host header chosen by a client never becomes a redirect's target."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

from directory.api.redirects import RelativeRedirects, relative

HOSTILE = {"Host": "evil.example"}
# Starlette's own redirects: a trailing slash (API, pages, console) and the static mount.
PATHS = ["/v1/services/", "/v1/search/", "/search/", "/sign-in/", "/console/", "/static"]


@pytest.mark.parametrize("path", PATHS)
def test_a_hostile_host_is_not_reflected_into_a_redirect(client: TestClient, path: str) -> None:
    response = client.get(path, headers=HOSTILE, follow_redirects=False)
    assert 300 <= response.status_code < 400
    location = response.headers["location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert "evil" not in location


def test_the_middleware_makes_own_host_redirects_relative() -> None:
    async def slash(request: object) -> RedirectResponse:
        return RedirectResponse("http://evil.example/search?q=a", 307)

    async def away(request: object) -> RedirectResponse:
        return RedirectResponse("https://partner.example/x", 303)

    async def page(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/a", slash), Route("/b", away), Route("/c", page)])
    app.add_middleware(RelativeRedirects)
    with TestClient(app) as client:
        moved = client.get("/a", headers=HOSTILE, follow_redirects=False)
        assert moved.headers["location"] == "/search?q=a"
        elsewhere = client.get("/b", headers=HOSTILE, follow_redirects=False)
        assert elsewhere.headers["location"] == "https://partner.example/x"
        assert client.get("/c", headers=HOSTILE).text == "ok"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("http://evil.example/static/", "/static/"),
        ("https://EVIL.example", "/"),
        ("http://other.example/x", "http://other.example/x"),
        ("/sign-in?next=/search", "/sign-in?next=/search"),
        ("javascript:alert(1)", "javascript:alert(1)"),
    ],
)
def test_relative(location: str, expected: str) -> None:
    assert relative(location, "evil.example") == expected
