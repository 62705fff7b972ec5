"""Schema migrations (alembic); `hub db revision` writes new ones."""
