"""Every table, imported once so that Alembic and the tests see the whole schema."""

from directory import geo
from directory.accounts import models as accounts_models
from directory.curation import models as curation_models
from directory.db import Base
from directory.ingest import models as ingest_models
from directory.listings import models as listings_models
from directory.referrals import models as referrals_models
from directory.search import models as search_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "curation_models",
    "geo",
    "ingest_models",
    "listings_models",
    "metadata",
    "referrals_models",
    "search_models",
]
