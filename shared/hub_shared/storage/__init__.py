"""Databases and transactions: engines (SQLite, PostgreSQL), the unit of work and group
commit, the one rule for redoing a conflicting transaction, migrations, and retention.
"""
