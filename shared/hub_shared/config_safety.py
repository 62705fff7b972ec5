"""Settings refused outside the local profile: what is convenient on a laptop and unsafe in
a deployment. Every fault is named at once, so one restart fixes them all."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub_shared.domain.divisions import is_known

if TYPE_CHECKING:
    from hub_shared.config import ServiceSettings

MIN_TOKEN_CHARS = 32


class UnsafeConfiguration(ValueError):
    """The service refuses to start; the message lists every unsafe setting."""


def unsafe_settings(settings: ServiceSettings) -> list[str]:
    """What is unsafe in `settings` for a deployment (names and ids, never secrets)."""
    hub = settings.hub
    faults: list[str] = []
    if settings.service == "incidents" and settings.pii_key is None:
        faults.append("HUB_PII_KEY is not set (the digest key would be kept in the same database)")
    credentials = [("client", c.id, c.token, c.divisions) for c in hub.clients] + [
        ("office", o.id, o.token, o.divisions) for o in hub.offices
    ]
    for kind, ident, token, codes in credentials:
        if len(token.get_secret_value()) < MIN_TOKEN_CHARS:
            faults.append(f"{kind} {ident}: token shorter than {MIN_TOKEN_CHARS} characters")
        for code in codes:
            if not is_known(code):
                faults.append(f"{kind} {ident}: division {code!r} is not a Jining division code")
    for office in hub.offices:
        if office.webhook_url and not office.webhook_url.lower().startswith("https://"):
            faults.append(f"office {office.id}: webhook_url is not https")
    return faults


def refuse_unsafe(settings: ServiceSettings) -> None:
    """UnsafeConfiguration outside the local profile when anything is unsafe."""
    if settings.profile == "local":
        return
    if faults := unsafe_settings(settings):
        raise UnsafeConfiguration(
            f"{settings.service} refuses to start with profile {settings.profile}: "
            + "; ".join(faults)
        )
