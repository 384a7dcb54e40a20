"""The status page's JSON API and its live feed, and the page itself (router/ui, static files
shipped in the package: no build step, nothing from a CDN).

    GET /api/status              lanes (state, slots in use, queue), streams in flight, the last
                                 requests, token-weighted decode rate per lane over 5 min and 1 h
    GET /api/requests            finished records, newest first (?id_prefix=...&limit=...)
    GET /api/events              the same as /api/status, as an SSE `status` event each second
    GET /ui                      the page
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from router.config import LaneConfig
from router.dispatch.admission import Gate
from router.dispatch.lanestate import LaneStates
from router.dispatch.placement import Placement
from router.enginerefs import EngineRef
from router.observe.live import LiveBoard
from router.stream.drain import Drain

UI = Path(__file__).resolve().parent / "ui"
FILES = {"app.js": "text/javascript", "style.css": "text/css"}
SHOWN = 20  # last requests on the page
FEED_SECONDS = 1.0
FEED_LIFETIME = 300.0  # then the feed ends and EventSource reconnects (no stream lives forever)


def status(
    lanes: dict[str, LaneConfig],
    states: LaneStates,
    gates: Mapping[str, Gate],
    board: LiveBoard,
    placement: Placement,
) -> dict[str, Any]:
    def engine(ref: EngineRef) -> dict[str, Any]:  # with this process's requests at it
        in_use = placement.loads[ref.key]
        return {"name": ref.name, "state": states.state(ref.key), "slots": ref.slots,
                "slots_in_use": in_use}  # fmt: skip

    def lane(name: str, config: LaneConfig) -> dict[str, Any]:
        health = states.lane_health(name)
        return {
            "engine": config.engine,
            "state": health.state,
            "detail": health.detail,
            "slots": gates[name].slots,
            "slots_in_use": gates[name].in_use,
            "queued": gates[name].queued,
            "engines": [engine(e) for e in placement.engines[name]],
        }

    return {
        "lanes": {name: lane(name, config) for name, config in lanes.items()},
        "inflight": board.streams(),
        "recent": board.last(SHOWN),
        "decode_tps": {"5m": board.weighted_decode(300), "1h": board.weighted_decode(3600)},
        "pid": os.getpid(),  # with --workers, each worker shows what it serves itself
    }


def add_status_routes(
    app: FastAPI, snapshot: Callable[[], dict[str, Any]], board: LiveBoard, drain: Drain
) -> None:
    @app.get("/api/status", include_in_schema=False)
    async def api_status() -> JSONResponse:
        return JSONResponse(snapshot())

    @app.get("/api/requests", include_in_schema=False)
    async def api_requests(id_prefix: str = "", limit: int = 100) -> JSONResponse:
        return JSONResponse({"requests": board.last(max(min(limit, 1000), 0), id_prefix)})

    @app.get("/api/events", include_in_schema=False)
    async def api_events() -> StreamingResponse:
        return StreamingResponse(feed(snapshot, drain), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})  # fmt: skip

    @app.get("/ui", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(UI / "index.html", media_type="text/html")

    @app.get("/ui/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        if name not in FILES:
            return JSONResponse({"error": {"message": "not found", "code": "not_found"}}, 404)
        return FileResponse(UI / name, media_type=FILES[name])


async def feed(snapshot: Callable[[], dict[str, Any]], drain: Drain) -> AsyncIterator[bytes]:
    """A `status` event each second, until the server drains, the config is reloaded (the page
    reconnects and sees the new lanes) or the feed's lifetime ends."""
    yield b"retry: 2000\n\n"
    started_on = snapshot().get("config", {}).get("generation")
    for _ in range(int(FEED_LIFETIME / FEED_SECONDS)):
        shown = snapshot()
        if drain.draining or shown.get("config", {}).get("generation") != started_on:
            return
        yield b"event: status\ndata: " + json.dumps(shown).encode() + b"\n\n"
        await asyncio.sleep(FEED_SECONDS)
