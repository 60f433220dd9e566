"""Referrals: a mentee referred to a service, followed up until connected or closed."""
