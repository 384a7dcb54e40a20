"""`--plot FILE.png`: each lane's decode rate over time (one point per answer) and as a
distribution. matplotlib is an optional extra (`pip install lanerouter[plot]`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from router.report.figures import Record


def plot_decode(records: list[Record], lanes: list[str], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display: a file only
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'lanerouter[plot]'") from None
    figure, (over_time, spread) = plt.subplots(1, 2, figsize=(12, 4.5), width_ratios=(2, 1))
    rates = {lane: [r for r in records if r.get("lane") == lane and r.get("decode_tps")]
             for lane in lanes}  # fmt: skip
    for lane, mine in rates.items():
        when = [datetime.fromtimestamp(r["ts"], UTC) for r in mine]
        over_time.plot(when, [r["decode_tps"] for r in mine], ".", label=lane, alpha=0.7)
    over_time.set(title="decode tok/s per answer", xlabel="time (UTC)", ylabel="tok/s")
    over_time.legend()
    drawn = [lane for lane in lanes if rates[lane]]
    if drawn:
        spread.boxplot([[r["decode_tps"] for r in rates[lane]] for lane in drawn])
        spread.set_xticks(range(1, len(drawn) + 1), drawn)
    spread.set(title="distribution", ylabel="tok/s")
    figure.autofmt_xdate()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
