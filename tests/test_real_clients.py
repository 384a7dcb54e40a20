"""The real agents, installed from their registry (scripts/install-clients.sh), against
`lanerouter serve --demo`: each runs with a throwaway HOME and a dummy key, in bounded time,
and must end by itself with the demo's final answer."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import free_port
from test_cli import ROOT, lanerouter, wait_ready

CLIENTS = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lanerouter-clients"
CLAUDE = CLIENTS / "node_modules" / ".bin" / "claude"
CODEX = CLIENTS / "node_modules" / ".bin" / "codex"
OPENCODE = CLIENTS / "node_modules" / ".bin" / "opencode"
AFTER_TOOL = "Thanks: the tool's result has what was asked, so that is the answer."


@dataclass
class Demo:
    url: str
    log: Path

    def requests(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    port, log = free_port(), tmp_path / "requests.jsonl"
    env = os.environ | {"LANEROUTER_REQUEST_LOG__DESTINATION": str(log)}
    command = lanerouter("serve", "--demo", "--demo-speed", "50", "--port", str(port))
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process)
        yield Demo(url, log)
    finally:
        process.terminate()
        process.communicate(timeout=15)


@pytest.mark.skipif(
    not CLAUDE.exists(), reason="Claude Code not installed: scripts/install-clients.sh"
)
def test_claude_code_runs_a_tool_round_trip_and_ends(demo: Demo, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "ANTHROPIC_BASE_URL": demo.url,  # what a user sets; no way to send X-Lane needed
        "ANTHROPIC_API_KEY": "sk-ant-dummy",
        "DISABLE_TELEMETRY": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    }
    ran = subprocess.run([str(CLAUDE), "-p", "say hi"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert AFTER_TOOL in ran.stdout  # the answer after the tool's result: the session ended
    served = [r for r in demo.requests() if r["endpoint"] == "messages"]
    assert all(r["status"] == 200 for r in served)
    # The tool call and the answer to its result, on the lane with the tool parser; a side
    # request of the agent's own (a title, a topic), if any, goes to chat as a side task.
    agent_turns = [r for r in served if (r["lane"], r["reason"]) == ("tools", "tools")]
    assert len(agent_turns) >= 2
    assert all(r["lane"] == "chat" for r in served if r not in agent_turns)


@pytest.mark.skipif(
    not CODEX.exists(), reason="Codex CLI not installed: scripts/install-clients.sh"
)
def test_codex_cli_runs_a_tool_round_trip_and_ends(demo: Demo, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".codex").mkdir(parents=True)
    # Codex has no header setting: the lane is chosen by the model name.
    (home / ".codex" / "config.toml").write_text(
        'model = "tools"\nmodel_provider = "lanerouter"\n\n[model_providers.lanerouter]\n'
        f'name = "lanerouter"\nbase_url = "{demo.url}/v1"\nenv_key = "LANEROUTER_KEY"\n'
        'wire_api = "responses"\n'
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "CODEX_HOME": str(home / ".codex"),
           "LANEROUTER_KEY": "dummy"}  # fmt: skip
    ran = subprocess.run([str(CODEX), "exec", "--skip-git-repo-check", "say hi"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=180)  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert AFTER_TOOL in ran.stdout
    served = [r for r in demo.requests() if r["endpoint"] == "responses"]
    assert len(served) >= 2 and all(r["status"] == 200 for r in served)
    assert {(r["lane"], r["reason"]) for r in served} == {("tools", "model")}


def opencode_config(url: str) -> dict[str, object]:
    provider = {
        "npm": "@ai-sdk/openai-compatible",
        "name": "lanerouter",
        "options": {"baseURL": url + "/v1", "apiKey": "none"},
        "models": {"auto": {"name": "lanerouter (auto)"}},
    }
    return {"provider": {"lanerouter": provider}, "model": "lanerouter/auto"}


@pytest.mark.skipif(
    not OPENCODE.exists(), reason="opencode not installed: scripts/install-clients.sh"
)
def test_opencode_reaches_the_tools_lane_and_ends(demo: Demo, tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "opencode.json").write_text(json.dumps(opencode_config(demo.url)))
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    ran = subprocess.run([str(OPENCODE), "run", "say hi"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=180)  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-2000:]
    assert AFTER_TOOL in ran.stdout
    served = [r for r in demo.requests() if r["endpoint"] == "chat"]
    assert all(r["status"] == 200 for r in served)
    # opencode sends max_tokens 32000 with its tools: still the tools lane, not "context".
    agent_turns = [r for r in served if (r["lane"], r["reason"]) == ("tools", "tools")]
    assert len(agent_turns) >= 2
    assert all((r["lane"], r["reason"]) == ("chat", "side-task") for r in served
               if r not in agent_turns)  # its title request  # fmt: skip
