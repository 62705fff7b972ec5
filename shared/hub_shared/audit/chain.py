"""The hash chain, as pure functions: an entry's hash, and a walk that names the first
entry that was edited, deleted or reordered (or a published head the database contradicts).

An entry's hash covers its content and the previous entry's hash, not its sequence
number: a row moved to another place keeps a valid hash of its own and breaks the link,
which is how a reordering is told from an edit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from hub_shared.audit.tables import GENESIS

CONTENT_FIELDS = ("at", "actor", "operation", "resource", "content_hash", "outcome")


@dataclass(frozen=True)
class Draft:
    """An entry before it joins the chain: who, what, when and the outcome."""

    at: str
    actor: str
    operation: str
    resource: str
    content_hash: str
    outcome: str


@dataclass(frozen=True)
class Link:
    """An entry as stored: its place, its content, and the two hashes."""

    seq: int
    content: Mapping[str, str]
    prev_hash: str
    entry_hash: str


@dataclass(frozen=True)
class Head:
    """A chain head as published on audit.v1."""

    seq: int
    entry_hash: str


Fault = Literal["edited", "deleted", "reordered", "contradicts-published-head"]


@dataclass(frozen=True)
class Finding:
    seq: int
    fault: Fault
    detail: str


def entry_hash(prev_hash: str, content: Mapping[str, str]) -> str:
    canonical = json.dumps(
        [prev_hash, *(str(content[name]) for name in CONTENT_FIELDS)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def content_of(draft: Draft) -> dict[str, str]:
    return {name: str(getattr(draft, name)) for name in CONTENT_FIELDS}


def verify(
    links: Iterable[Link],
    *,
    anchor: Head | None = None,
    heads: Iterable[Head] = (),
) -> Finding | None:
    """Walk the chain from the anchor (or the start) and hold it to the published heads;
    the first fault found, in sequence order, or None when all is intact."""
    expected_seq = anchor.seq + 1 if anchor else 1
    prev = anchor.entry_hash if anchor else GENESIS
    chain = list(links)
    stored_hashes = {link.entry_hash for link in chain}
    by_seq: dict[int, str] = {}
    for link in chain:
        if link.seq > expected_seq:
            return Finding(
                expected_seq, "deleted", f"entries {expected_seq}–{link.seq - 1} missing"
            )
        if link.seq < expected_seq:
            return Finding(link.seq, "reordered", "sequence number out of order or repeated")
        if entry_hash(link.prev_hash, link.content) != link.entry_hash:
            return Finding(link.seq, "edited", "content does not match its hash")
        if link.prev_hash != prev:
            # Its predecessor is still stored elsewhere: moved; nowhere: deleted (and the
            # later entries renumbered to hide the gap).
            fault: Fault = "reordered" if link.prev_hash in stored_hashes else "deleted"
            return Finding(link.seq, fault, "does not follow the entry before it")
        by_seq[link.seq] = link.entry_hash
        prev, expected_seq = link.entry_hash, link.seq + 1
    floor = anchor.seq if anchor else 0
    for head in sorted(heads, key=lambda h: h.seq):
        if head.seq <= floor:
            continue  # pruned since it was published
        stored = by_seq.get(head.seq)
        if stored is None:
            return Finding(head.seq, "deleted", "a published head names an entry not stored")
        if stored != head.entry_hash:
            return Finding(
                head.seq, "contradicts-published-head", "chain rewritten after publication"
            )
    return None
