"""The routes beside the proxied ones: the model list, /metrics, /healthz and /readyz."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from router.decide.routing import RouteTable
from router.dispatch.lanestate import LaneStates
from router.dispatch.limits import EngineLimits
from router.observe.multiprocess import scrape

if TYPE_CHECKING:
    from router.dispatch.shared import SharedAdmission


def add_info_routes(
    app: FastAPI,
    table: RouteTable,
    states: LaneStates,
    registry: CollectorRegistry,
    limits: EngineLimits,
    shared: SharedAdmission | None,
) -> None:
    started = int(time.time())

    def model_entry(model_id: str) -> dict[str, object]:
        return {"id": model_id, "object": "model", "created": started, "owned_by": "lanerouter"}

    # Like the POSTs, every GET under /v1 also answers without it (base URLs without /v1).
    @app.get("/v1/models", include_in_schema=False)
    @app.get("/models", include_in_schema=False)
    async def models() -> JSONResponse:
        return JSONResponse({"object": "list", "data": [model_entry(m) for m in table.listed_ids]})

    @app.get("/v1/models/{model_id:path}", include_in_schema=False)
    @app.get("/models/{model_id:path}", include_in_schema=False)
    async def model(model_id: str) -> JSONResponse:
        if model_id not in table.listed_ids:
            raise HTTPException(404, f"model {model_id!r} not found; see GET /v1/models")
        return JSONResponse(model_entry(model_id))

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(scrape(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        lanes = {name: states.lane_health(name) for name in states.lanes}
        # With shared admission, not before Redis has answered once: a replica that started
        # without it would admit on its own and overload one-slot lanes.
        admitting = shared is None or shared.reach.answered
        ready = admitting and any(health.reachable for health in lanes.values())
        body = {
            "status": "ready" if ready else "unavailable",
            "admission": admission_state(shared),
            "lanes": {
                name: {
                    "reachable": h.reachable,
                    "state": h.state,
                    "detail": h.detail,
                    "ctx_size": limits.ctx(name),
                    "ctx_from": limits.source(name),
                }
                for name, h in lanes.items()
            },
        }
        return JSONResponse(body, status_code=200 if ready else 503)


def admission_state(shared: SharedAdmission | None) -> dict[str, object]:
    if shared is None:
        return {"backend": "embedded"}
    return {"backend": "redis", "redis": shared.reach.where, "shared": bool(shared.reach.shared)}
