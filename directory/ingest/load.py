"""Load a file: read, normalise, validate, merge and upsert, in one transaction, with a report.

Writes are batched: new listings are queued as rows and written with COPY; changed and merged
listings are rewritten in bulk from their composed documents at each batch boundary (after the
COPY, so a listing created and merged into within one batch is composed from both records).
Records are prepared in a worker process on big files, so that both cores work.

A record repeating the name and address of an earlier one of the same import (or of a listing of
the same source) is merged into that listing as one more provenance link: see ``merge``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from directory.db import Writer, writing
from directory.errors import Conflict, InvalidInput
from directory.ingest import limits
from directory.ingest.compose import composed_documents
from directory.ingest.formats import Format, hsds
from directory.ingest.keep_ids import KeptIds
from directory.ingest.merge import Key, Merger, keys
from directory.ingest.parallel import prepared
from directory.ingest.prepare import Prepared
from directory.ingest.records import Ignored, ReadItem, Rejection, SourceRecord
from directory.ingest.report import ImportReport
from directory.listings import models
from directory.listings.models import Provenance, SearchOutbox, Service
from directory.listings.rows import Rows
from directory.listings.schemas import ServiceCreate
from directory.listings.service import (
    Origin,
    create_service,
    provenance_row,
    rewrite_services,
)
from directory.listings.taxonomy import resolve_needs

BATCH = 5000  # queued rows (or rewritten listings x 10) per round of bulk writes
ANALYZE_AFTER = 5000  # listings created or changed by an import that refreshes the statistics
ANALYZED = (
    *(models.Organization, models.Service, models.Location, models.ServiceAtLocation),
    *(models.Address, models.Phone, models.Contact, models.Schedule, models.Language),
    *(models.Accessibility, models.ServiceArea, models.CostOption, models.Attribute),
    *(models.CrisisChannel, models.Provenance, models.ListingChange, SearchOutbox),
)
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Link:
    """A provenance link already in the database, as the import needs it."""

    id: uuid.UUID
    service_id: uuid.UUID
    content_hash: str | None


@dataclass
class Batch:
    """Writes waiting for the next bulk round."""

    kept: KeptIds  # HSDS 3.0 UUIDs kept as the listings' ids
    rows: Rows = field(default_factory=Rows)
    link_updates: list[dict[str, Any]] = field(default_factory=list)
    rewrite: set[uuid.UUID] = field(default_factory=set)

    def full(self) -> bool:
        return len(self.rows) + 10 * len(self.rewrite) >= BATCH

    def write(self, session: Session, source: str, writer: Writer) -> None:
        """Write the batch: new listings' rows in the writer's thread while the import goes on,
        unless links or listings are to be rewritten here after them (then they wait)."""
        writer.submit(self.rows.write)
        self.rows = Rows()
        if self.link_updates or self.rewrite:
            writer.settle()
        if self.link_updates:
            table: Any = Provenance.__table__
            columns: dict[str, Any] = {
                k[1:]: bindparam(k) for k in self.link_updates[0] if k != "_id"
            }
            session.execute(
                update(table).where(table.c.id == bindparam("_id")).values(**columns),
                self.link_updates,
            )
            self.link_updates.clear()
        if self.rewrite:  # (a query even for none, which would wait for the round)
            docs = composed_documents(session, self.rewrite)
            rewrite_services(session, docs, by=source, keep=self.kept.rewriting(session, docs))
            self.rewrite.clear()
        self.kept.written()


def run_import(
    session: Session,
    fmt: Format,
    path: Path,
    *,
    source: str,
    dry_run: bool = False,
    full: bool = False,
    allow_shrink: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one file into the session's transaction; the caller commits (or not, dry run).

    With ``full``, Conflict when the file would deactivate a large share of the source's
    listings (see ``refuse_shrink``), unless ``allow_shrink``.
    """
    report = ImportReport(fmt.name, source, str(path), dry_run=dry_run, full=full)
    loader = _Import(session, fmt, source, report, progress)
    loader.run(path)
    if full and report.loaded():  # a file of which nothing loads deactivates nothing
        missing = {key: link for key, link in loader.links.items() if key not in loader.seen}
        vouched = loader.vouched()
        if not allow_shrink:
            gone = {key for key, link in missing.items() if link.service_id not in vouched}
            refuse_shrink(session, source, gone)
        _deactivate_missing(session, source, missing, vouched, report, loader.kept)
    if not dry_run and report.counts["created"] + report.counts["updated"] >= ANALYZE_AFTER:
        _analyze(session)
    return report


