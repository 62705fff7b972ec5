"""Alembic's entry point for this service's migrations; see hub_shared.migrations."""

from alembic import context

from hub_shared.migrations import run_env

run_env(context)
