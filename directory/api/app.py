"""The FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from directory import __version__
from directory.api import docs, errors, openapi
from directory.api.callers import close_limiter, make_limiter
from directory.api.cors import PartnerCors
from directory.api.headers import SecurityHeaders
from directory.api.limits import BodyLimit
from directory.api.metrics import install_metrics, unwatch_pool, watch_pool
from directory.api.redirects import RelativeRedirects
from directory.api.requestlog import RequestLog
from directory.api.routes import (
    curation,
    hsds,
    meta,
    programs,
    referrals,
    referrals_fhir,
    reports,
    search,
    services,
)
from directory.config import Settings, get_settings
from directory.db import database_url, make_engine, make_sessionmaker
from directory.replica import open_replica
from directory.search import service as search_service
from directory.search.backends import Backends
from directory.search.crisis_cache import CrisisCache
from directory.search.sync import Follower
from directory.web import pages
from directory.web.routes import console_imports

IMPORT_UPLOAD = "/console/imports"  # the console's upload: the import's own limit


log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    """Build the app; the engine is made in the lifespan unless a session factory is given."""
    settings = settings or get_settings()

    app = FastAPI(
        title="Peer-mentoring resource directory",
        version=__version__,
        description=docs.DESCRIPTION,
        lifespan=_lifespan(settings, session_factory),
        docs_url=None,  # our own pages (docs.install): no CDN, a strict policy
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,  # no OAuth2 flow: a token or a key is pasted
    )
    app.state.settings = settings
    app.state.replica = (
        None  # the read replica (replica.Replica), when one is set: see the lifespan
    )
    app.state.limiter = make_limiter(settings.shared_store or settings.rate_limit_storage)
    app.state.crisis_cache = CrisisCache.open(settings.shared_store)
    app.state.backends = Backends.from_settings(settings)
    app.add_middleware(PartnerCors)
    app.add_middleware(RelativeRedirects)  # never a redirect to the Host a request names
    app.add_middleware(
        BodyLimit,
        default=settings.max_body_bytes,
        # the upload's route refuses past import_max_bytes itself, on its page (it reads a
        # body declared too large to the end, up to DRAIN_MAX, so that browsers show it)
        own={IMPORT_UPLOAD: console_imports.DRAIN_MAX},
    )
    # outermost: the limit's 413 and the CORS answers carry the headers too
    app.add_middleware(SecurityHeaders, production=settings.env == "production")
    if session_factory is not None:
        app.state.sessionmaker = app.state.import_sessionmaker = session_factory
    errors.install(app, page=pages.error_page, is_page=pages.is_page)
    app.include_router(services.router)
    app.include_router(meta.router)
    app.include_router(search.router)
    app.include_router(referrals.router)
    app.include_router(reports.router)
    app.include_router(referrals_fhir.router)
    app.include_router(programs.router)
    app.include_router(curation.router)
    app.include_router(hsds.router)
    pages.install(app)
    openapi.install(app)  # the document says every status, in the one error shape
    docs.install(app)
    install_metrics(app, settings)
    # outermost: the request id is bound (and the time taken) before anything else runs
    app.add_middleware(RequestLog, access_log=settings.access_log)
    return app


def _lifespan(
    settings: Settings, session_factory: sessionmaker[Session] | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's start and end: its databases (unless a session factory is given), and at the
    end the shared store's connections closed too."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        close: Callable[[], None] | None = None
        if session_factory is not None:
            app.state.sessionmaker = app.state.import_sessionmaker = session_factory
        else:
            close = _open_databases(app, settings)
        try:
            yield
        finally:
            if close is not None:
                close()
            app.state.crisis_cache.close()
            close_limiter(app.state.limiter)

    return lifespan


def _open_databases(app: FastAPI, settings: Settings) -> Callable[[], None]:
    """The engines (the API's, the read replica's, the imports') and the index follower, put in
    the app's state; returns what stops and closes them."""
    imports = import_engine(settings)
    app.state.import_sessionmaker = make_sessionmaker(imports)
    engine = make_engine(
        database_url(settings),
        pre_ping=False,
        timeouts=settings.api_timeouts,
        pool_size=10,
        pool_timeout=settings.db_pool_timeout,
    )
    event.listen(engine, "connect", search_service.prepare_connection)
    watch_pool(engine)  # the pool gauges of /metrics
    search_service.warm_up()
    for danger in settings.dangers():  # said once per process, where operators look
        log.warning("unsafe setting: %s", danger)
    app.state.sessionmaker = make_sessionmaker(engine)
    # a replica's busy pool sends the read to the primary at once rather than wait
    app.state.replica = replica = open_replica(settings, pool_size=10, pool_timeout=0.1)
    if replica is not None:
        event.listen(replica.engine, "connect", search_service.prepare_connection)
    meta.rehearse_probe(app.state.sessionmaker)  # the first probe is answered in time
    app.state.backends.prepare()
    follower = Follower(
        app.state.sessionmaker, backends=app.state.backends, interval=settings.index_sync_interval
    )
    if settings.index_sync_interval > 0:
        follower.start()

    def close() -> None:
        if settings.index_sync_interval > 0:
            follower.stop()
        unwatch_pool(engine)
        engine.dispose()
        if replica is not None:
            replica.engine.dispose()
        imports.dispose()

    return close


def import_engine(settings: Settings) -> Engine:
    """The console's imports' own engine, with the command line's timeouts: an import runs for
    minutes (its lock holder idles while the file is checked), which the API's timeouts, kept
    short so that a frozen database costs a request seconds rather than a minute, would cut."""
    return make_engine(
        database_url(settings),
        pre_ping=True,
        timeouts=settings.cli_timeouts,
        pool_size=2,
        max_overflow=2,
    )
