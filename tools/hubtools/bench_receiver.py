"""An office's webhook receiver for the end-to-end benchmark, in a process of its own.

It answers 204 and records the arrival time (wall clock), the `webhook-id`, the event
type, the alert's subject (report_id, diagnosis_id or permit_no), the alert id and, given
`--secret` (the office's webhook secret), whether the Standard Webhooks signature verified
(else None). `GET /stats` returns every record as JSON; `GET /count` how many arrived.
`python -m hubtools.bench_receiver --port N [--secret whsec_…]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# arrival, webhook-id, type, subject (report_id, diagnosis_id or permit_no), alert id,
# signature verified (None without a secret)
Record = tuple[float, str, str, str, str, bool | None]


def _verified(secret: str | None, headers: dict[str, str], body: bytes) -> bool | None:
    if secret is None:
        return None
    try:
        Webhook(secret).verify(body, headers)
    except (WebhookVerificationError, ValueError):
        return False
    return True


def _record(
    headers: dict[str, str], body: bytes, arrived: float, secret: str | None = None
) -> Record:
    try:
        event: dict[str, Any] = json.loads(body)
        data = event.get("data", {})
        subject = data.get("subject", {})
        report_id = str(
            subject.get("report_id") or subject.get("diagnosis_id") or subject.get("permit_no")
            or ""
        )  # fmt: skip
        kind, alert_id = str(event.get("type", "")), str(data.get("alert_id", ""))
    except (ValueError, AttributeError):
        report_id, kind, alert_id = "", "", ""
    verified = _verified(secret, headers, body)
    return (arrived, headers.get("webhook-id", ""), kind, report_id, alert_id, verified)


async def serve(port: int, secret: str | None = None) -> None:
    records: list[Record] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = h.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if method == "GET":
                    answer = records if path.startswith("/stats") else len(records)
                    payload = json.dumps(answer).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(payload))
                    writer.write(payload)
                else:
                    records.append(_record(headers, body, time.time(), secret))
                    writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", default=None, help="the office's webhook secret")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.secret))


if __name__ == "__main__":
    main()
