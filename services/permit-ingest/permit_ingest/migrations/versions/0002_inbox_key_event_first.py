"""the inbox's key leads with the event id

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 12:45:00.000000

"""

from collections.abc import Sequence

from hub_shared.migrations import key_inbox

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The event id first: its leading bytes tell keys apart (the consumer's never do), so
    PostgreSQL builds the key several times quicker, as a replay does."""
    key_inbox("event_id", "consumer")


def downgrade() -> None:
    key_inbox("consumer", "event_id")
