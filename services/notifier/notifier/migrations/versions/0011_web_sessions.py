"""server-side sessions and short-lived links of the pages

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:45:00.000000

"""

from collections.abc import Sequence

from hub_shared.web.web_session_migrations import create_web_sessions, drop_web_sessions

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_web_sessions()


def downgrade() -> None:
    drop_web_sessions()
