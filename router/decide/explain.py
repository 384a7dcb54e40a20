"""`lanerouter route`: which lane a request body would get, and why, without calling an engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from router.config import Settings
from router.decide.intent import classify
from router.decide.judge import Verdict
from router.decide.routing import build_route_table, choose_by_content, choose_lane

EPILOG = """\
examples:
  lanerouter route request.json
  echo '{"messages":[{"role":"user","content":"Is this open to SSRF? ..."}]}' | lanerouter route
  lanerouter route --json < captured-request.json

The body may be any of the four shapes: OpenAI chat (messages), completions (prompt),
responses (instructions + input) or Anthropic messages (system + messages)."""


def read_body(path: str | None, stdin: TextIO) -> dict[str, Any]:
    text = stdin.read() if path in (None, "-") else Path(str(path)).read_text(encoding="utf-8")
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


def explain(settings: Settings, body: dict[str, Any], forced: str | None) -> dict[str, Any]:
    table = build_route_table(settings)
    intent = classify(body)
    route = choose_lane(table, intent, forced)
    verdict: Verdict | None = None
    if route.reason not in ("header", "model", "tools"):
        _, verdict = choose_by_content(table, intent)
    return {
        "lane": route.lane,
        "reason": route.reason,
        "score": verdict.score if verdict else None,
        "threshold": settings.intent.threshold,
        "verdict": verdict.reason if verdict else None,
        "signals": [{"signal": s, "term": t, "weight": w} for s, t, w in verdict.evidence]
        if verdict
        else [],
    }


def print_explained(found: dict[str, Any], out: TextIO = sys.stdout) -> None:
    print(f"lane:   {found['lane']}", file=out)
    print(f"reason: {found['reason']}", file=out)
    if found["score"] is not None:
        print(f"score:  {found['score']:g} (audit at {found['threshold']:g} with a reason to;"
              f" the judge says: {found['verdict']})", file=out)  # fmt: skip
    for signal in found["signals"]:
        term = f'"{signal["term"]}"' if signal["term"] else ""
        print(f"  {signal['weight']:+5.1f}  {signal['signal']:<10} {term}", file=out)
