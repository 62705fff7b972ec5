"""Standard Webhooks signing and verification, through the `standardwebhooks` package."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.datastructures import Headers
from starlette.requests import Request

from hub_shared import clock
from hub_shared.config import WEBHOOK_REPLAY_WINDOW_SECONDS, SourceConfig
from hub_shared.web.errors import Unauthorized

HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_TOLERANCE = timedelta(seconds=WEBHOOK_REPLAY_WINDOW_SECONDS)


@dataclass(frozen=True, slots=True)
class Received:
    """A signed webhook's verified body, its configured sender and its webhook headers."""

    body: bytes
    source: SourceConfig
    headers: dict[str, str]


async def receive(request: Request, sources: Iterable[SourceConfig], kind: str) -> Received:
    """The body of a webhook signed by a configured source of `kind`, named once in
    `X-Hub-Source`. The sender and the headers are checked before the body is read: an
    unknown sender never gets to send a megabyte. Raises Unauthorized."""
    names = request.headers.getlist("x-hub-source")
    source_id = names[0] if len(names) == 1 else ""
    source = next((s for s in sources if s.id == source_id and s.kind == kind), None)
    if source is None:
        raise Unauthorized(f"X-Hub-Source is missing, repeated or names no {kind} source")
    headers = check_headers(request.headers)
    body = await request.body()
    verify(source.secret.get_secret_value(), body, headers)
    return Received(body, source, headers)


def check_headers(headers: Headers) -> dict[str, str]:
    """The three Standard Webhooks headers, checked before the body is read: each present
    once (the signature must cover the very id we deduplicate on) and the timestamp within
    5 minutes of now; raises Unauthorized otherwise."""
    names = [k.lower() for k, _v in headers.items() if k.lower().startswith("webhook-")]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise Unauthorized(f"repeated webhook header(s): {', '.join(repeated)}")
    found = {name: headers.get(name, "") for name in HEADERS}
    missing = [name for name, value in found.items() if not value]
    if missing:
        raise Unauthorized(f"missing webhook header(s): {', '.join(missing)}")
    stamp = found["webhook-timestamp"]
    if not (stamp.isascii() and stamp.isdigit()):  # not "³", which int() refuses
        raise Unauthorized("webhook-timestamp must be whole seconds since the epoch")
    if abs(clock.now() - datetime.fromtimestamp(int(stamp), UTC)) > _TOLERANCE:
        raise Unauthorized("webhook-timestamp is more than 5 minutes off")
    return found


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise Unauthorized unless one signature matches the body's bytes and the timestamp is
    within 5 minutes. `headers` are those `check_headers` returned."""
    try:
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError as exc:
        raise Unauthorized(f"webhook signature rejected: {exc}") from exc
    except ValueError as exc:  # a malformed signature list ("v1" without a comma, bad base64)
        raise Unauthorized("webhook-signature header is malformed") from exc


def sign(
    secrets: Iterable[str], msg_id: str, body: bytes, timestamp: datetime | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers; several secrets give several signatures."""
    ts = (timestamp or clock.now()).astimezone(UTC)
    text = body.decode()
    signatures = [Webhook(s).sign(msg_id, ts, text) for s in secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(ts.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
