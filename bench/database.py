"""The database a benchmark runs on: DIRECTORY_DATABASE_URL, or a throwaway private cluster."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from directory.pgcluster import PrivateCluster


def with_database(run: Callable[[str], None], *, port: int) -> None:
    """Call ``run(url)`` on the configured database or on a cluster made (and removed) for it."""
    given = os.environ.get("DIRECTORY_DATABASE_URL")
    if given:
        run(given)
        return
    cluster = PrivateCluster(root=Path(tempfile.mkdtemp(prefix="directory-bench-")), port=port)
    cluster.start()
    try:
        run(cluster.url)
    finally:
        cluster.destroy()
