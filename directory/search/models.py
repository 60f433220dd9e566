"""The postgres backend's index: one row per searchable document, what its result shows, and
the vocabulary for typos.

What a result shows (``search_result.body``, about 1.1 KB compressed) is a table of its own, one
row per document: a search reads every matching document (thousands for a broad word near a
city) but shows only a page of them, and with the body in ``search_document`` each match read
twice the bytes, the body or the tsvector in TOAST. Without it, the rows a search tests are
about half as wide (100,000 listings, "counseling" near New York: 50 to 40 ms, see README).

The index is derived data: ``directory index rebuild`` can drop and rebuild it from the listings
at any time. Rows are written by the outbox sync, never by the API's writes directly.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, INT4MULTIRANGE, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from directory.db import Base


class SearchDocument(Base):
    """A service at one site (``kind='site'``, with a point), or a service reached remotely
    (``kind='area'``: crisis lines, telehealth) with the regions it serves."""

    __tablename__ = "search_document"
    __table_args__ = (
        CheckConstraint("kind IN ('site', 'area')", name="kind"),
        Index("ix_search_document_tsv", "tsv", postgresql_using="gin"),
        Index("ix_search_document_point", "point", postgresql_using="gist"),
        Index("ix_search_document_needs", "needs", postgresql_using="gin"),
        Index("ix_search_document_languages", "languages", postgresql_using="gin"),
        Index("ix_search_document_accessibility", "accessibility", postgresql_using="gin"),
        Index("ix_search_document_costs", "costs", postgresql_using="gin"),
        Index("ix_search_document_regions", "regions", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # service_at_location or service id
    service_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column()
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(Text)
    needs: Mapped[list[str]] = mapped_column(ARRAY(Text))  # with every ancestor of each need
    languages: Mapped[list[str]] = mapped_column(ARRAY(Text))
    accessibility: Mapped[list[str]] = mapped_column(ARRAY(Text))
    costs: Mapped[list[str]] = mapped_column(ARRAY(Text))
    regions: Mapped[list[str]] = mapped_column(ARRAY(Text))  # ISO 3166 codes served (area)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    point: Mapped[Any] = mapped_column(
        Geography("POINT", srid=4326, spatial_index=False), nullable=True
    )
    # Minutes of the local week (Monday 00:00 = 0) when open; NULL when the hours are unknown.
    open_minutes: Mapped[Any] = mapped_column(INT4MULTIRANGE, nullable=True)
    timezone: Mapped[str | None] = mapped_column(Text)
    capacity_status: Mapped[str | None] = mapped_column(Text)  # NULL: never asked
    last_verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    tsv: Mapped[Any] = mapped_column(TSVECTOR)
    indexed_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class SearchResult(Base):
    """What a document's result shows (name, address, phones, hours, ...), read for the page's
    results only: see the module's docstring."""

    __tablename__ = "search_result"

    id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("search_document.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)


class SearchWord(Base):
    """Every word of the index once: the vocabulary a misspelt query word is corrected against."""

    __tablename__ = "search_word"
    __table_args__ = (
        Index(
            "ix_search_word_trigrams",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ),
    )

    word: Mapped[str] = mapped_column(String(64), primary_key=True)


class UnmetSearch(Base):
    """Searches that found nothing, counted by day, the need asked for (named in the words or
    chosen; "-" for none) and the area (a US state, else a country; "-" when no place was
    given). Never the words typed: this is for seeing gaps in the directory, not searchers."""

    __tablename__ = "unmet_search"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    need: Mapped[str] = mapped_column(String(64), primary_key=True)
    area: Mapped[str] = mapped_column(String(16), primary_key=True)
    searches: Mapped[int] = mapped_column(Integer)
