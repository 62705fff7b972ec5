"""Bearer tokens of clients and offices (docs/interfaces.md §2): scopes and divisions."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from hub_shared.config import HubConfig
from hub_shared.domain.divisions import covers_any
from hub_shared.web.errors import Forbidden, Unauthorized
from hub_shared.web.throttle import AttemptLimiter

log = logging.getLogger(__name__)
OFFICE_SCOPES = frozenset({"alerts:read", "alerts:ack"})
# An operator's scope: the admin routes (redelivery, parked outbox rows), nothing else.
ADMIN = "admin"
# Acts as every department; exists only where the configuration gives it to a client, and
# every use is logged at WARNING (docs/security.md).
BREAK_GLASS = "break-glass"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a REST client or a county office (an industry regulator is an
    office that reads only what its department owns)."""

    id: str
    kind: Literal["client", "office"]
    scopes: frozenset[str]
    divisions: tuple[str, ...]
    regulates: str | None = None  # a regulator's department ("housing", ...)

    def covers(self, division_code: str) -> bool:
        return covers_any(self.divisions, division_code)

    def holds(self, *scopes: str) -> bool:
        """True when the credential holds one of `scopes` (or the break-glass scope)."""
        if self.scopes.intersection(scopes):
            return True
        if BREAK_GLASS in self.scopes:
            log.warning("break-glass: client %s acts with scope %s", self.id, " or ".join(scopes))
            return True
        return False

    def require(self, *scopes: str) -> None:
        """Least privilege: `admin` is an operator's scope and grants no department's."""
        if not self.holds(*scopes):
            raise Forbidden(f"this credential lacks the scope {' or '.join(scopes)}")

    def require_division(self, division_code: str) -> None:
        if not self.covers(division_code):
            raise Forbidden(f"division {division_code} is outside this credential's divisions")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenRegistry:
    """Looks a bearer token up by its SHA-256, so comparisons are constant-time."""

    def __init__(self, hub: HubConfig) -> None:
        # Guessing tokens: an address with too many failures gets 429, even with a good one.
        self.failures = AttemptLimiter(
            limit=hub.limits.failed_auth_per_minute, what="failed authentications"
        )
        # Sign-in forms (the dashboard): every attempt counts.
        self.sign_ins = AttemptLimiter(
            limit=hub.limits.sign_ins_per_minute, what="sign-in attempts"
        )
        self._by_digest: dict[bytes, Principal] = {}
        self._by_id: dict[tuple[str, str], Principal] = {}
        for c in hub.clients:
            self._by_digest[_digest(c.token.get_secret_value())] = Principal(
                c.id, "client", frozenset(c.scopes), c.divisions
            )
        for o in hub.offices:
            self._by_digest[_digest(o.token.get_secret_value())] = Principal(
                o.id,
                "office",
                OFFICE_SCOPES,
                o.divisions,
                regulates=o.department if o.kind == "regulator" else None,
            )

    def principal(self, kind: str, principal_id: str) -> Principal | None:
        """The configured client or office, for a server-side session (web_sessions)."""
        if not self._by_id:
            self._by_id = {(p.kind, p.id): p for p in self._by_digest.values()}
        return self._by_id.get((kind, principal_id))

    def authenticate(self, authorization: str | None, client: str | None = None) -> Principal:
        """The caller of `authorization`; `client` (its address) is limited in failures."""
        if not authorization:
            raise Unauthorized("an Authorization: Bearer <token> header is required")
        self.failures.check(client)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            self.failures.record(client)
            raise Unauthorized("the Authorization header must be Bearer <token>")
        wanted = _digest(token.strip())
        for digest, principal in self._by_digest.items():
            if hmac.compare_digest(digest, wanted):
                return principal
        self.failures.record(client)
        raise Unauthorized("unknown token")


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def current_principal(request: Request) -> Principal:
    registry: TokenRegistry = request.app.state.tokens
    return registry.authenticate(request.headers.get("authorization"), client_address(request))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def scoped(scope: str) -> object:
    """A dependency that authenticates and requires one scope."""

    def dependency(principal: CurrentPrincipal) -> Principal:
        principal.require(scope)
        return principal

    return Depends(dependency)
