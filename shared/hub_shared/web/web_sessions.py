"""Server-side sessions and short-lived links for pages a browser opens.

The browser holds an opaque random id, never the bearer token: a cookie for a signed-in
session (8 hours), or a link parameter for a download or a page opened from another tool
(5 minutes, one use). The database keeps only the id's SHA-256, with whom it stands for
and until when, so signing out (deleting the row) revokes the session on every replica,
and a copy of the table cannot be replayed. A principal removed from the configuration
loses its sessions at once: each use looks the principal up again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from fastapi import Request
from sqlalchemy import delete
from sqlmodel import Field, SQLModel, col

from hub_shared.storage.db import SessionFactory
from hub_shared.storage.retention import PruneRule
from hub_shared.web.auth import Principal, TokenRegistry

Purpose = Literal["session", "link"]
SESSION_LIFETIME: Final = timedelta(hours=8)
LINK_LIFETIME: Final = timedelta(minutes=5)


class WebSession(SQLModel, table=True):
    __tablename__ = "web_sessions"

    id_digest: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=16)
    principal_kind: str = Field(max_length=16)
    principal_id: str = Field(max_length=64)
    expires_at: datetime = Field(index=True)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def _digest(opaque: str) -> str:
    return hashlib.sha256(opaque.encode()).hexdigest()


async def open_session(
    sessions: SessionFactory, principal: Principal, purpose: Purpose = "session"
) -> str:
    """A new opaque id standing for `principal`; only its digest is stored."""
    opaque = secrets.token_urlsafe(32)
    lifetime = SESSION_LIFETIME if purpose == "session" else LINK_LIFETIME
    async with sessions() as session, session.begin():
        session.add(
            WebSession(
                id_digest=_digest(opaque),
                purpose=purpose,
                principal_kind=principal.kind,
                principal_id=principal.id,
                expires_at=datetime.now(UTC) + lifetime,
            )
        )
    return opaque


async def resolve(
    sessions: SessionFactory, tokens: TokenRegistry, opaque: str | None, purpose: Purpose
) -> Principal | None:
    """Who the id stands for, while it is valid; a link is used up by this call."""
    if not opaque:
        return None
    async with sessions() as session, session.begin():
        row = await session.get(WebSession, _digest(opaque))
        if row is None or row.purpose != purpose:
            return None
        if purpose == "link":
            await session.delete(row)
        expires = row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC)
        if expires <= datetime.now(UTC):
            return None
    return tokens.principal(row.principal_kind, row.principal_id)


async def revoke(sessions: SessionFactory, opaque: str | None) -> None:
    if opaque:
        async with sessions() as session, session.begin():
            await session.execute(
                delete(WebSession).where(col(WebSession.id_digest) == _digest(opaque))
            )


def secure_cookies(request: Request) -> bool:
    """Secure when the deployment says browsers use https, or this request came by it."""
    served: bool = request.app.state.settings.served_over_https
    return served or request.url.scheme == "https"


def expired_rule() -> PruneRule:
    """For the retention worker: sessions and links past their end are deleted."""
    return PruneRule(
        "web_sessions",
        WebSession,
        key=[col(WebSession.id_digest)],
        stamp=col(WebSession.expires_at),
        keep=timedelta(0),
    )
