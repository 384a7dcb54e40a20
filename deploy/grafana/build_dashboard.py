"""Writes lanerouter.json, the Grafana dashboard, from the panel list below (dashboards as code:
edit here, run `python deploy/grafana/build_dashboard.py`; a test checks the two agree).

Every query filters on the `$lane` variable; `$__rate_interval` is Grafana's rate window."""

from __future__ import annotations

import json
from pathlib import Path

DATASOURCE = {"type": "prometheus", "uid": "lanerouter-prometheus"}
L = 'lane=~"$lane"'
W = "$__rate_interval"


def q(metric: str, q_: float, by: str = "lane") -> str:
    return f"histogram_quantile({q_}, sum by ({by}, le) (rate({metric}_bucket{{{L}}}[{W}])))"


def p50_and_p95(metric: str) -> list[tuple[str, str]]:
    return [(f"{{{{lane}}}} p{round(x * 100)}", q(metric, x)) for x in (0.5, 0.95)]


# (row, title, unit, [(legend, PromQL)], description)
PANELS: list[tuple[str, str, str, list[tuple[str, str]], str]] = [
    (
        "Lane comparison",
        "Decode tok/s per lane (token-weighted)",
        "none",
        [
            (
                "{{lane}}",
                f"sum by (lane) (rate(lanerouter_decode_tps_token_weighted_total{{{L}}}[{W}]))"
                f" / sum by (lane) (rate(lanerouter_decode_tokens_total{{{L}}}[{W}]))",
            ),
        ],
        "sum(n_i * tps_i) / sum(n_i) over the window: the user's hand-made lane comparison, "
        "from real traffic. Long streams weigh more than short ones.",
    ),
    (
        "Lane comparison",
        "Prefill tok/s (median per stream)",
        "none",
        [
            ("{{lane}}", q("lanerouter_prefill_tokens_per_second", 0.5)),
        ],
        "Uncached prompt tokens / (TTFT - queue wait), per stream.",
    ),
    (
        "Lane comparison",
        "Time to first token",
        "s",
        p50_and_p95("lanerouter_ttft_seconds"),
        "Arrival at lanerouter to the first content event (queue wait included).",
    ),
    (
        "Lane comparison",
        "Inter-token latency",
        "s",
        p50_and_p95("lanerouter_inter_token_seconds"),
        "Gap between consecutive content events as relayed to the client.",
    ),
    (
        "Traffic and routing",
        "Requests/s by lane and route reason",
        "reqps",
        [
            (
                "{{lane}} {{reason}}",
                f"sum by (lane, reason) (rate(lanerouter_requests_total{{{L}}}[{W}]))",
            ),
        ],
        "Why each request went where it went: header, model, tools, fim, side-task, "
        "rule:<name>, security, review, role, conversation, default, failover:<lane>, context.",
    ),
    (
        "Traffic and routing",
        "Outcomes/s other than ok",
        "reqps",
        [
            (
                "{{lane}} {{outcome}}",
                f"sum by (lane, outcome) (rate(lanerouter_requests_total"
                f'{{{L},outcome!="ok"}}[{W}]))',
            ),
        ],
        "client_error, upstream_error, client_disconnected, upstream_aborted (a stream cut "
        "after it started), rejected (queue full or too slow).",
    ),
    (
        "Traffic and routing",
        "Failovers/s",
        "reqps",
        [
            (
                "{{from_lane}} -> {{to_lane}} ({{cause}})",
                f"sum by (from_lane, to_lane, cause) (rate(lanerouter_failovers_total"
                f'{{from_lane=~"$lane"}}[{W}]))',
            ),
        ],
        "Requests moved to a fallback lane before any content was sent.",
    ),
    (
        "Traffic and routing",
        "Retries/s on the same lane",
        "reqps",
        [
            (
                "{{lane}} {{cause}}",
                f"sum by (lane, cause) (rate(lanerouter_upstream_retries_total{{{L}}}[{W}]))",
            ),
        ],
        "Extra attempts after a connect error, a timeout before the first byte or a "
        "429/502/503/504.",
    ),
    (
        "Capacity",
        "Queue depth",
        "short",
        [
            ("{{lane}}", f"sum by (lane) (lanerouter_queue_depth{{{L}}})"),
        ],
        "Requests waiting for a free slot of the lane (per lanerouter replica).",
    ),
    (
        "Capacity",
        "Queue wait p95",
        "s",
        [
            ("{{lane}}", q("lanerouter_queue_wait_seconds", 0.95)),
        ],
        "Time spent waiting for a slot before the request reached the engine.",
    ),
    (
        "Capacity",
        "In-flight requests",
        "short",
        [
            ("{{lane}}", f"sum by (lane) (lanerouter_inflight_requests{{{L}}})"),
        ],
        "Requests holding a slot of the lane right now.",
    ),
    (
        "Capacity",
        "Lane state",
        "short",
        [
            ("{{lane}}: {{state}}", f"max by (lane, state) (lanerouter_lane_state{{{L}}}) == 1"),
        ],
        "ready, busy, loading or down, from health probes and from what requests saw.",
    ),
    (
        "Prompt cache",
        "Prompt cache reuse",
        "percent",
        [
            (
                "{{lane}}",
                f"100 * sum by (lane) (rate(lanerouter_cached_prompt_tokens_total{{{L}}}[{W}]))"
                f" / sum by (lane) (rate(lanerouter_prompt_tokens_total{{{L}}}[{W}]))",
            ),
        ],
        "Share of prompt tokens the engine served from its prompt cache.",
    ),
    (
        "Prompt cache",
        "Full prompt re-processing events",
        "short",
        [
            (
                "{{lane}}",
                f"sum by (lane) (increase(lanerouter_prompt_reprocessed_total{{{L}}}[{W}]))",
            ),
        ],
        "Continued conversations that got no cache reuse: the whole history was prefilled again.",
    ),
]


def panel(
    number: int,
    y: int,
    x: int,
    title: str,
    unit: str,
    targets: list[tuple[str, str]],
    description: str,
) -> dict[str, object]:
    kind = "stat" if title == "Lane state" else "timeseries"
    return {
        "id": number,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "expr": expr,
                "legendFormat": legend,
            }
            for i, (legend, expr) in enumerate(targets)
        ],
    }


def dashboard() -> dict[str, object]:
    panels: list[dict[str, object]] = []
    y, row, column = 0, None, 0
    for title_row, title, unit, targets, description in PANELS:
        if title_row != row:
            if column:
                y, column = y + 8, 0
            row = title_row
            panels.append(
                {
                    "id": len(panels) + 1,
                    "type": "row",
                    "title": row,
                    "collapsed": False,
                    "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                    "panels": [],
                }
            )
            y += 1
        panels.append(panel(len(panels) + 1, y, 12 * column, title, unit, targets, description))
        column = 1 - column
        if column == 0:
            y += 8
    lane_variable = {
        "name": "lane",
        "label": "Lane",
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": "label_values(lanerouter_lane_state, lane)", "refId": "lanes"},
        "definition": "label_values(lanerouter_lane_state, lane)",
        "multi": True,
        "includeAll": True,
        "allValue": ".*",
        "refresh": 2,
        "sort": 1,
        "current": {"text": "All", "value": "$__all"},
    }
    return {
        "uid": "lanerouter",
        "title": "lanerouter",
        "tags": ["lanerouter", "llm"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"},
        "timezone": "",
        "templating": {"list": [lane_variable]},
        "annotations": {"list": []},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


if __name__ == "__main__":
    Path(__file__).with_name("lanerouter.json").write_text(render())
