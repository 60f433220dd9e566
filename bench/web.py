"""The mentor web app: search page server time, and the bytes a first visit transfers.

On the search benchmark's database (its set-up exactly: BENCH_LISTINGS generated listings,
default 100,000, imported once and reused when DIRECTORY_DATABASE_URL already holds them),
`directory serve` with BENCH_WORKERS processes (default 1 here) on 127.0.0.1, and a signed-in
mentor (invitation accepted, a browser session as the `dir_session` cookie):
  1. the search benchmark's query mix, one client, one request at a time over keep-alive:
     GET /search (the full page, gzip accepted as a browser does) and GET /v1/search (the API,
     same fields, same page size) for each query; p50 / p95 / max of the wall time at the
     client, and the page's extra time over the API for the same query. Target: page p95 under
     50 ms.
  2. a first visit, compressed: /sign-in (anonymous) and, signed in, a search with results,
     each with every stylesheet and script they link, once; body bytes on the wire per
     resource and in total (target: under 100 KB), and any static file not served gzipped.
Traffic goes to 127.0.0.1 only. Not a test.
"""

from __future__ import annotations

import gzip
import os
import re
import secrets
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search as search_bench
from database import with_database
from serving import KeepAlive, api_server, percentiles

from directory.accounts import invites, sessions
from directory.db import make_engine, make_sessionmaker
from directory.web.deps import ANON_COOKIE, SESSION_COOKIE

PER_PAGE = 10  # the search page's page size; the API is asked for the same
FIRST_VISIT_SEARCH = "/search?q=anxiety&postcode=33602"  # Tampa: the generated data has some
BROWSER = {"Accept-Encoding": "gzip", "Accept-Language": "en-US,en;q=0.9"}
summary: list[str] = []


class Client(KeepAlive):
    """The benchmarks' keep-alive client, with GET and the raw (still compressed) body."""

    def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self._connection.request("GET", path, headers={**self._headers, **headers})
        response = self._connection.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def run(url: str) -> None:
    """The search benchmark's set-up (migrate, seed, generate and import the listings when the
    database does not hold them yet, index sync, an API user), then this benchmark's
    measurements in place of its own: ``search.run`` calls ``in_process`` then ``over_http``."""
    search_bench.in_process = lambda factory, mix: None
    search_bench.over_http = measure
    search_bench.run(url)


def measure(env: dict[str, str], token: str, mix: list[dict[str, Any]]) -> None:
    cookie = f"{SESSION_COOKIE}={mentor_session(env['DIRECTORY_DATABASE_URL'])}"
    cookie += f"; {ANON_COOKIE}={secrets.token_urlsafe(24)}"  # from the sign-in page, in a browser
    with api_server(env) as base:
        page_times(base, cookie, token, mix)
        first_visit(base, cookie)
    print("\n--- summary ---")
    print("\n".join(summary))


def mentor_session(url: str) -> str:
    """A mentor who accepted an invitation, signed in: the session cookie's value."""
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session, session.begin():
        email = f"web-bench-{time.time_ns()}@example.org"
        _, link = invites.invite(session, email=email, role="mentor")
        user = invites.accept(session, link, secrets.token_urlsafe(18))
        if user is None:
            raise SystemExit("the invitation was not accepted")
        token = sessions.start(session, user)
    engine.dispose()
    return token


def query_string(fields: dict[str, Any]) -> str:
    """A search's fields as the page's (and GET /v1/search's) query string."""
    pairs: list[tuple[str, str]] = []
    for key, value in fields.items():
        if key == "near":
            pairs.append((key, f"{value[0]:.5f},{value[1]:.5f}"))
        elif isinstance(value, list):
            pairs += [(key, str(v)) for v in value]
        elif isinstance(value, bool):
            pairs.append((key, "true" if value else "false"))
        else:
            pairs.append((key, str(value)))
    return urlencode([*pairs, ("per_page", str(PER_PAGE))])


