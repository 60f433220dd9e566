"""Referral and resource directory for peer-mentoring programs in mental health."""

__version__ = "0.1.0"
