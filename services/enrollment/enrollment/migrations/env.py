"""Alembic's entry point for this service's migrations; see hub_shared.storage.migrations."""

from alembic import context

from hub_shared.storage.migrations import run_env

run_env(context)
