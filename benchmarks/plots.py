"""The report's PNG plots (matplotlib, Agg backend, imported only when plotting)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.figures import ENDPOINTS, find_run, ok_runs
from benchmarks.schema import Results, RunResult, ScenarioResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 110
CALLS_TARGET = 1.2
BLOCK_TARGET_MS = 50


def plots(results: Results, out_dir: Path) -> list[Path]:
    """Write block.png, rps.png, calls_per_request.png and latency.png for what was run."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit

    written: list[Path] = []
    block = next((s for s in results["scenarios"] if s["probes"]), None)
    if block is not None:
        written.append(_block_plot(block, out_dir / "block.png"))
    # Throughput, calls and latency compare the contenders on a healthy server: the block
    # test (its own plot above) and the fault scenarios (tables only) measure other things.
    # The cost scenarios (sessions padded, capacity metered) are a table of their own.
    scenarios = [
        s
        for s in results["scenarios"]
        if not s["probes"] and not s["faults"] and "session_bytes" not in s
    ]
    if not scenarios:
        return written
    labels = [c["label"] for c in results["contenders"]]
    written.append(_rps_plot(results, scenarios, labels, out_dir / "rps.png"))
    key = _preferred(scenarios, lambda k: k == "plain-dynalite")
    written.append(_calls_plot(results, key, labels, out_dir / "calls_per_request.png"))
    key = _preferred(scenarios, lambda k: k.startswith("latency"))
    written.append(_latency_plot(results, key, labels, out_dir / "latency.png"))
    return written


def _preferred(scenarios: list[ScenarioResult], wanted: Callable[[str], bool]) -> str:
    """The key of the first scenario `wanted`, else of the first scenario."""
    return next((s["key"] for s in scenarios if wanted(s["key"])), scenarios[0]["key"])


def _save(fig: Figure, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _block_plot(block: ScenarioResult, path: Path) -> Path:
    """GET /nosession p99 in the event-loop block test."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    runs = ok_runs(block)
    xs = list(range(len(runs)))
    for offset, probe in ((-0.2, "no_cookie"), (0.2, "with_cookie")):
        values = [_probe_p99(r, probe) for r in runs]
        ax.bar([x + offset for x in xs], values, 0.4, label=f"/nosession p99, {probe}")
    ax.axhline(BLOCK_TARGET_MS, color="grey", linestyle="--", linewidth=1)
    ax.set_xticks(xs)
    ax.set_xticklabels([r["contender"] for r in runs], rotation=20, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("p99 ms (log scale)")
    ax.set_title("GET /nosession p99 while session traffic runs, 200 ms per DynamoDB call")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _probe_p99(run: RunResult, probe: str) -> float:
    latency = run.get("probes_ms", {}).get(probe)
    # A bar of 0.1 rather than none: the scale is logarithmic.
    return (latency["p99"] if latency else None) or 0.1


def _rps_plot(
    results: Results, scenarios: list[ScenarioResult], labels: list[str], path: Path
) -> Path:
    """Requests per second, grouped by scenario."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        runs = [find_run(results, s["key"], label) for s in scenarios]
        values = [run["rps"] if run else 0 for run in runs]
        ax.bar([j + i * width for j in range(len(scenarios))], values, width, label=label)
    ax.set_xticks([j + width * (len(labels) - 1) / 2 for j in range(len(scenarios))])
    ax.set_xticklabels([s["key"] for s in scenarios])
    ax.set_ylabel("requests/s (higher is better)")
    ax.set_title("Throughput on the 70/20/10 mix")
    ax.legend(fontsize=8)
    return _save(fig, path)


def _calls_plot(results: Results, key: str, labels: list[str], path: Path) -> Path:
    """DynamoDB calls per request in scenario `key`, stacked by operation."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    by_op = [_calls_by_op(results, key, label) for label in labels]
    bottoms = [0.0] * len(labels)
    for op in sorted({op for calls in by_op for op in calls}):
        values = [calls.get(op, 0.0) for calls in by_op]
        ax.bar(labels, values, bottom=bottoms, label=op)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    for x, total in enumerate(bottoms):
        ax.text(x, total, f"{total:.2f}", ha="center", va="bottom", fontsize=9)
    # Headroom above the tallest bar for its total, and the target line always in view.
    ax.set_ylim(0, max([*bottoms, CALLS_TARGET]) * 1.12)
    ax.axhline(CALLS_TARGET, color="grey", linestyle="--", linewidth=1)
    ax.text(len(labels) - 0.5, 1.22, "target 1.2", color="grey", fontsize=8, ha="right")
    ax.set_ylabel("DynamoDB calls per request (lower is better)")
    ax.set_title(f"DynamoDB calls per request on the mix ({key})")
    ax.legend(fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    return _save(fig, path)


def _calls_by_op(results: Results, key: str, label: str) -> dict[str, float]:
    run = find_run(results, key, label)
    return run["calls_per_request_by_op"] if run else {}


def _latency_plot(results: Results, key: str, labels: list[str], path: Path) -> Path:
    """p50 and p99 of each endpoint in scenario `key`, one panel per endpoint."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(ENDPOINTS), figsize=(12, 4.5), sharey=True)
    runs = [find_run(results, key, label) for label in labels]
    xs = list(range(len(labels)))
    for ax, op in zip(axes, ENDPOINTS, strict=True):
        latencies = [run["latency_ms"].get(op) if run else None for run in runs]
        p50 = [(lat["p50"] or 0) if lat else 0 for lat in latencies]
        p99 = [(lat["p99"] or 0) if lat else 0 for lat in latencies]
        ax.bar([x - 0.2 for x in xs], p50, 0.4, label="p50")
        ax.bar([x + 0.2 for x in xs], p99, 0.4, label="p99")
        ax.set_xticks(xs)
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        ax.set_title(op)
        ax.set_yscale("log")
    axes[0].set_ylabel("latency ms (log scale, lower is better)")
    axes[0].legend()
    fig.suptitle(f"Latency percentiles per endpoint ({key})")
    return _save(fig, path)
