"""One JSON line per request: where it went, how it ended, and what was measured."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from router.observe.exchange import Exchange, Finished


def log_line(
    record: dict[str, Any], exchange: Exchange, end: Finished, include_text: bool
) -> dict[str, Any]:
    """The record with a readable time first, and the texts when the log asks for them."""
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record["ts"]))} | record
    if include_text:
        line |= {"prompt": exchange.prompt_text, "completion": end.completion_text}
    return line


class RequestLog:
    """Writes to stdout, to a file (appended), or nowhere ("off")."""

    def __init__(self, destination: str, include_text: bool) -> None:
        self.include_text = include_text
        self.stream: TextIO | None = None
        if destination == "stdout":
            self.stream = sys.stdout
        elif destination != "off":
            self.stream = open(destination, "a", encoding="utf-8", buffering=1)  # noqa: SIM115

    def write(self, record: dict[str, Any], exchange: Exchange, end: Finished) -> None:
        if self.stream is not None:
            line = log_line(record, exchange, end, self.include_text)
            self.stream.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self.stream is not None and self.stream is not sys.stdout:
            self.stream.close()
