"""How long the routing decision takes on a long agent conversation (it runs before every request).

    python benchmarks/routing.py     # p50/p99 of intent.classify + routing.choose_lane, in ms

The conversation is about 32K tokens (~128K characters), as a Cline-style agent sends it: a long
system prompt full of policy lines, an audit request, twenty files read as tool results, and a
latest turn that is a short follow-up, the slowest path (the earlier turns are read too).
Target (issue P8): p99 under 0.2 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from router.configfile import load_settings
from router.decide.intent import classify
from router.decide.routing import RouteTable, build_route_table, choose_lane

CODE = 'def handler(request):\n    user = db.query(f"SELECT * FROM users WHERE id={request.id}")\n'
POLICY = (
    "You are a coding agent that helps with software engineering tasks. Never introduce code "
    "that exposes secrets. Follow security best practices. Analyzing code for vulnerabilities "
    "is allowed. Always read a file before you change it. Use the tools described below.\n"
)


def conversation() -> dict[str, object]:
    messages: list[dict[str, object]] = [{"role": "system", "content": POLICY * 60}]
    task = "<task>Check the query handlers for SQL injection.</task>\n<environment_details>"
    messages.append({"role": "user", "content": task + "src/\n" * 50 + "</environment_details>"})
    for turn in range(20):  # the agent reads files: tool results sent as user turns
        messages.append({"role": "assistant", "content": f"<read_file><path>src/app{turn}.py"})
        result = f"[read_file for 'src/app{turn}.py'] Result:\n{CODE * 60}"
        messages.append({"role": "user", "content": result})
    messages.append({"role": "user", "content": "and the admin one?"})
    return {"model": "gpt-4o", "messages": messages, "stream": True}


def timed(table: RouteTable, body: dict[str, object]) -> float:
    started = time.perf_counter()
    choose_lane(table, classify(body), None)
    return time.perf_counter() - started


def parsed(body: dict[str, object], copies: int) -> list[dict[str, object]]:
    """Fresh copies, as each request's JSON parse makes them (new strings, no cached hashes)."""
    text = json.dumps(body)
    return [json.loads(text) for _ in range(copies)]


def report(name: str, timings: list[float]) -> None:
    timings.sort()
    p50, p99 = statistics.median(timings), timings[int(len(timings) * 0.99)]
    print(f"{name:<44} p50 {p50 * 1000:.3f} ms  p99 {p99 * 1000:.3f} ms")


def main() -> int:
    settings = load_settings(None)
    body = conversation()
    chars = sum(len(str(m["content"])) for m in body["messages"])  # type: ignore[union-attr]
    route = choose_lane(build_route_table(settings), classify(body), None)
    print(f"{chars} characters (~{chars // 4} tokens) -> {route.lane} ({route.reason})")
    # The next request of a running conversation: its earlier turns were read last time.
    table = build_route_table(settings)
    timed(table, body)
    warm = [timed(table, copy) for copy in parsed(body, 1000)]
    # The first request of a long conversation lanerouter has not seen (e.g. after a restart).
    tables = [build_route_table(settings) for _ in range(200)]
    cold = [timed(table, copy) for table, copy in zip(tables, parsed(body, 200), strict=True)]
    report("next request of the conversation", warm)
    report("first request of an unseen conversation", cold)
    print("target: p99 < 0.2 ms for the next request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
