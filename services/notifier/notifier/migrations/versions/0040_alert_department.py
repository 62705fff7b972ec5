"""alerts keep the department that owns their subject, for regulators' reads

Revision ID: 0040
Revises: 0031
Create Date: 2026-12-06 20:30:00.000000

"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0040"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ALERTS = sa.table(
    "notifier_alerts",
    sa.column("alert_id", sa.String),
    sa.column("payload", sa.Text),
    sa.column("department", sa.String),
)


def upgrade() -> None:
    op.add_column(
        "notifier_alerts",
        sa.Column("department", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    )
    op.create_index(
        op.f("ix_notifier_alerts_department"), "notifier_alerts", ["department"], unique=False
    )
    # Alerts already held: their department is subject.department of the stored payload.
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_ALERTS.c.alert_id, _ALERTS.c.payload).where(
            _ALERTS.c.payload.like('%"department"%')
        )
    ).all()
    for alert_id, payload in rows:
        department = (json.loads(payload).get("subject") or {}).get("department")
        if isinstance(department, str):
            connection.execute(
                _ALERTS.update()
                .where(_ALERTS.c.alert_id == alert_id)
                .values(department=department[:32])
            )


def downgrade() -> None:
    op.drop_index(op.f("ix_notifier_alerts_department"), table_name="notifier_alerts")
    op.drop_column("notifier_alerts", "department")
