"""Open Referral HSDS 3.0 out of the directory: the spec's tables and nested documents built
from our rows (published listings only), the tabular / NDJSON export, and what the HSDS API
under ``/hsds/`` serves. No FastAPI here: ``api/routes/hsds.py`` is the HTTP side."""
