"""The permit as approval systems send it (docs/interfaces.md §4)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub_shared.domain.identifiers import DivisionCode, PermitNo, ProjectCode, Uscc


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    uscc: Uscc


class PermitIn(BaseModel):
    """A construction permit (施工许可证); unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True)

    permit_no: PermitNo
    project_code: ProjectCode | None = None
    project_name: str = Field(min_length=1, max_length=300)
    address: str = Field(min_length=1, max_length=500)
    division_code: DivisionCode
    contract_price_wan: float = Field(gt=0, description="contract price in 万元 (10,000 CNY)")
    area_m2: float | None = Field(default=None, ge=0)
    planned_start: date
    planned_end: date
    issued_at: AwareDatetime
    issuing_authority: str | None = Field(default=None, max_length=200)
    builder: PartyIn
    contractor: PartyIn
    supervisor: PartyIn | None = None
    project_manager: str | None = Field(default=None, max_length=100)
    commitment_letter: bool | None = None

    def content_hash(self) -> str:
        """Identical content gives an identical hash, whatever the key order or spacing."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def apply_source_aliases(raw: Any, aliases: dict[str, str]) -> Any:
    """Map a source system's local division code (e.g. a functional zone) to its GB code."""
    if aliases and isinstance(raw, dict):
        code = raw.get("division_code")
        if isinstance(code, str) and code.strip() in aliases:
            return {**raw, "division_code": aliases[code.strip()]}
    return raw
