"""The figures of a report, computed from records alone (pure): per lane, and tasks as rows.

The decode rate of a lane is token-weighted, as the user computed it by hand:
weighted_gen_tps = sum(gen_tokens_i * gen_tps_i) / sum(gen_tokens_i), so long answers count
for more. `/metrics` exports its two sums (lanerouter_decode_tps_token_weighted_total and
lanerouter_decode_tokens_total), so PromQL gives the same figure for the same window.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

Record = dict[str, Any]
ERRORS = ("client_error", "upstream_error", "upstream_aborted", "rejected")
TASK_COLUMNS = ("time", "request_id", "prompt_tokens", "prefill_tps", "completion_tokens",
                "decode_tps", "total_ms")  # fmt: skip


def weighted_decode_tps(records: Iterable[Record]) -> float | None:
    pairs = [(r["completion_tokens"], r["decode_tps"]) for r in records
             if r.get("decode_tps") is not None and r.get("completion_tokens")]  # fmt: skip
    tokens = sum(n for n, _ in pairs)
    return sum(n * rate for n, rate in pairs) / tokens if tokens else None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def present(records: Iterable[Record], field: str) -> list[float]:
    return [float(r[field]) for r in records if r.get(field) is not None]


def total(records: Iterable[Record], field: str) -> int:
    return sum(int(r.get(field) or 0) for r in records)


@dataclass(frozen=True)
class LaneFigures:
    lane: str
    engine: str | None
    requests: int
    share: float  # of all requests in the window
    ok: int
    errors: dict[str, int]
    left: int  # clients that left before the answer ended (not the lane's fault)
    failed_over_away: int  # planned here, answered by another lane
    failed_over_here: int  # planned elsewhere, answered here
    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    cache_reuse: float | None  # cached / prompt tokens
    reprocessed: int  # continued conversations that got no prompt-cache reuse
    weighted_decode_tps: float | None
    ttft_p50_ms: float | None
    ttft_p95_ms: float | None
    prefill_tps_p50: float | None
    queue_p95_ms: float | None
    reasons: dict[str, int]  # why requests came here: what the lane is used for

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lane_figures(records: list[Record]) -> list[LaneFigures]:
    """One entry per lane that answered or was planned for anything, busiest first."""
    routed = [r for r in records if r.get("lane") not in (None, "none")]
    lanes = Counter(r["lane"] for r in routed)
    away = Counter(r["failed_over_from"] for r in routed if r.get("failed_over_from"))
    return [figures_of(lane, [r for r in routed if r["lane"] == lane], len(records), away[lane])
            for lane in sorted(lanes | away, key=lambda name: (-lanes[name], name))]  # fmt: skip


def figures_of(lane: str, mine: list[Record], everything: int, away: int) -> LaneFigures:
    outcomes = Counter(r.get("outcome") for r in mine)
    prompt, cached = total(mine, "prompt_tokens"), total(mine, "cached_tokens")
    ttft = present(mine, "ttft_ms")
    engines = Counter(r.get("engine") for r in mine if r.get("engine"))
    return LaneFigures(
        lane=lane,
        engine=engines.most_common(1)[0][0] if engines else None,
        requests=len(mine),
        share=len(mine) / everything if everything else 0.0,
        ok=outcomes["ok"],
        errors={kind: outcomes[kind] for kind in ERRORS if outcomes[kind]},
        left=outcomes["client_disconnected"],
        failed_over_away=away,
        failed_over_here=sum(1 for r in mine if r.get("failed_over_from")),
        prompt_tokens=prompt,
        cached_tokens=cached,
        completion_tokens=total(mine, "completion_tokens"),
        cache_reuse=cached / prompt if prompt else None,
        reprocessed=sum(1 for r in mine if r.get("reprocessed")),
        weighted_decode_tps=weighted_decode_tps(mine),
        ttft_p50_ms=percentile(ttft, 0.5),
        ttft_p95_ms=percentile(ttft, 0.95),
        prefill_tps_p50=percentile(present(mine, "prefill_tps"), 0.5),
        queue_p95_ms=percentile(present(mine, "queue_ms"), 0.95),
        reasons=dict(Counter(r.get("reason") or "?" for r in mine).most_common()),
    )


def task_rows(records: list[Record], lane: str, top: int = 5, spread: int = 5) -> list[Record]:
    """A lane's tasks as the user tabulated them: its `top` longest answers, then `spread`
    more spread evenly over prompt size (smallest to largest), in time order."""
    done = [r for r in records if r.get("lane") == lane and r.get("outcome") == "ok"
            and r.get("completion_tokens")]  # fmt: skip
    longest = sorted(done, key=lambda r: -r["completion_tokens"])[:top]
    rest = sorted((r for r in done if r not in longest), key=lambda r: r.get("prompt_tokens") or 0)
    if rest and spread:
        step = max(len(rest) - 1, 1) / max(spread - 1, 1)
        picks = sorted({min(round(i * step), len(rest) - 1) for i in range(spread)})
        longest += [rest[i] for i in picks]
    return sorted(longest, key=lambda r: r["ts"])
