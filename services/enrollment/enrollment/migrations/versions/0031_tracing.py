"""tracing: outbox rows keep their traceparent; trace_links

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 18:00:00.000000

"""

from collections.abc import Sequence

from hub_shared.tracing.links import add_tracing_columns, drop_tracing_columns

# revision identifiers, used by Alembic.
revision: str = "0031"
down_revision: str | Sequence[str] | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_tracing_columns()


def downgrade() -> None:
    drop_tracing_columns()
