"""Normalising Chinese project and enterprise names for matching when identifiers are missing."""

from __future__ import annotations

import re
import unicodedata

_REGION_PREFIXES = ("山东省", "山东", "济宁市", "济宁")
_LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
_NOISE = re.compile(r"[\s()（）\[\]【】〔〕《》<>「」'\"“”‘’,，.。、:：;；\-—_·•/\\]")


def name_key(name: str) -> str:
    """A comparison key: full-width folded, punctuation and brackets dropped, region prefixes
    and legal-form suffixes removed."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = _NOISE.sub("", text)
    changed = True
    while changed:
        changed = False
        for prefix in _REGION_PREFIXES:
            if text.startswith(prefix) and len(text) > len(prefix):
                text, changed = text[len(prefix) :], True
        for suffix in _LEGAL_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)], True
    return text
