"""A simulated inference engine: a small ASGI app that speaks one engine's dialect at its pace.

It serves `lanerouter serve --demo` and is the scriptable fake engine of the test suite.
"""

from __future__ import annotations

import asyncio
from typing import Any

from router.demo import responses_wire
from router.demo.asgi import error, lifespan, parse_json, read_body, send_health, send_json
from router.demo.dialects import stream_steps, whole_body
from router.demo.pacer import Pacer, paused
from router.demo.plan import (
    Plan,
)
from router.demo.planner import Profile, plan_for
from router.demo.script import Behaviour, Received, Script

Scope = dict[str, Any]
Receive = Any
Send = Any


# What llama.cpp answers, to /health and to requests alike, while it loads the model.
LOADING = {"error": {"message": "Loading model", "type": "unavailable_error", "code": 503}}


class SimEngine:
    def __init__(self, profile: Profile, *, speed: float = 1.0, script: Script | None = None):
        self.profile = profile
        self.speed = speed
        self.script = script or Script()
        self.last_prompt = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        method, path = scope["method"], scope["path"]
        raw = await read_body(receive)
        body = parse_json(raw)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query = scope["query_string"].decode("latin-1")
        port = scope["client"][1] if scope.get("client") else 0
        if method == "GET":
            self.script.health_checks += path == "/health"
            await self.get(path, send)
            return
        self.script.received.append(Received(method, path, query, port, headers, body))
        if self.script.loading:
            await send_json(send, 503, LOADING)
        elif method == "POST" and path in POST_PATHS and body is not None:
            await self.post(path, body, receive, send)
        elif method == "POST" and path in POST_PATHS:
            await send_json(send, 400, error("invalid JSON body", "invalid_request_error", 400))
        else:
            await send_json(send, 404, error("File Not Found", "not_found_error", 404))

    async def get(self, path: str, send: Send) -> None:
        if path == "/health" and self.script.loading:
            await send_json(send, 503, LOADING)
        elif path == "/health":
            await send_health(send, self.profile.dialect)
        elif path in ("/v1/models", "/models"):
            model: dict[str, Any] = {"id": self.profile.model, "object": "model", "owned_by": "sim"}
            if self.profile.dialect == "vllm":
                model["max_model_len"] = self.profile.ctx_size
            await send_json(send, 200, {"object": "list", "data": [model]})
        elif path == "/props" and self.profile.dialect != "vllm":
            props = {"default_generation_settings": {"n_ctx": self.profile.ctx_size}}
            await send_json(send, 200, props | {"total_slots": 1})
        else:
            await send_json(send, 404, error("File Not Found", "not_found_error", 404))

    async def post(self, path: str, body: dict[str, Any], receive: Receive, send: Send) -> None:
        behaviour = self.script.next()
        if behaviour.status >= 400:
            message = error(
                f"scripted failure {behaviour.status}", "server_error", behaviour.status
            )
            await send_json(send, behaviour.status, behaviour.error or message)
            return
        self.script.started()
        try:
            await self.hold(behaviour)
            await self.generate(path, body, behaviour, receive, send)
        finally:
            self.script.in_flight -= 1

    async def generate(
        self, path: str, body: dict[str, Any], behaviour: Behaviour, receive: Receive, send: Send
    ) -> None:
        try:
            plan, self.last_prompt = plan_for(self.profile, path, body, behaviour, self.last_prompt)
        except (TypeError, AttributeError, ValueError) as exc:  # a body no real engine takes
            message = error(f"invalid request: {exc}", "invalid_request_error", 400)
            await send_json(send, 400, message)
            return
        self.script.plans.append(plan)
        first_delay, token_delay = self.delays(plan, behaviour)
        prompt_ms, predicted_ms = first_delay * 1000, token_delay * plan.completion_tokens * 1000
        if path == "/v1/messages/count_tokens":
            await send_json(send, 200, {"input_tokens": plan.prompt_tokens})
        elif path == "/v1/embeddings":
            inputs = body.get("input")
            await send_json(send, 200, responses_wire.embeddings_body(plan, as_list(inputs)))
        elif body.get("stream") is True:
            steps = stream_steps(path, plan, prompt_ms, predicted_ms)
            pacer = Pacer(receive, first_delay, token_delay, behaviour)
            await pacer.run(send, steps, self.script)
        else:
            await asyncio.sleep(first_delay + token_delay * plan.completion_tokens)
            if behaviour.pause_after is not None:
                await paused(None, behaviour)
            await send_json(send, 200, whole_body(path, plan, prompt_ms, predicted_ms))
            self.script.completed += 1

    async def hold(self, behaviour: Behaviour) -> None:
        """Let a test see how many requests reach the engine at once, whatever the machine load."""
        for _ in range(1000):
            if self.script.in_flight >= (behaviour.hold_until_in_flight or 0):
                return
            await asyncio.sleep(0.01)

    def delays(self, plan: Plan, behaviour: Behaviour) -> tuple[float, float]:
        uncached = plan.prompt_tokens - plan.cached_tokens
        first = uncached / self.profile.prefill_tps / self.speed
        token = 1 / self.profile.decode_tps / self.speed
        if behaviour.first_token_delay is not None:
            first = behaviour.first_token_delay
        if behaviour.token_delay is not None:
            token = behaviour.token_delay
        return first, token


POST_PATHS = frozenset(
    {
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/responses",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/embeddings",
    }
)


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else [value]
