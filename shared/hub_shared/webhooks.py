"""Standard Webhooks signing and verification, through the `standardwebhooks` package."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from hub_shared.errors import Unauthorized


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise Unauthorized unless one signature matches and the timestamp is within 5 minutes."""
    try:
        text = body.decode()
    except UnicodeDecodeError as exc:
        raise Unauthorized("the body is not UTF-8, so its signature cannot match") from exc
    wanted = {k.lower(): v for k, v in headers.items() if k.lower().startswith("webhook-")}
    try:
        Webhook(secret).verify(text, wanted, json_parse=False)
    except WebhookVerificationError as exc:
        raise Unauthorized(f"webhook signature rejected: {exc}") from exc
    except ValueError as exc:  # a malformed signature list ("v1" without a comma, bad base64)
        raise Unauthorized("webhook-signature header is malformed") from exc


def sign(
    secrets: Iterable[str], msg_id: str, body: bytes, timestamp: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers; several secrets give several signatures."""
    ts = (timestamp or datetime.now(UTC)).astimezone(UTC)
    text = body.decode()
    signatures = [Webhook(s).sign(msg_id, ts, text) for s in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(ts.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
