"""Walkthrough helpers: sign and post a permit as an approval system would, and run an
office's webhook receiver that verifies and prints what the hub delivers."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse

import httpx
import typer
import uvicorn
from rich.console import Console
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub_shared.config import EnvSettings, load_hub_config
from hub_shared.web import webhooks

console = Console()


def post_permit(
    file: Annotated[Path, typer.Argument(help="a permit JSON file (docs/interfaces.md §4)")],
    source: Annotated[str, typer.Option(help="source id in the config")] = "jining-approval",
    amend: Annotated[bool, typer.Option(help="PUT as an amendment")] = False,
) -> None:
    """Sign a permit with the source's Standard Webhooks secret and post it to permit-ingest."""
    env = EnvSettings()
    hub = load_hub_config(env.config)
    secret = next((s.secret for s in hub.sources if s.id == source), None)
    if secret is None:
        console.print(f"[red]no source {source!r} in {env.config}[/]")
        raise typer.Exit(2)
    body = file.read_bytes()
    permit_no = json.loads(body)["permit_no"]
    headers = webhooks.sign([secret.get_secret_value()], f"msg_{uuid.uuid4().hex}", body)
    headers |= {"X-Hub-Source": source, "Content-Type": "application/json"}
    base = f"http://127.0.0.1:{env.permit_ingest_port}/v1/permits"
    with httpx.Client(timeout=10) as client:
        if amend:
            response = client.put(f"{base}/{permit_no}", content=body, headers=headers)
        else:
            response = client.post(base, content=body, headers=headers)
    console.print(f"HTTP {response.status_code}")
    console.print_json(response.text)


def receiver(
    office: Annotated[str, typer.Option(help="office id whose webhook_url to serve")] = "rencheng",
) -> None:
    """Listen on the office's webhook_url, verify each delivery's signature, print the alert."""
    env = EnvSettings()
    hub = load_hub_config(env.config)
    found = next((o for o in hub.offices if o.id == office), None)
    if found is None or not found.webhook_url or found.webhook_secret is None:
        console.print(
            f"[red]office {office!r} has no webhook_url/webhook_secret in {env.config}[/]"
        )
        raise typer.Exit(2)
    verifier = Webhook(found.webhook_secret.get_secret_value())
    url = urlparse(found.webhook_url)

    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            verifier.verify(body, dict(request.headers))
        except Exception as exc:
            console.print(f"[red]rejected a delivery: {exc}[/]")
            return Response(status_code=401)
        event = json.loads(body)
        alert = event["data"]
        console.rule(f"{event['type'].rsplit('.', 1)[-1]}  webhook-id {event['id']}")
        console.print(f"[bold]{alert['kind']}[/] {alert['status']} · {alert['division_code']}")
        console.print(alert["reason"])
        console.print_json(json.dumps(alert["subject"], ensure_ascii=False))
        return Response(status_code=204)

    app = Starlette(routes=[Route(url.path or "/", receive, methods=["POST"])])
    console.print(f"office {office}: listening on {found.webhook_url} (signatures verified)")
    uvicorn.run(app, host=url.hostname or "127.0.0.1", port=url.port or 80, log_level="warning")
