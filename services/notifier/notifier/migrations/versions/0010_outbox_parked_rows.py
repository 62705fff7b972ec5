"""outbox rows the broker refuses for good are parked

Revision ID: 0010
Revises: 0003
Create Date: 2026-12-06 17:00:00.000000

"""

from collections.abc import Sequence

from hub_shared.messaging.outbox_migrations import add_parked_columns, drop_parked_columns

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_parked_columns()


def downgrade() -> None:
    drop_parked_columns()
