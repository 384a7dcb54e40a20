"""`lanerouter report`: the figures from records (tables of cases), the command over a real
store and a real request log (the same figures from both), and the figures against what a
real Prometheus gives for the same traffic."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Engine, engines_at
from helpers import wait_for
from test_monitoring import needs_prometheus, prometheus_for, query, wait_scraped  # noqa: F401
from test_proxy import HELLO, post
from test_store import rows, with_store

from router.cli import main
from router.config import Settings
from router.report.figures import lane_figures, percentile, task_rows, weighted_decode_tps
from router.report.records import parse_since


def rec(lane: str = "chat", **fields: Any) -> dict[str, Any]:
    return {
        "ts": 0.0,
        "request_id": "r",
        "lane": lane,
        "outcome": "ok",
        "reason": "default",
    } | fields


WEIGHTED = [  # (gen tokens, gen tok/s) per answer -> the user's token-weighted rate
    ([(100, 10.0), (300, 20.0)], 17.5),  # (100*10 + 300*20) / 400: long answers count more
    ([(50, 80.0)], 80.0),
    ([(0, 99.0), (10, 5.0)], 5.0),  # an answer without tokens weighs nothing
    ([], None),
]


@pytest.mark.parametrize(("answers", "expected"), WEIGHTED)
def test_the_decode_rate_is_token_weighted(answers: list[Any], expected: float | None) -> None:
    records = [rec(completion_tokens=n, decode_tps=r) for n, r in answers]
    records.append(rec(completion_tokens=500))  # no rate measured (not streamed): left out
    assert weighted_decode_tps(records) == expected


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile([], 0.5)) == (
        50.0, 95.0, None)  # fmt: skip


def test_lane_figures_count_shares_errors_and_failovers_both_ways() -> None:
    records = [rec("chat"), rec("chat", outcome="upstream_error"),
               rec("none", outcome="client_error"), rec("tools", failed_over_from="chat"),
               rec("chat", outcome="client_disconnected"),
               rec("chat", prompt_tokens=100, cached_tokens=80, reprocessed=True)]  # fmt: skip
    chat, tools = lane_figures(records)
    assert (chat.lane, chat.requests, chat.share, chat.ok, chat.left) == ("chat", 4, 4 / 6, 2, 1)
    assert chat.errors == {"upstream_error": 1} and chat.reprocessed == 1
    assert (chat.failed_over_away, chat.failed_over_here) == (1, 0)
    assert (tools.failed_over_away, tools.failed_over_here) == (0, 1)
    assert chat.cache_reuse == 0.8


def test_task_rows_are_the_longest_answers_then_a_spread_of_prompt_sizes() -> None:
    records = [rec(ts=float(i), request_id=f"r{i}", completion_tokens=i % 7 + 1,
                   prompt_tokens=i * 10) for i in range(40)]  # fmt: skip
    picked = task_rows(records, "chat", top=3, spread=3)
    longest = sorted(picked, key=lambda r: -r["completion_tokens"])[:3]
    assert all(r["completion_tokens"] == 7 for r in longest)
    prompts = sorted(r["prompt_tokens"] for r in picked if r not in longest)
    assert prompts[0] == 0 and prompts[-1] == 390 and len(picked) == 6  # smallest to largest
    assert [r["ts"] for r in picked] == sorted(r["ts"] for r in picked)


@pytest.mark.parametrize(
    ("since", "expected"),
    [("90m", 1000.0 - 5400), ("1h", 1000.0 - 3600), ("7d", 1000.0 - 7 * 86400),
     ("1970-01-01T00:10:00", 600.0), ("1970-01-01T01:00:00+01:00", 0.0)],
)  # fmt: skip
def test_windows_are_spans_or_iso_times(since: str, expected: float) -> None:
    assert parse_since(since, now=1000.0) == expected


def test_a_window_that_is_neither_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="30m, 1h, 7d"):
        parse_since("last week")


@pytest.fixture
def paced(engines: dict[str, Engine]) -> Iterator[None]:
    """Engines 20x the user's speed, so every stream's decode rate is measured."""
    with engines_at(engines, 20.0):
        yield


def report_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["report", "--config", "/dev/null", "--format", "json", *args]) == 0
    return dict(json.loads(capsys.readouterr().out))


def drive(url: str) -> int:
    """Traffic on every lane, streamed and not, with one mistake; the requests sent."""
    bodies = [(HELLO | {"stream": True}, {}), (HELLO, {"x-lane": "tools"}),
              (HELLO | {"stream": True, "model": "audit"}, {}), (b"{", {}),
              (HELLO | {"stream": True, "max_tokens": 30}, {"x-lane": "tools"})]  # fmt: skip
    for body, headers in bodies * 2:  # 12 tokens each: ~70 ms on chat, 0.8 s on audit
        post(url, "/v1/chat/completions", body, **headers)
    return len(bodies) * 2


@pytest.mark.usefixtures("paced")
def test_the_report_reads_the_same_figures_from_the_store_and_from_the_log(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store, log = tmp_path / "r.db", tmp_path / "log.jsonl"
    sent = drive(start_router(with_store(engines, store, log)))
    wait_for(lambda: len(rows(store)) == sent, "every request stored")
    monkeypatch.setenv("LANEROUTER_STORE__PATH", str(store))
    stored = report_json(capsys, "--since", "1h")
    logged = report_json(capsys, "--since", "1h", "--from-log", str(log))
    assert stored["lanes"] == logged["lanes"] and stored["requests"] == sent
    lanes = {lane["lane"]: lane for lane in stored["lanes"]}
    assert set(lanes) == {"chat", "tools", "audit"}
    assert lanes["tools"]["requests"] == 4 and lanes["tools"]["reasons"] == {"header": 4}
    assert all(lane["weighted_decode_tps"] for lane in lanes.values())
    assert report_json(capsys, "--since", "1h", "--lane", "audit")["requests"] == 2


@needs_prometheus
@pytest.mark.usefixtures("paced")
def test_the_report_gives_what_prometheus_gives_for_the_same_traffic(
    engines: dict[str, Engine], start_router: Callable[[Settings], str], tmp_path: Path,
    prometheus_for: Callable[[str], str], capsys: pytest.CaptureFixture[str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    store = tmp_path / "r.db"
    url = start_router(with_store(engines, store))
    prometheus = prometheus_for(url.removeprefix("http://"))
    sent = drive(url)
    wait_for(lambda: len(rows(store)) == sent, "every request stored")
    wait_scraped(prometheus, url)
    monkeypatch.setenv("LANEROUTER_STORE__PATH", str(store))
    lanes = {lane["lane"]: lane for lane in report_json(capsys, "--since", "1h")["lanes"]}

    def by_lane(expr: str) -> dict[str, float]:
        result = query(prometheus, f"sum by (lane) ({expr})")["result"]
        return {s["metric"]["lane"]: float(s["value"][1]) for s in result}

    promql = {
        "requests": by_lane('lanerouter_requests_total{lane!="none"}'),
        "prompt_tokens": by_lane("lanerouter_prompt_tokens_total"),
        "cached_tokens": by_lane("lanerouter_cached_prompt_tokens_total"),
        "completion_tokens": by_lane("lanerouter_completion_tokens_total"),
        "reprocessed": by_lane("lanerouter_prompt_reprocessed_total"),
    }
    for figure, values in promql.items():
        assert {lane: lanes[lane][figure] for lane in lanes} == {
            lane: values.get(lane, 0) for lane in lanes}, figure  # fmt: skip
    weighted = by_lane("lanerouter_decode_tps_token_weighted_total")
    tokens = by_lane("lanerouter_decode_tokens_total")
    for lane, figures in lanes.items():  # the record keeps rates to 0.1 tok/s
        assert figures["weighted_decode_tps"] == pytest.approx(
            weighted[lane] / tokens[lane], abs=0.05)  # fmt: skip
    assert httpx.get(url + "/healthz").status_code == 200


def test_without_a_store_the_report_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANEROUTER_STORE__PATH", str(tmp_path / "missing.db"))
    assert main(["report", "--config", "/dev/null"]) == 2
    assert f"no request store at {tmp_path / 'missing.db'}" in capsys.readouterr().err


def test_tables_and_a_plot_from_a_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "log.jsonl"
    lines = [rec(lane, ts=1_000_000.0 + i, request_id=f"r{i}", completion_tokens=40 + i,
                 decode_tps=rate + i % 5, prompt_tokens=100 * i, engine="vllm")
             for i in range(30) for lane, rate in (("chat", 80.0), ("audit", 7.6))]  # fmt: skip
    log.write_text("INFO: a line that is not a record\n" + "".join(
        json.dumps(line) + "\n" for line in lines))  # fmt: skip
    plot = tmp_path / "decode.png"
    args = ["report", "--from-log", str(log), "--since", "1970-01-01", "--plot", str(plot)]
    assert main([*args, "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "60 requests" in table and "chat: tasks" in table and "audit: tasks" in table
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert main([*args[:-2], "--format", "md"]) == 0
    markdown = capsys.readouterr().out
    assert "| chat | vllm | 30 | 50% | 82.0 |" in markdown  # sum(n*r)/sum(n) for chat
    assert main([*args[:-2], "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("lane,engine,requests,share,")
