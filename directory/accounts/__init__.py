"""Accounts: users, roles and bearer tokens."""
