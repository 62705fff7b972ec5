"""the alerts' unused indexes dropped

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 13:20:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Alerts are read by id, or open by kind and subject (uq_enrollment_alerts_open): the
    indexes on subject and status served no query and cost every write (and a replay)."""
    op.drop_index("ix_enrollment_alerts_subject_key", table_name="enrollment_alerts")
    op.drop_index("ix_enrollment_alerts_status", table_name="enrollment_alerts")


def downgrade() -> None:
    op.create_index("ix_enrollment_alerts_status", "enrollment_alerts", ["status"])
    op.create_index("ix_enrollment_alerts_subject_key", "enrollment_alerts", ["subject_key"])
