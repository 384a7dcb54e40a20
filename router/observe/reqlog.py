"""One JSON line per request: where it went, how it ended, and what was measured."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from router.observe.exchange import ENDPOINTS, Exchange, Finished


def round_or_none(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def log_record(
    exchange: Exchange, end: Finished, reprocessed: bool, include_text: bool
) -> dict[str, Any]:
    m = exchange.measurement
    tokens = m.tokens.resolved()
    ttft = m.ttft
    record: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "request_id": exchange.request_id,
        "lane": exchange.lane,
        "reason": exchange.reason,
        "endpoint": ENDPOINTS.get(exchange.endpoint, "other"),
        "stream": exchange.streamed,
        "status": end.status,
        "outcome": end.outcome.value,
        "prompt_tokens": tokens.prompt,
        "cached_tokens": tokens.cached,
        "completion_tokens": m.completion_tokens,
        "ttft_ms": None if ttft is None else round(ttft * 1000, 1),
        "prefill_tps": round_or_none(m.prefill_tps),
        "decode_tps": round_or_none(m.decode_tps),
        "total_ms": None if m.ended is None else round((m.ended - m.arrived) * 1000, 1),
        "queue_ms": round(m.queue_wait * 1000, 1),
        "reprocessed": reprocessed,
        "max_tokens_capped": exchange.cap.note if exchange.cap else None,
        "key": exchange.key,
    }
    if include_text:
        record |= {"prompt": exchange.prompt_text, "completion": end.completion_text}
    return record


class RequestLog:
    """Writes to stdout, to a file (appended), or nowhere ("off")."""

    def __init__(self, destination: str, include_text: bool) -> None:
        self.include_text = include_text
        self.stream: TextIO | None = None
        if destination == "stdout":
            self.stream = sys.stdout
        elif destination != "off":
            self.stream = open(destination, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def write(self, exchange: Exchange, end: Finished, reprocessed: bool) -> None:
        if self.stream is not None:
            record = log_record(exchange, end, reprocessed, self.include_text)
            line = json.dumps(record, ensure_ascii=False)
            self.stream.write(line + "\n")

    def close(self) -> None:
        if self.stream is not None and self.stream is not sys.stdout:
            self.stream.close()
