"""the inbox's key leads with the event id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 12:45:00.000000

"""

from collections.abc import Sequence

from hub_shared.storage.migrations import key_inbox_consumer_first, key_inbox_event_first

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    key_inbox_event_first()


def downgrade() -> None:
    key_inbox_consumer_first()
