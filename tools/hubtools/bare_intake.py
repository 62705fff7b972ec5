"""The base of the intake benchmark: a bare FastAPI app that validates the hub's permit
model (`PermitIn`) and answers 202, with no signature check, database or Kafka.

`python -m hubtools.bare_intake --port N` serves it with uvicorn as permit-ingest is served
(one process, no access log), so the ratio hub/bare is the hub's own cost.
"""

from __future__ import annotations

import argparse
import uuid

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from permit_ingest.schemas import PermitIn


def create_app() -> FastAPI:
    app = FastAPI(title="bare intake")

    @app.post("/v1/permits", status_code=202)
    async def post_permit(permit: PermitIn) -> JSONResponse:
        body = {"event_id": str(uuid.uuid4()), "permit_no": permit.permit_no, "status": "accepted"}
        return JSONResponse(body, status_code=202)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
