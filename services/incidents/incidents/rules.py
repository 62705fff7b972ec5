"""Plain rules of accident and disease intake: grade consistency, masking, fingerprints."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final, Protocol, TypeVar

from hub_shared.domain.codelists import ACCIDENT_GRADES, AccidentGrade, grade_for
from hub_shared.domain.identifiers import normalize_code
from hub_shared.domain.industries import normalize_industry_code
from hub_shared.web.errors import Conflict

# Two-character surnames (复姓) common enough to matter when masking a name; a name that
# starts with one keeps both characters.
COMPOUND_SURNAMES: Final = frozenset(
    {
        "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "夏侯", "轩辕", "令狐", "钟离", "端木", "百里", "呼延", "南宫",
        "西门", "独孤", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔", "申屠",
        "闻人", "赫连", "万俟", "拓跋", "第五", "左丘", "梁丘", "东郭", "司空", "亓官",
    }
)  # fmt: skip


def grade_consistency_error(grade: AccidentGrade, deaths: int, serious_injuries: int) -> str | None:
    """Why a reported grade contradicts the counts, or None.

    The counts set the lowest possible grade (grade_for). A higher grade is accepted:
    direct economic loss also grades an accident and the hub does not record it.
    """
    implied = grade_for(deaths, serious_injuries)
    if ACCIDENT_GRADES.index(grade) >= ACCIDENT_GRADES.index(implied):
        return None
    return (
        f"grade {grade!r} is too low for {deaths} death(s) and {serious_injuries} serious "
        f"injury(ies): at least {implied!r}"
    )


def mask_name(name: str) -> str:
    """The surname followed by `*`: 张伟 -> 张*, 欧阳娜娜 -> 欧阳*."""
    cleaned = "".join(name.split())
    if not cleaned:
        return "*"
    surname = cleaned[:2] if cleaned[:2] in COMPOUND_SURNAMES and len(cleaned) > 2 else cleaned[:1]
    return f"{surname}*"


def canonical_json(content: Mapping[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def fingerprint(content: Mapping[str, Any], key: bytes | None = None) -> str:
    """The identity of a request's (normalised) content, for idempotency checks.

    Content holding personal data is fingerprinted with a key: a plain hash of a resident
    ID number could be reversed by trying every plausible number.
    """
    message = canonical_json(content)
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class Fingerprinted(Protocol):
    fingerprint: str


Stored = TypeVar("Stored", bound=Fingerprinted)


def same_content(
    stored: Stored,
    fp: str,
    id_field: str,
    msg: str = "already used for a different record",
) -> Stored:
    """The stored row of a repeated id when the content is the same (its fingerprint);
    other content under the same id is a Conflict on the body's `id_field`."""
    if stored.fingerprint != fp:
        raise Conflict(
            f"{id_field} {getattr(stored, id_field)} already exists with different content",
            [{"loc": ["body", id_field], "msg": msg}],
        )
    return stored


def split_industry_code(raw: str) -> tuple[str, str | None]:
    """(GB/T 4754 division, 4-digit class or None) of "E47", "47", "4711" or "E4711"."""
    division = normalize_industry_code(raw)
    digits = normalize_code(raw).lstrip("ABCDEFGHIJKLMNOPQRST")
    return division, (digits if len(digits) == 4 else None)
