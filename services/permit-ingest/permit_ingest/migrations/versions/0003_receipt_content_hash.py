"""webhook receipts keep the hash of the body they answered

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
_TABLE = "ingest_webhook_receipts"


def upgrade() -> None:
    """Nullable: receipts stored before have no hash and replay their answer as before.
    Tables adopted from before migrations (made from the models) may have it already."""
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(_TABLE)}
    if "content_hash" in columns:
        return
    op.add_column(
        _TABLE,
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_column("content_hash")