def _analyze(session: Session) -> None:
    """Refresh the planner's statistics of the listing tables, in the import's transaction (so
    they are published with its rows). Right after a big import into a young database they
    say the tables are nearly empty, and the index sync that follows the commit was planned as
    nested loops over sequential scans: 18 listings a second instead of 1,700."""
    tables = ", ".join(model.__tablename__ for model in ANALYZED)
    session.execute(text(f"ANALYZE {tables}"))  # names of our own models, not input


def refuse_shrink(session: Session, source: str, missing: set[str]) -> None:
    """Conflict when deactivating the listings of these external ids would take more than
    ``SHRINK_SHARE`` of the source's active listings and more than ``SHRINK_LISTINGS``: a file
    cut short (a failed download, a half-saved export) looks exactly like that."""
    if len(missing) <= limits.SHRINK_LISTINGS:
        return
    active = (Service.status != "inactive",)
    gone = session.scalar(
        select(func.count()).where(Service.id.in_(_only_here(source, missing)), *active)
    )
    linked = select(Provenance.service_id).where(Provenance.source == source)
    total = session.scalar(select(func.count()).where(Service.id.in_(linked), *active))
    gone, total = gone or 0, total or 0
    if gone > limits.SHRINK_LISTINGS and gone > limits.SHRINK_SHARE * total:
        raise Conflict(
            f"--full would deactivate {gone:,} of the {total:,} active listings of {source}"
            f" ({gone / total:.0%}; more than {limits.SHRINK_SHARE:.0%} and more than"
            f" {limits.SHRINK_LISTINGS} are refused): is the file complete? If it is, import it"
            " with `directory ingest --full --allow-shrink`; nothing was written",
            field="full",
        )


def _only_here(source: str, missing: set[str]) -> Any:
    """The listings of these external ids of the source that no other source links to."""
    return (
        select(Provenance.service_id)
        .where(Provenance.source == source, Provenance.external_id.in_(missing))
        .where(
            ~Provenance.service_id.in_(
                select(Provenance.service_id).where(Provenance.source != source)
            )
        )
    )


class _Import:
    """The state of one import: what the database already has, the batch, the report."""

    def __init__(
        self,
        session: Session,
        fmt: Format,
        source: str,
        report: ImportReport,
        progress: Progress | None,
    ) -> None:
        self.session, self.fmt, self.source = session, fmt, source
        self.report, self.progress = report, progress
        self.links = _links(session, source)
        self.merger = Merger.for_import(session, source, fmt.name)
        self.seen: set[str] = set()
        self.linked: set[uuid.UUID] = set()  # listings a record of this import created or joined
        self.kept = KeptIds(source)
        self.batch = Batch(self.kept)

    def run(self, path: Path) -> None:
        items = prepared(self.fmt, self.fmt.read(path), self.source)
        if self.fmt.name == "hsds":
            items = self.kept.ahead(self.session, items, _record)
        with writing(self.session) as writer:
            for item, ready in items:
                self._item(item, ready)
                if self.batch.full():
                    self.batch.write(self.session, self.source, writer)
            self.batch.write(self.session, self.source, writer)

    def _item(self, item: ReadItem, ready: Prepared | None) -> None:
        report = self.report
        if isinstance(item, Ignored):
            report.ignore(item)
            return
        if isinstance(item, Rejection):
            report.reject(item)
            if item.external_id:  # still in the file: --full must not deactivate it
                self.seen.add(item.external_id)
            return
        report.read += 1
        if self.progress:
            self.progress(report.read)
        if item.external_id in self.seen:
            report.reject(
                Rejection(item.file, item.row, None, "duplicate record id", item.external_id)
            )
            return
        self.seen.add(item.external_id)
        assert ready is not None
        doc = _checked(self.session, item, ready, report)
        if doc is None:
            return
        origin = Origin(
            raw=item.raw,
            raw_json=ready.raw_json,
            format=self.fmt.name,
            content_hash=ready.content_hash,
            verified=hsds.assured(item.raw, self.source) if self.fmt.name == "hsds" else None,
        )
        raw, places = _digest(ready.raw_json), keys(doc)
        outcome, service_id = self._load(doc, origin, item, raw, places)
        self.merger.remember(places, service_id, item.row, raw)
        report.count(outcome)

    def vouched(self) -> set[uuid.UUID]:
        """The listings that a record of the file (loaded or rejected) links to."""
        known = (self.links.get(external_id) for external_id in self.seen)
        return self.linked | {link.service_id for link in known if link is not None}

    def _load(
        self,
        doc: ServiceCreate,
        origin: Origin,
        item: SourceRecord,
        raw: bytes | None,
        places: list[Key],
    ) -> tuple[str, uuid.UUID]:
        """Queue the creation, update or merge of one listing (or skip it): the outcome, and the
        listing the record is part of. ``raw``: the digest of the record's raw form; ``places``:
        its keys for the same-place rule."""
        link, batch = self.links.get(item.external_id), self.batch
        if link is not None:
            if link.content_hash == origin.content_hash:
                return "unchanged", link.service_id
            row = provenance_row(link.service_id, doc, origin)
            batch.link_updates.append(
                {
                    "_id": link.id,
                    "_content_hash": row["content_hash"],
                    "_raw": origin.raw,
                    "_format": row["format"],
                    "_retrieved_at": dt.datetime.now(dt.UTC),
                }
            )
            batch.rewrite.add(link.service_id)
            return "updated", link.service_id
        merge: dict[str, Any] = {}
        copy = False  # of a record the listing is composed from: it would compose the same
        if (known := self.merger.same_place(places)) is not None:
            service_id, merge["rule"] = known.service_id, known.rule
            if known.row is not None:
                merge["same_as_row"] = known.row
            copy = raw is not None and raw == known.raw
        elif (match := self.merger.find(doc)) is not None:
            service_id, merge["rule"] = match
        else:
            self.kept.mark(batch.rows)
            service_id = create_service(
                self.session, doc, origin=origin, rows=batch.rows, by=self.source
            )
            if self.fmt.name == "hsds":
                service_id = self.kept.keep(self.session, batch.rows, item.raw, service_id)
            self.linked.add(service_id)
            return "created", service_id
        # The listing may still be queued in this batch: the rewrite follows the COPY.
        batch.rows.add(Provenance, **provenance_row(service_id, doc, origin))
        if not copy:
            batch.rewrite.add(service_id)
        self.linked.add(service_id)
        self.report.merges.append(
            {
                "file": item.file,
                "row": item.row,
                "name": doc.name,
                "external_id": item.external_id,
                "service_id": str(service_id),
                **merge,
            }
        )
        return "merged", service_id


