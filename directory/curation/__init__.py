"""Curation: what mentors tell coordinators about listings (problem reports), and mentors' lists."""
