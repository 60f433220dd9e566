"""Listings: the HSDS 3.0 model, curation rules and opening hours."""