def _record(pair: tuple[ReadItem, Prepared | None]) -> Any:
    return pair[0].raw if isinstance(pair[0], SourceRecord) else None


def _digest(raw_json: str | None) -> bytes | None:
    return hashlib.blake2b(raw_json.encode(), digest_size=16).digest() if raw_json else None


def _links(session: Session, source: str) -> dict[str, Link]:
    query = select(
        Provenance.external_id, Provenance.id, Provenance.service_id, Provenance.content_hash
    ).where(Provenance.source == source)
    return {row[0]: Link(row[1], row[2], row[3]) for row in session.execute(query)}


def _checked(
    session: Session, item: SourceRecord, ready: Prepared, report: ImportReport
) -> ServiceCreate | None:
    """The prepared document once its needs are known codes, or None after recording why not."""
    for field_name, reason in ready.warnings:
        report.warn(field_name, reason)
    report.tallies.update(ready.tallies)
    if ready.rejection is not None or ready.doc is None:
        where, reason = ready.rejection or (None, "not prepared")
        report.reject(Rejection(item.file, item.row, where, reason, item.external_id))
        return None
    try:
        resolve_needs(session, ready.doc.needs)
    except InvalidInput as error:
        report.reject(Rejection(item.file, item.row, error.field, error.detail, item.external_id))
        return None
    return ready.doc


def _deactivate_missing(
    session: Session,
    source: str,
    links: dict[str, Link],
    vouched: set[uuid.UUID],
    report: ImportReport,
    kept: KeptIds,
) -> None:
    """``--full``: listings of this source absent from the file become inactive (never deleted).

    A listing merged with another source stays as it is: that source still vouches for it. A
    listing that another record of the file still links to stays active, without what the gone
    records said: their links are removed and the listing is composed again (a repeated row that
    is no longer in the file takes its phones and codes with it).
    """
    stale = [link for link in links.values() if link.service_id in vouched]
    if stale:
        session.execute(delete(Provenance).where(Provenance.id.in_([link.id for link in stale])))
        recomposed = {link.service_id for link in stale}
        docs = composed_documents(session, recomposed)
        rewrite_services(session, docs, by=source, keep=kept.rewriting(session, docs))
        report.counts["updated"] += len(recomposed)
    missing = {key for key, link in links.items() if link.service_id not in vouched}
    if not missing:
        return
    changed = (
        session.execute(
            update(Service)
            .where(Service.id.in_(_only_here(source, missing)), Service.status != "inactive")
            .values(status="inactive", version=Service.version + 1, updated_at=func.now())
            .returning(Service.id)
        )
        .scalars()
        .all()
    )
    session.add_all(
        SearchOutbox(entity="service", entity_id=i, operation="upsert") for i in changed
    )
    # Forget their digests: when a record comes back, it is a change and reactivates its listing.
    session.execute(
        update(Provenance)
        .where(Provenance.source == source, Provenance.external_id.in_(missing))
        .values(content_hash=None)
    )
    report.counts["deactivated"] += len(changed)
