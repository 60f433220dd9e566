"""Ingest: read real directory files, normalise them to listings, merge and load with a report."""
