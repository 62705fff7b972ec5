"""The FastAPI dependencies every service's routes share: its runtime and a session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from hub_shared.runtime import ServiceRuntime


def runtime_of(request: Request) -> ServiceRuntime:
    """The service's runtime, which its lifespan put on the app (hub_shared.service_app)."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[ServiceRuntime, Depends(runtime_of)]


async def session_of(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session for the request, closed after the response."""
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(session_of)]
