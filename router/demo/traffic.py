"""`lanerouter traffic`: a steady, varied load against a running lanerouter, so that a demo
stack's dashboard shows every lane, route reason and outcome (and so you can try a config)."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import httpx

USER = "user"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read_file",
            "description": "Read a file of the repository",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
]
HISTORY = [
    {"role": USER, "content": "Write a Python function that merges two sorted lists."},
    {"role": "assistant", "content": "def merge(a, b):\n    return sorted(a + b)"},
]


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": USER, "content": text}]


# (what it shows on the dashboard, request body, extra headers)
MIX: list[tuple[str, dict[str, Any], dict[str, str]]] = [
    ("default -> chat", {"messages": ask("Explain Python's GIL.")}, {}),
    (
        "tools -> tools",
        {"tools": TOOLS, "messages": ask("Open main.py")},
        {},
    ),
    (
        "security -> audit",
        {"messages": ask("Do a security review of this.")},
        {},
    ),
    ("model -> tools", {"model": "tools", "messages": ask("Hi")}, {}),
    ("header -> chat", {"messages": ask("Hi")}, {"X-Lane": "chat"}),
    (
        "continued conversation (prompt cache)",
        {"messages": [*HISTORY, {"role": USER, "content": "Now make it a generator."}]},
        {},
    ),
]


async def one(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str],
              leave_early: bool) -> None:  # fmt: skip
    body = {"model": "auto", "stream": True, "max_tokens": 48} | body
    async with client.stream("POST", "/v1/chat/completions", json=body, headers=headers) as r:
        async for index, _ in aenumerate(r.aiter_raw()):
            if leave_early and index >= 3:  # a client that gives up: counted as disconnected
                return


async def aenumerate(chunks: Any) -> Any:
    index = 0
    async for chunk in chunks:
        yield index, chunk
        index += 1


async def run(url: str, rate: float, count: int | None, seed: int = 0) -> int:
    """Start `rate` requests per second (at most 16 at once), `count` in all or forever."""
    rng = random.Random(seed)
    sent, limit = 0, asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, timeout=600, trust_env=False) as client:
        tasks: set[asyncio.Task[None]] = set()
        for n in itertools.count():
            if count is not None and n >= count:
                break
            _, body, headers = MIX[n % len(MIX)] if n < len(MIX) else rng.choice(MIX)
            await limit.acquire()
            task = asyncio.create_task(guarded(client, body, headers, rng.random() < 0.1, limit))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)
    return sent


async def guarded(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str],
                  leave_early: bool, limit: asyncio.Semaphore) -> None:  # fmt: skip
    try:
        await one(client, body, headers, leave_early)
    except httpx.HTTPError as exc:  # lanerouter restarting, say: keep going
        print(f"traffic: {type(exc).__name__}: {exc}", flush=True)
    finally:
        limit.release()
