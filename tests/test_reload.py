"""Reloading the config (SIGHUP, `lanerouter reload`) with streams in flight: new requests get
the new config at once, streams in flight finish on the old one untouched, a bad config is
refused with the start-up message and the old one stays, and what needs a restart is named."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import PROFILES, SPEED, Engine
from helpers import wait_for
from serveprocess import ServeProcess
from test_cli import ROOT, lanerouter

from router.config import LaneConfig
from router.configfile import load_settings
from router.demo.engine import SimEngine
from router.demo.script import Behaviour
from router.dispatch.admission import lane_gates
from router.http.serving import BackgroundServer
from router.reload import restart_only

CHAT = "/v1/chat/completions"
REPLY = " ".join(f"word{i}" for i in range(40))


def config_text(spare_url: str, default_lane: str = "chat", connections: int = 0) -> str:
    """The default lanes (the tests' environment points them at the simulated engines), and a
    lane `spare` whose URL only the file gives."""
    server = f"[server]\nmax_connections = {connections}\n" if connections else ""
    return (
        f'{server}[routing]\ndefault_lane = "{default_lane}"\n'
        "[lanes.audit]\n[lanes.chat]\n[lanes.tools]\n"  # built-in lanes named keep defaults
        f'[lanes.spare]\nbase_url = "{spare_url}"\nengine = "ik_llamacpp"\nmodel = "m"\n'
        "ctx_size = 65536\n"
    )


@pytest.fixture
def other_engine() -> Iterator[Engine]:
    sim = SimEngine(PROFILES["chat"], speed=SPEED)
    engine = Engine(sim, BackgroundServer(sim, log_level="critical").start())
    yield engine
    engine.server.stop()


def streamed(
    url: str, lane: str, into: list[bytes], headers: dict[str, str] | None = None
) -> threading.Thread:
    def run() -> None:
        body = {"messages": [{"role": "user", "content": "go"}], "stream": True}
        sent = {"x-lane": lane} | (headers or {})
        with httpx.stream("POST", url + CHAT, json=body, headers=sent, timeout=60) as response:
            into.append(response.read())

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def content(stream: bytes) -> str:
    events = [e.removeprefix(b"data: ") for e in stream.split(b"\n\n") if e.startswith(b"data: ")]
    assert events[-1] == b"[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def lane_of(url: str, headers: dict[str, str] | None = None) -> str:
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
    response = httpx.post(url + CHAT, json=body, headers=headers or {}, timeout=30)
    assert response.status_code == 200, response.text
    return response.headers["x-lane"]


@contextlib.contextmanager
def serving(
    engines: dict[str, Engine], config: Path, more: str = "", *args: str
) -> Iterator[ServeProcess]:
    """lanerouter serving `config`, which starts as config_text() with the chat engine's URL
    (and `more` config text)."""
    config.write_text(config_text(engines["chat"].url) + more)
    served = ServeProcess(engines, "--config", str(config), *args).ready()
    try:
        yield served
    finally:
        served.stop()


def reloaded(served: ServeProcess, times: int = 1) -> None:
    served.process.send_signal(signal.SIGHUP)
    done = "reload: new requests get the new config"
    wait_for(lambda: served.text().count(done) >= times, "the reload is logged")


def test_new_requests_get_the_new_config_while_a_stream_finishes_on_the_old(
    engines: dict[str, Engine], other_engine: Engine, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    with serving(engines, config) as served:
        resume = threading.Event()
        engines["chat"].script.push(Behaviour(reply=REPLY, pause_after=3, resume=resume))
        into: list[bytes] = []
        thread = streamed(served.url, "spare", into)
        wait_for(lambda: engines["chat"].script.in_flight == 1, "the stream is at its engine")

        config.write_text(config_text(other_engine.url, default_lane="tools"))
        reloaded(served)
        assert "1 in flight finish on the one before" in served.text()
        assert lane_of(served.url) == "tools"  # the new default lane
        assert lane_of(served.url, {"x-lane": "spare"}) == "spare"
        assert len(other_engine.script.received) == 1  # the new URL of lane spare
        status = httpx.get(served.url + "/api/status").json()["config"]
        assert (status["generation"], status["outcome"]) == (2, "reloaded")

        resume.set()
        thread.join()
        assert content(into[0]) == REPLY  # every token of the stream that started before


def test_a_one_slot_lane_stays_one_request_at_a_time_across_a_reload(
    engines: dict[str, Engine], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    with serving(engines, config) as served:
        resume = threading.Event()
        engines["audit"].script.push(Behaviour(reply=REPLY, pause_after=2, resume=resume))
        first: list[bytes] = []
        threads = [streamed(served.url, "audit", first)]
        wait_for(lambda: engines["audit"].script.in_flight == 1, "audit's one slot is taken")
        config.write_text(config_text(engines["chat"].url, default_lane="tools"))
        reloaded(served)
        second: list[bytes] = []
        threads.append(streamed(served.url, "audit", second))

        def waiting() -> bool:
            return httpx.get(served.url + "/api/status").json()["lanes"]["audit"]["queued"] == 1

        wait_for(waiting, "the request under the new config waits for the slot")
        assert engines["audit"].script.in_flight == 1
        resume.set()
        for thread in threads:
            thread.join()
        assert content(first[0]) == REPLY and content(second[0])
        assert engines["audit"].script.peak_in_flight == 1


def test_a_bad_config_is_refused_with_the_start_up_message_and_the_old_one_stays(
    engines: dict[str, Engine], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    with serving(engines, config) as served:
        config.write_text(config_text(engines["chat"].url, default_lane="nowhere"))
        at_start = subprocess.run(
            lanerouter("serve", "--config", str(config)), cwd=ROOT, capture_output=True,
            text=True, timeout=60,
        )  # fmt: skip
        assert at_start.returncode == 2
        message = at_start.stderr.strip().removeprefix("lanerouter: ")
        assert "routing.default_lane" in message

        answer = subprocess.run(
            lanerouter("reload", "--url", served.url), capture_output=True, text=True, timeout=60
        )
        assert answer.returncode == 1
        assert message in answer.stdout
        assert f"reload rejected, the config before stays in use: {message}" in served.text()
        assert lane_of(served.url) == "chat"  # still the config from before

        # A valid config again, with a connection limit that only a restart can change.
        config.write_text(config_text(engines["chat"].url, "tools", connections=77))
        answer = subprocess.run(
            lanerouter("reload", "--url", served.url), capture_output=True, text=True, timeout=60
        )
        assert answer.returncode == 0, answer.stdout
        assert "generation 2 in use (needs a restart: server.max_connections)" in answer.stdout
        assert "reload: server.max_connections changed; that takes a restart" in served.text()
        assert lane_of(served.url) == "tools"


def test_workers_all_reload_on_a_sighup_to_their_supervisor(
    engines: dict[str, Engine], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    with serving(engines, config, "", "--workers", "2") as served:
        config.write_text(config_text(engines["chat"].url, default_lane="tools"))
        reloaded(served, times=2)  # one line from each worker
        for _ in range(6):  # whichever worker answers, the new config
            with httpx.Client() as fresh:
                body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
                response = fresh.post(served.url + CHAT, json=body, timeout=30)
                assert response.headers["x-lane"] == "tools"
        assert served.process.poll() is None


RUNNING = load_settings(None)


def changed(**sections: dict[str, object]) -> object:
    return RUNNING.model_copy(
        update={name: getattr(RUNNING, name).model_copy(update=v) for name, v in sections.items()}
    )


RESTART_CASES = [
    ({"server": {"port": 9000}}, ["server.port"]),
    (
        {"server": {"host": "0.0.0.0", "max_connections": 5}},
        ["server.host", "server.max_connections"],
    ),
    ({"admission": {"backend": "redis"}}, ["admission"]),
    ({"request_log": {"destination": "off"}}, ["request_log"]),
    ({"routing": {"default_lane": "tools"}}, []),
    ({"server": {"probe_interval": 9.0, "queue_keepalive": 1.0}}, []),
]


@pytest.mark.parametrize(("sections", "waiting"), RESTART_CASES)
def test_what_a_reload_applies_and_what_waits_for_a_restart(
    sections: dict[str, dict[str, object]], waiting: list[str]
) -> None:
    new = changed(**sections)
    applied, named = restart_only(RUNNING, new)  # type: ignore[arg-type]
    assert named == waiting
    for section, values in sections.items():
        for key, value in values.items():
            now = getattr(getattr(applied, section), key)
            restart = section in ("admission", "request_log") or f"{section}.{key}" in waiting
            assert now == (getattr(getattr(RUNNING, section), key) if restart else value)


def lane(url: str, slots: int = 1) -> LaneConfig:
    return LaneConfig(base_url=url, engine="llamacpp", model="m", ctx_size=4096,
                      max_concurrency=slots)  # fmt: skip


@pytest.mark.parametrize(
    ("url", "slots", "kept", "free"),
    [
        ("http://a:1", 1, True, 0),  # same engine: the request in flight still holds its slot
        ("http://a:1", 3, True, 2),  # more slots at the same engine: two more may go in
        ("http://b:1", 1, False, 1),  # moved to another engine: it starts with every slot free
    ],
)
def test_a_reloaded_lane_keeps_its_gate_while_it_keeps_an_engine(
    url: str, slots: int, kept: bool, free: int
) -> None:
    before = lane_gates({"audit": lane("http://a:1")})
    before["audit"].free -= 1  # one request in flight
    after = lane_gates({"audit": lane(url, slots)}, before)
    assert (after["audit"] is before["audit"]) == kept
    assert after["audit"].free == free


def test_a_keys_requests_in_flight_still_count_after_a_reload(
    engines: dict[str, Engine], tmp_path: Path
) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text('[[keys]]\nname = "ci"\nkey = "sk-ci-1"\nmax_concurrency = 1\n')
    config, auth = tmp_path / "config.toml", f'[auth]\nkeys_file = "{keys}"\n'
    with serving(engines, config, auth) as served:
        key = {"Authorization": "Bearer sk-ci-1"}
        resume = threading.Event()
        engines["chat"].script.push(Behaviour(reply=REPLY, pause_after=2, resume=resume))
        into: list[bytes] = []
        thread = streamed(served.url, "chat", into, key)
        wait_for(lambda: engines["chat"].script.in_flight == 1, "the key's stream is running")
        config.write_text(config_text(engines["chat"].url, default_lane="tools") + auth)
        reloaded(served)
        body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
        busy = httpx.post(served.url + CHAT, json=body, headers=key, timeout=30)
        assert (busy.status_code, busy.json()["error"]["code"]) == (429, "key_concurrency")
        resume.set()
        thread.join()
        assert content(into[0]) == REPLY
        assert lane_of(served.url, key) == "tools"  # its slot back, under the new config


def test_an_open_status_feed_ends_on_a_reload_and_the_next_one_is_on_the_new_config(
    engines: dict[str, Engine], tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    with serving(engines, config) as served:

        def events() -> Iterator[dict[str, Any]]:
            with httpx.stream("GET", served.url + "/api/events", timeout=30) as response:
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        yield json.loads(line.removeprefix("data: "))

        feed = events()
        assert next(feed)["config"]["generation"] == 1
        config.write_text(config_text(engines["chat"].url, default_lane="tools"))
        reloaded(served)
        assert [shown["config"]["generation"] for shown in feed] in ([], [1])  # then it ended
        assert next(events())["config"]["generation"] == 2
