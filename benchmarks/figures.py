"""Finding runs in the results and writing their figures as table cells."""

from __future__ import annotations

from benchmarks.schema import PROBLEMS, Percentiles, Results, RunResult, ScenarioResult

OURS = "dynamodb-sessions"
OURS_SKIP = "dynamodb-sessions+skip"
ENDPOINTS = ("read", "write", "nosession")
FAULT_SCENARIOS = ("throttle5-dynalite", "faults-mixed-dynalite")


def fmt(value: float | str | None, digits: int = 2) -> str:
    """A number with `digits` decimals (ints as they are), ``n/a`` for None."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def ratio(value: float | None, base: float | None) -> str:
    """``value / base`` as ``1.23x``, ``n/a`` without a base."""
    if value is None or not base:
        return "n/a"
    return f"{value / base:.2f}x"


def p50_p99(latency: Percentiles, digits: int) -> str:
    """``p50 / p99``."""
    return f"{fmt(latency['p50'], digits)} / {fmt(latency['p99'], digits)}"


def ok_runs(scenario: ScenarioResult) -> list[RunResult]:
    """The runs of `scenario` that did not fail."""
    return [r for r in scenario["runs"] if "error" not in r]


def find_run(results: Results, key: str, contender: str) -> RunResult | None:
    """The run of `contender` in scenario `key`, unless it is missing or failed."""
    for scenario in results["scenarios"]:
        if scenario["key"] == key:
            for run in ok_runs(scenario):
                if run["contender"] == contender:
                    return run
    return None


def correctness(run: RunResult) -> str:
    """``ok``, or the problems the load generator counted."""
    counts = run["correctness"]
    problems = [f"{name.replace('_', ' ')} {counts[name]}" for name in PROBLEMS if counts[name]]
    return "ok" if not problems else "; ".join(problems)
