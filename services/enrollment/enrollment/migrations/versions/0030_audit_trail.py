"""the exchange audit trail: audit_log and audit_anchor

Revision ID: 0030
Revises: 0010
Create Date: 2026-12-06 17:30:00.000000

"""

from collections.abc import Sequence

from hub_shared.audit.tables import create_audit_tables, drop_audit_tables

# revision identifiers, used by Alembic.
revision: str = "0030"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_tables()


def downgrade() -> None:
    drop_audit_tables()
