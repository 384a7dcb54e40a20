"""One finished request as a flat record: what the request log writes as a JSON line and the
request store keeps as a row, so `lanerouter report` reads the same fields from either."""

from __future__ import annotations

import time
from typing import Any

from router.observe.exchange import ENDPOINTS, Exchange, Finished

# The record's fields, in order: the store's columns (router/observe/storedb.py) follow them.
FIELDS = (
    "ts", "request_id", "lane", "reason", "endpoint", "engine", "stream", "status", "outcome",
    "prompt_tokens", "cached_tokens", "completion_tokens", "ttft_ms", "prefill_tps",
    "decode_tps", "total_ms", "queue_ms", "reprocessed", "failed_over_from",
    "max_tokens_capped", "conversation", "key", "engine_name",
)  # fmt: skip


def round_or_none(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def request_record(
    exchange: Exchange, end: Finished, reprocessed: bool, engine: str | None
) -> dict[str, Any]:
    m = exchange.measurement
    tokens = m.tokens.resolved()
    planned = exchange.planned_lane
    return {
        "ts": round(time.time(), 3),
        "request_id": exchange.request_id,
        "lane": exchange.lane,
        "reason": exchange.reason,
        "endpoint": ENDPOINTS.get(exchange.endpoint, "other"),
        "engine": engine,
        "stream": exchange.streamed,
        "status": end.status,
        "outcome": end.outcome.value,
        "prompt_tokens": tokens.prompt,
        "cached_tokens": tokens.cached,
        "completion_tokens": m.completion_tokens,
        "ttft_ms": milliseconds(m.ttft),
        "prefill_tps": round_or_none(m.prefill_tps),
        "decode_tps": round_or_none(m.decode_tps),
        "total_ms": None if m.ended is None else milliseconds(m.ended - m.arrived),
        "queue_ms": milliseconds(m.queue_wait),
        "reprocessed": reprocessed,
        "failed_over_from": planned if planned and planned != exchange.lane else None,
        "max_tokens_capped": exchange.cap.note if exchange.cap else None,
        "conversation": exchange.conversation_id,
        "key": exchange.key,
        "engine_name": exchange.engine_name,  # which of the lane's engines (config's name)
    }