def page_times(base: str, cookie: str, api_token: str, mix: list[dict[str, Any]]) -> None:
    page = Client(base, {**BROWSER, "Cookie": cookie})
    api = Client(base, {"Authorization": f"Bearer {api_token}"})
    paths = [query_string(fields) for fields in mix]
    page_ms: list[float] = []
    api_ms: list[float] = []
    page_bytes: list[int] = []
    for measured in (False, True):  # the first round warms the caches, as bench/search.py
        for query in paths:  # interleaved, so both see the same state of the machine
            took, body = _timed(page, "/search?" + query)
            api_took, _ = _timed(api, "/v1/search?" + query)
            if measured:
                page_ms.append(took)
                api_ms.append(api_took)
                page_bytes.append(len(body))
    page.close()
    api.close()
    extra = [p - a for p, a in zip(page_ms, api_ms, strict=True)]
    kinds = {
        "keyword": sum("q" in f for f in mix),
        "need only": sum("need" in f and "q" not in f for f in mix),
        "language=es": sum("language" in f for f in mix),
    }
    print(
        f"\n{len(mix)} searches (every one near a place; "
        + ", ".join(f"{k} {v}" for k, v in kinds.items())
        + f"), {PER_PAGE} results a page, one client, keep-alive, after one warm-up round:"
    )
    lines = [
        f"GET /search (page, gzip):  {_stats(page_ms)}",
        f"GET /v1/search (API):      {_stats(api_ms)}",
        f"page minus API, per query: {_stats(extra)}",
        f"page size gzipped: mean {sum(page_bytes) / len(page_bytes) / 1024:.1f} KB",
    ]
    print("\n".join(lines))
    summary.append("Search page server time (target p95 < 50 ms):")
    summary.extend("  " + line for line in lines)


def _timed(client: Client, path: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    status, _, body = client.get(path, {})
    took = (time.perf_counter() - started) * 1000
    if status != 200:
        raise SystemExit(f"GET {path} answered {status}: {body[:200]!r}")
    return took, body


def _stats(samples: list[float]) -> str:
    return f"{percentiles(samples)}, max {max(samples):.1f} ms"


class Assets(HTMLParser):
    """The stylesheets and scripts a page links."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "link" and "stylesheet" in (given.get("rel") or "").split() and given.get("href"):
            self.found.append(given["href"] or "")
        elif tag == "script" and given.get("src"):
            self.found.append(given["src"] or "")


def first_visit(base: str, cookie: str) -> None:
    """Each page and each file it links, once (a browser caches them), gzip accepted."""
    print(f"\nFirst visit, gzip accepted (body bytes on the wire; {FIRST_VISIT_SEARCH}):")
    rows: list[tuple[str, int, int, str]] = []
    assets: list[str] = []
    anonymous = Client(base, BROWSER)
    signed_in = Client(base, {**BROWSER, "Cookie": cookie})
    for client, path in ((anonymous, "/sign-in"), (signed_in, FIRST_VISIT_SEARCH)):
        status, headers, body = client.get(path, {})
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}")
        html = _plain(headers, body).decode()
        rows.append((path, len(body), len(html.encode()), headers.get("content-encoding", "")))
        parser = Assets()
        parser.feed(html)
        assets += [a for a in parser.found if a not in assets]
        found = re.search(r'class="count">([^<]*)<', html)
        if path == FIRST_VISIT_SEARCH:
            print(f"  (the search page says: {found.group(1) if found else 'no result count'})")
    not_gzipped: list[str] = []
    for asset in assets:
        status, headers, body = anonymous.get(asset, {})
        if status != 200:
            raise SystemExit(f"GET {asset} answered {status}")
        encoding = headers.get("content-encoding", "")
        rows.append((asset, len(body), len(_plain(headers, body)), encoding))
        if encoding != "gzip":
            not_gzipped.append(asset)
    anonymous.close()
    signed_in.close()
    for path, wire, plain, encoding in rows:
        label = encoding or "NOT COMPRESSED"
        print(f"  {wire / 1024:7.1f} KB  ({plain / 1024:6.1f} KB plain, {label:>14})  {path}")
    total = sum(wire for _, wire, _, _ in rows)
    plain_total = sum(plain for _, _, plain, _ in rows)
    print(f"  {total / 1024:7.1f} KB  ({plain_total / 1024:6.1f} KB plain)  total, target < 100 KB")
    summary.append(
        f"First visit (/sign-in, then {FIRST_VISIT_SEARCH} signed in, and the"
        f" {len(assets)} stylesheets/scripts they link, once each): {total / 1024:.1f} KB"
        f" gzipped on the wire ({plain_total / 1024:.1f} KB uncompressed), target < 100 KB"
    )
    if not_gzipped:
        summary.append("  NOT served gzipped: " + ", ".join(not_gzipped))
    else:
        summary.append("  every page and static file was served gzipped")


def _plain(headers: dict[str, str], body: bytes) -> bytes:
    return gzip.decompress(body) if headers.get("content-encoding") == "gzip" else body


def main() -> None:
    os.environ.setdefault("BENCH_WORKERS", "1")  # one client at a time: one process is enough
    with_database(run, port=55437)


if __name__ == "__main__":
    main()
