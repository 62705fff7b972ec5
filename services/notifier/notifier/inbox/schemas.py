"""Request bodies of the office REST API (docs/interfaces.md §7)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Dismissal(BaseModel):
    """`POST /v1/alerts/{alert_id}/dismiss`: why the office dismisses the alert."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class Redelivery(BaseModel):
    """`POST /v1/admin/offices/{office_id}/redeliver`: resend the office's deliveries since then."""

    model_config = ConfigDict(extra="forbid")
    since: AwareDatetime
