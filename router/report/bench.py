"""`lanerouter bench`: replay a task file on chosen lanes through a running lanerouter, each
request forced with X-Lane and streamed, the lanes side by side; live progress, then the
report of just those requests, read back from lanerouter's own records (/api/requests), so
the figures are the ones `lanerouter report` and /metrics give.

A task file is JSON lines, each {"id": ..., "body": {...request body...}} (or the body's
fields beside "id"); the package ships a default set (tasks.jsonl).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DEFAULT_TASKS = Path(__file__).resolve().parent / "tasks.jsonl"
CONTENT_MARKERS = (b'"content":"', b'"text":"', b'"text_delta"', b'"delta":"')


@dataclass(frozen=True)
class Task:
    id: str
    body: dict[str, Any]


def load_tasks(path: Path) -> list[Task]:
    tasks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        entry = json.loads(line)
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            raise ValueError(f"{path}:{number}: each line is an object with a string id")
        body = entry["body"] if isinstance(entry.get("body"), dict) else entry
        tasks.append(Task(entry["id"], {k: v for k, v in body.items() if k != "id"}))
    return tasks


@dataclass
class LaneProgress:
    total: int
    done: int = 0
    failed: int = 0
    current: str = ""
    events: int = 0  # content events of the answer under way
    first: float = 0.0  # when its first and latest content events came
    latest: float = 0.0

    @property
    def tok_s(self) -> float | None:
        """The answer's own rate so far (content events over their time), kept once it ends."""
        elapsed = self.latest - self.first
        return (self.events - 1) / elapsed if self.events > 1 and elapsed > 0 else None

    def saw(self, chunk: bytes) -> None:
        events = sum(chunk.count(marker) for marker in CONTENT_MARKERS)
        if events:
            self.latest = time.monotonic()
            self.first = self.first if self.events else self.latest
            self.events += events


class Bench:
    def __init__(self, url: str, lanes: list[str], tasks: list[Task], repeat: int,
                 headers: dict[str, str]) -> None:  # fmt: skip
        self.url, self.lanes, self.tasks, self.repeat = url.rstrip("/"), lanes, tasks, repeat
        self.headers = headers
        self.run_id = f"bench-{uuid.uuid4().hex[:6]}"
        self.progress = {lane: LaneProgress(len(tasks) * repeat) for lane in lanes}

    async def run(self) -> None:
        """Every lane at once, each lane's tasks one after another (a lane's own speed)."""
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=600.0)) as client:
            await asyncio.gather(*(self.run_lane(client, lane) for lane in self.lanes))

    async def run_lane(self, client: httpx.AsyncClient, lane: str) -> None:
        progress = self.progress[lane]
        for n in range(self.repeat):
            for task in self.tasks:
                progress.current, progress.events = task.id, 0
                ok = await self.send(client, lane, task, f"{self.run_id}-{task.id}-{lane}-{n}")
                progress.done += 1
                progress.failed += 0 if ok else 1

    async def send(self, client: httpx.AsyncClient, lane: str, task: Task, rid: str) -> bool:
        progress = self.progress[lane]
        headers = self.headers | {"x-lane": lane, "x-request-id": rid}
        body, url = task.body | {"stream": True}, self.url + "/v1/chat/completions"
        try:
            async with client.stream("POST", url, json=body, headers=headers) as answer:
                async for chunk in answer.aiter_bytes():
                    progress.saw(chunk)
                return answer.status_code == 200
        except httpx.HTTPError:
            return False

    def task_of(self, request_id: str) -> tuple[str, str]:
        """(task id, lane) from one of this run's request ids."""
        task, lane, _ = request_id.removeprefix(self.run_id + "-").rsplit("-", 2)
        return task, lane

    def records(self) -> list[dict[str, Any]]:
        """lanerouter's records of this run's requests (finished ones only)."""
        answer = httpx.get(self.url + "/api/requests", headers=self.headers, timeout=30,
                           params={"id_prefix": self.run_id + "-", "limit": 1000})  # fmt: skip
        answer.raise_for_status()
        return sorted(answer.json()["requests"], key=lambda r: r["ts"])
