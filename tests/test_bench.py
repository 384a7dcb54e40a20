"""`lanerouter bench`: the shipped tasks load; a replay sends every task to every chosen lane
(forced with X-Lane) and reports just those requests from lanerouter's own records; Ctrl-C
stops it with a partial report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from conftest import Engine
from helpers import wait_for

from router.cli import main
from router.demo.script import Behaviour
from router.report.bench import DEFAULT_TASKS, load_tasks

TASKS = [{"id": "regex", "body": {"messages": [{"role": "user", "content": "explain ^a+$"}],
                                  "max_tokens": 20}},
         {"id": "sql-fix", "messages": [{"role": "user", "content": "fix: SELECT * FORM t"}],
          "max_tokens": 30}]  # fmt: skip


def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(task) + "\n" for task in TASKS))
    return path


def test_the_shipped_tasks_are_varied_coding_tasks() -> None:
    tasks = load_tasks(DEFAULT_TASKS)
    assert len(tasks) >= 8 and len({t.id for t in tasks}) == len(tasks)
    sizes = sorted(len(json.dumps(t.body)) for t in tasks)
    assert sizes[-1] > 4 * sizes[0]  # short asks and long code alike
    assert len({t.body["max_tokens"] for t in tasks}) > 4


def test_a_replay_reports_every_task_on_every_lane(
    router_url: str, engines: dict[str, Engine], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    args = ["bench", str(task_file(tmp_path)), "--url", router_url, "--repeat", "2"]
    assert main([*args, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    lanes = {lane["lane"]: lane for lane in report["lanes"]}
    assert {name: lane["requests"] for name, lane in lanes.items()} == {
        "audit": 4, "chat": 4, "tools": 4}  # fmt: skip
    assert all(lane["reasons"] == {"header": 4} and lane["ok"] == 4 for lane in lanes.values())
    run = report["tasks"]["chat"][0]["request_id"].split("-")[1]  # bench-<run>-<task>-...
    sent = {lane: sum(r.headers.get("x-request-id", "").startswith(f"bench-{run}-")
                      for r in e.script.received) for lane, e in engines.items()}  # fmt: skip
    assert sent == {"audit": 4, "chat": 4, "tools": 4}  # each lane's own engine
    assert main([*args[:-2], "--lanes", "chat", "--format", "md"]) == 0
    assert "| regex | " in capsys.readouterr().out  # the task-by-lane table


def test_ctrl_c_stops_with_a_partial_report(
    router_url: str, engines: dict[str, Engine], tmp_path: Path
) -> None:
    def finished() -> int:
        records = httpx.get(router_url + "/api/requests", params={"id_prefix": "bench-"})
        return len(records.json()["requests"])

    before = finished()  # earlier runs' records
    resume = threading.Event()
    engines["audit"].script.push(Behaviour(), Behaviour(pause_after=1, resume=resume))
    command = [sys.executable, "-m", "router", "bench", str(task_file(tmp_path)),
               "--url", router_url, "--format", "json"]  # fmt: skip
    bench = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        wait_for(lambda: finished() >= before + 5, "all but the paused audit task")
        bench.send_signal(signal.SIGINT)
        out, _ = bench.communicate(timeout=30)
    finally:
        resume.set()
        if bench.poll() is None:
            os.kill(bench.pid, signal.SIGKILL)
    assert bench.returncode == 130
    lanes = {lane["lane"]: lane["ok"] for lane in json.loads(out)["lanes"]}
    assert lanes == {"audit": 1, "chat": 2, "tools": 2}
