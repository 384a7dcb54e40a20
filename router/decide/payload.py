"""The body lanerouter sends upstream: the client's, with the lane's model and defaults. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from router.config import EngineKind, LaneConfig
from router.decide.budget import Cap, output_cap

# The llama.cpp-family endpoints whose non-streamed answers are built from a stream.
ASSEMBLED_PATHS = frozenset({"/v1/chat/completions", "/v1/completions"})

# Endpoints whose streams report usage only when asked (`stream_options.include_usage`).
USAGE_ON_REQUEST = frozenset({"/v1/chat/completions", "/v1/completions"})


def needs_usage_request(engine: EngineKind, path: str, body: Mapping[str, Any]) -> bool:
    """Whether to ask the engine for a usage event the client did not ask for.

    Only vLLM needs it: llama.cpp and ik_llama.cpp put `timings` (prompt, cached and generated
    token counts) on the finish event of every stream, and asking them for usage would move
    those timings off the finish event the client sees.
    """
    if engine != "vllm" or path not in USAGE_ON_REQUEST or body.get("stream") is not True:
        return False
    options = body.get("stream_options")
    return not (isinstance(options, dict) and options.get("include_usage") is True)


def streams_for_assembly(engine: EngineKind, path: str, body: Mapping[str, Any]) -> bool:
    """Whether a non-streaming request goes upstream as a stream (see router.stream.assemble)."""
    family = engine in ("llamacpp", "ik_llamacpp")
    return family and path in ASSEMBLED_PATHS and body.get("stream") is not True


def needs_output_limit(engine: EngineKind, path: str) -> bool:
    """ik_llama.cpp without a `max_tokens` generates until its context is full, then aborts in
    its context shift (crash_no_max_tokens_fresh_server.txt): it always gets one."""
    return engine == "ik_llamacpp" and path in ASSEMBLED_PATHS


def upstream_body(
    body: Mapping[str, Any],
    lane: LaneConfig,
    apply_defaults: bool,
    ask_usage: bool,
    assemble: bool = False,
    cap: Cap | None = None,
) -> bytes:
    """The client's body with `model` set to the lane's and the lane's defaults filled in."""
    merged = merge_defaults(body, lane.request_defaults) if apply_defaults else dict(body)
    merged["model"] = lane.model
    if cap is not None:
        merged[cap.key] = cap.tokens
    if assemble:
        merged["stream"] = True
    if ask_usage or assemble:
        options = merged.get("stream_options")
        merged["stream_options"] = (options if isinstance(options, dict) else {}) | {
            "include_usage": True
        }
    return json.dumps(merged, ensure_ascii=False).encode()


def lane_body(
    lane: LaneConfig,
    path: str,
    body: Mapping[str, Any],
    apply_defaults: bool,
    prompt_tokens: int,
    ctx_size: int | None = None,
    counted: bool = False,
) -> tuple[bytes, Cap | None]:
    """Everything `upstream_body` needs to know about this lane and request, decided here; and
    the output cap it applied, if any. `ctx_size`: the engine's own figure, when known;
    `counted`: `prompt_tokens` is an engine's count, not the estimate."""
    ask_usage = needs_usage_request(lane.engine, path, body)
    assembled = streams_for_assembly(lane.engine, path, body)
    needs_one = needs_output_limit(lane.engine, path)
    ctx = ctx_size or lane.ctx_size
    cap = output_cap(lane.engine, body, ctx, prompt_tokens, needs_one, counted)
    return upstream_body(body, lane, apply_defaults, ask_usage, assembled, cap), cap


def merge_defaults(body: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge where the client's value wins at every level."""
    merged = dict(body)
    for key, default in defaults.items():
        current = merged.get(key)
        if key not in merged:
            merged[key] = default
        elif isinstance(current, dict) and isinstance(default, dict):
            merged[key] = merge_defaults(current, default)
    return merged
