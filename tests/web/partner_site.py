"""A partner's web site for browser tests: another origin (another port of this machine), with
a strict Content-Security-Policy that lets scripts and connections come from our server only.

It serves the pages a test puts in ``pages`` (path to content type and body); a page embeds
the widget with ``widget_page``.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HTML = "text/html; charset=utf-8"
CSS = "text/css; charset=utf-8"


def strict_policy(ours: str) -> str:
    """No inline script or style, no eval; scripts and connections from ``ours`` only."""
    return (
        f"default-src 'none'; script-src {ours}; connect-src {ours}; style-src 'self';"
        " img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class PartnerSite:
    """A site on its own origin serving ``pages`` under ``policy`` (a CSP, if any)."""

    def __init__(self, policy: str | None = None) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        self.policy = policy
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = site.pages.get(self.path.split("?")[0])
                self.send_response(200 if found else 404)
                self.send_header("Content-Type", found[0] if found else HTML)
                if site.policy:
                    self.send_header("Content-Security-Policy", site.policy)
                self.end_headers()
                self.wfile.write(found[1] if found else b"not found")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, path: str, body: str, content_type: str = HTML) -> str:
        """Serve ``body`` at ``path``; its URL."""
        self.pages[path] = (content_type, body.encode())
        return self.origin + path


def widget_page(script: str, attributes: dict[str, str], *, lang: str = "en") -> str:
    """A partner page holding the widget's script and one element (no inline script or
    style: a stylesheet of the site's own, ``/partner.css``, when the site serves one)."""
    shown = " ".join(f'{name}="{html.escape(value)}"' for name, value in attributes.items())
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        "<title>A partner site</title>"
        '<link rel="stylesheet" href="/partner.css">'
        f'<script src="{html.escape(script)}" defer></script></head>'
        "<body><main><h1>Find help near you</h1>"
        f"<directory-search {shown}></directory-search></main></body></html>"
    )


@contextmanager
def partner_site(policy: str | None = None) -> Iterator[PartnerSite]:
    """A partner site, stopped afterwards."""
    site = PartnerSite(policy)
    site.page("/partner.css", "body { margin: 1rem; }", CSS)
    site.page("/favicon.ico", "", "image/x-icon")  # chromium asks; a 404 would be logged
    try:
        yield site
    finally:
        site.server.shutdown()
        site.server.server_close()
