"""An office's webhook receiver for the end-to-end benchmark, in a process of its own.

It verifies nothing: it answers 204 and records the arrival time (wall clock), the
`webhook-id`, the event type and the alert's report_id. `GET /stats` returns every record
as JSON; `GET /count` how many arrived. `python -m hubtools.bench_receiver --port N`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

Record = tuple[float, str, str, str]  # arrival, webhook-id, type, report_id


def _record(headers: dict[str, str], body: bytes, arrived: float) -> Record:
    try:
        event: dict[str, Any] = json.loads(body)
        subject = event.get("data", {}).get("subject", {})
        report_id = str(subject.get("report_id") or subject.get("permit_no") or "")
        kind = str(event.get("type", ""))
    except (ValueError, AttributeError):
        report_id, kind = "", ""
    return (arrived, headers.get("webhook-id", ""), kind, report_id)


async def serve(port: int) -> None:
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
                    records.append(_record(headers, body, time.time()))
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
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
