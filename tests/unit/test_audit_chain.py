"""The audit chain's walk names the first entry edited, deleted or reordered, survives
pruning through its anchor, and catches a chain rewritten after its head was published."""

from __future__ import annotations

import dataclasses

from hub_shared.audit.chain import Draft, Head, Link, content_of, entry_hash, verify
from hub_shared.audit.tables import GENESIS


def chain(length: int, *, start: Head | None = None) -> list[Link]:
    links, prev = [], start.entry_hash if start else GENESIS
    first = start.seq + 1 if start else 1
    for seq in range(first, first + length):
        draft = Draft(
            at=f"2026-12-06T10:00:{seq:02d}.000000Z",
            actor="agency",
            operation="PUT /v1/enterprises/{uscc}",
            resource=f"uscc=91370811MA3AY4C0{seq:02d}",
            content_hash=f"{seq:064x}",
            outcome="200",
        )
        content = content_of(draft)
        digest = entry_hash(prev, content)
        links.append(Link(seq, content, prev, digest))
        prev = digest
    return links


def test_an_untouched_chain_verifies() -> None:
    links = chain(6)
    heads = [Head(3, links[2].entry_hash), Head(6, links[5].entry_hash)]
    assert verify(links, heads=heads) is None


def test_an_edited_entry_is_named() -> None:
    links = chain(6)
    links[3] = dataclasses.replace(links[3], content={**links[3].content, "outcome": "403"})
    finding = verify(links)
    assert finding is not None
    assert (finding.seq, finding.fault) == (4, "edited")


def test_a_deleted_entry_is_named() -> None:
    links = chain(6)
    del links[2]
    finding = verify(links)
    assert finding is not None
    assert (finding.seq, finding.fault) == (3, "deleted")


def test_a_deletion_hidden_by_renumbering_is_named() -> None:
    links = chain(6)
    del links[2]
    links = [dataclasses.replace(link, seq=i + 1) for i, link in enumerate(links)]
    finding = verify(links)
    assert finding is not None
    assert (finding.seq, finding.fault) == (3, "deleted")


def test_two_swapped_entries_are_named_as_reordered() -> None:
    links = chain(6)
    links[1], links[2] = (
        dataclasses.replace(links[2], seq=2),
        dataclasses.replace(links[1], seq=3),
    )
    finding = verify(links)
    assert finding is not None
    assert (finding.seq, finding.fault) == (2, "reordered")


def test_a_chain_rewritten_consistently_contradicts_its_published_head() -> None:
    links = chain(6)
    head = Head(5, links[4].entry_hash)
    # Edit entry 2 and recompute every hash after it: the chain itself is consistent again.
    rewritten, prev = [], GENESIS
    for link in links:
        content = {**link.content, "outcome": "500"} if link.seq == 2 else link.content
        digest = entry_hash(prev, content)
        rewritten.append(Link(link.seq, content, prev, digest))
        prev = digest
    assert verify(rewritten) is None
    finding = verify(rewritten, heads=[head])
    assert finding is not None
    assert (finding.seq, finding.fault) == (5, "contradicts-published-head")


def test_a_pruned_chain_verifies_from_its_anchor() -> None:
    links = chain(8)
    anchor = Head(4, links[3].entry_hash)
    kept = links[4:]
    assert verify(kept, anchor=anchor, heads=[Head(2, links[1].entry_hash)]) is None
    assert verify(kept) is not None  # without the boundary hash it cannot be told apart


def test_a_pruned_chain_with_its_first_entry_deleted_is_named() -> None:
    links = chain(8)
    anchor = Head(4, links[3].entry_hash)
    finding = verify(links[5:], anchor=anchor)
    assert finding is not None
    assert (finding.seq, finding.fault) == (5, "deleted")
