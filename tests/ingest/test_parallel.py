"""The worker process prepares records exactly as the inline path does, in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory.ingest import parallel
from directory.ingest.formats import formats
from directory.ingest.records import SourceRecord

LOCATOR = "samhsa-locator-geocoded/MentalHealthProviders_Geocoded.csv"


def test_the_worker_gives_the_inline_results_in_order(
    datasets_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (datasets_dir / LOCATOR).read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "sample.csv"
    path.write_text("".join(lines[:121]), encoding="utf-8")
    fmt = formats()["samhsa-locator"]
    inline = list(parallel.prepared(fmt, fmt.read(path), "t"))
    monkeypatch.setattr(parallel, "INLINE", 10)
    monkeypatch.setattr(parallel, "CHUNK", 7)
    worked = list(parallel.prepared(fmt, fmt.read(path), "t"))
    assert [item for item, _ in worked] == [item for item, _ in inline]
    for (item, mine), (_, theirs) in zip(worked, inline, strict=True):
        if isinstance(item, SourceRecord):
            assert mine is not None and theirs is not None
            assert (mine.content_hash, mine.rejection, mine.warnings) == (
                theirs.content_hash,
                theirs.rejection,
                theirs.warnings,
            )
            assert mine.doc is not None and mine.doc.phones[0].dialable.tel_uri.startswith("tel:")
        else:
            assert mine is None
