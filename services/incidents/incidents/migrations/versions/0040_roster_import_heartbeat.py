"""roster imports: a heartbeat, so that a job whose process died is found and failed

Revision ID: 0040
Revises: 0031
Create Date: 2026-12-06 20:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0040"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `heartbeat_at`, filled from `started_at` for the jobs already there."""
    with op.batch_alter_table("incidents_roster_imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE incidents_roster_imports SET heartbeat_at = started_at")
    with op.batch_alter_table("incidents_roster_imports", schema=None) as batch_op:
        batch_op.alter_column(
            "heartbeat_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    """Drop `heartbeat_at`."""
    with op.batch_alter_table("incidents_roster_imports", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
