"""The configured search backends: postgres always, Meilisearch when the settings name it.

The postgres index is kept in every deployment: search falls back to it when Meilisearch is
unreachable (and says so), and the crisis lines are always read from it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from directory.config import Settings
from directory.search.meilisearch import MeiliBackend, SearchBackendError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backends:
    meili: MeiliBackend | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Backends:
        if settings.search_backend != "meilisearch":
            return cls()
        return cls(MeiliBackend(settings.meili_url, settings.meili_key, index=settings.meili_index))

    def prepare(self) -> None:
        """Apply the Meilisearch settings (idempotent); an unreachable server is only logged."""
        if self.meili is None:
            return
        try:
            self.meili.ensure_settings()
        except SearchBackendError as error:
            log.warning("Meilisearch settings not applied (search falls back): %s", error)
