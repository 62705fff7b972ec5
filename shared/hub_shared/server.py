"""Run one service with uvicorn: `python -m <service package>` calls `serve`."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from hub_shared.config import ServiceName, ServiceSettings
from hub_shared.logs import configure_logging


def serve(service: ServiceName, create_app: Callable[[ServiceSettings], FastAPI]) -> None:
    settings = ServiceSettings.load(service)
    configure_logging(service, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )
