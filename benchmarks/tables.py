"""The Markdown tables of the report, each a list of lines.

results.md and docs/performance.md share these tables, so a change here shows in both.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.figures import (
    ENDPOINTS,
    FAULT_SCENARIOS,
    correctness,
    find_run,
    fmt,
    ok_runs,
    p50_p99,
    ratio,
)
from benchmarks.pricing import usd_per_million_requests
from benchmarks.schema import (
    Capacity,
    ColdStart,
    FailedRun,
    ImportTiming,
    Results,
    RunResult,
    ScenarioResult,
)


def main_table(scenario: ScenarioResult) -> list[str]:
    """Every figure of the mix, one row per contender; ratios against the first one."""
    runs = ok_runs(scenario)
    return [
        "| contender | req/s | req/s vs first | p50 / p99 read ms | p50 / p99 write ms "
        "| p50 / p99 nosession ms | DynamoDB calls/req | calls by operation | app CPU ms/req "
        "| CPU vs first | 5xx | other errors | correctness | old cookie after logout |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|",
        *_rows(scenario, lambda run: _main_row(run, base=runs[0]), columns=14),
    ]


def _rows(scenario: ScenarioResult, row: Callable[[RunResult], str], *, columns: int) -> list[str]:
    """A row per run; a failed run shows its error, the rest of its row left empty."""
    return [_failed_row(run, columns) if "error" in run else row(run) for run in scenario["runs"]]


def _failed_row(run: FailedRun, columns: int) -> str:
    return f"| {run['contender']} | failed: {run['error'][:120]} |" + " |" * (columns - 2)


def _main_row(run: RunResult, *, base: RunResult) -> str:
    latencies = [run["latency_ms"].get(op) for op in ENDPOINTS]
    cells = [p50_p99(entry, 1) if entry else "n/a" for entry in latencies]
    by_op = ", ".join(f"{op} {v:.2f}" for op, v in run["calls_per_request_by_op"].items())
    other = run["client_errors_4xx"] + sum(run["transport_errors"].values())
    return (
        f"| {run['contender']} | {fmt(run['rps'], 0)} | {ratio(run['rps'], base['rps'])} "
        f"| {cells[0]} | {cells[1]} | {cells[2]} | {fmt(run['calls_per_request'], 3)} "
        f"| {by_op or '-'} | {fmt(run['cpu_ms_per_request'], 2)} "
        f"| {ratio(run['cpu_ms_per_request'], base['cpu_ms_per_request'])} "
        f"| {run['server_errors_5xx']} | {other} | {correctness(run)} | {_old_cookie(run)} |"
    )


def _old_cookie(run: RunResult) -> str:
    counts = run["correctness"]
    still_valid = counts["old_cookie_still_valid"]
    if still_valid == 0:
        return "revoked"
    return f"still valid ({still_valid}/{still_valid + counts['old_cookie_revoked']})"


def block_table(scenario: ScenarioResult) -> list[str]:
    """The event-loop block test: how long /nosession waits beside slow session traffic."""
    return [
        "| contender | session traffic req/s | /nosession no cookie p50 / p99 / max ms "
        "| /nosession with cookie p50 / p99 / max ms | probe requests |",
        "|---|---:|---:|---:|---:|",
        *_rows(scenario, _block_row, columns=5),
    ]


def _block_row(run: RunResult) -> str:
    probes = run.get("probes_ms", {})
    cells = []
    for label in ("no_cookie", "with_cookie"):
        p = probes.get(label)
        cells.append(f"{p50_p99(p, 1)} / {fmt(p['max'], 1)}" if p else "n/a")
    count = sum(p["n"] for p in probes.values())
    return f"| {run['contender']} | {fmt(run['rps'], 1)} | {cells[0]} | {cells[1]} | {count} |"


def fault_table(results: Results, scenario: ScenarioResult) -> list[str]:
    """Errors, lost updates and extra calls under injected faults."""
    return [
        "| contender | req/s | 5xx | lost updates | correctness | faults injected "
        "| calls/req | calls/req without faults (plain dynalite) | extra calls from retries |",
        "|---|---:|---:|---:|---|---|---:|---:|---:|",
        *_rows(scenario, lambda run: _fault_row(results, run), columns=9),
    ]


def _fault_row(results: Results, run: RunResult) -> str:
    plain = find_run(results, "plain-dynalite", run["contender"])
    plain_cpr = plain["calls_per_request"] if plain else None
    extra = f"{(run['calls_per_request'] / plain_cpr - 1) * 100:+.1f}%" if plain_cpr else "n/a"
    faults = ", ".join(f"{k} {v}" for k, v in run["faults_injected"].items()) or "0"
    return (
        f"| {run['contender']} | {fmt(run['rps'], 0)} | {run['server_errors_5xx']} "
        f"| {run['correctness']['lost_updates']} | {correctness(run)} | {faults} "
        f"| {fmt(run['calls_per_request'], 3)} | {fmt(plain_cpr, 3)} | {extra} |"
    )


def endpoint_table(scenario: ScenarioResult) -> list[str]:
    """DynamoDB calls per request of each endpoint, one column per contender."""
    runs = [r for r in ok_runs(scenario) if "endpoint_calls" in r]
    if not runs:
        return []
    lines = [
        "| endpoint | " + " | ".join(r["contender"] for r in runs) + " |",
        "|---|" + "---|" * len(runs),
    ]
    for endpoint in runs[0]["endpoint_calls"]:
        cells = [_endpoint_cell(run["endpoint_calls"].get(endpoint, {})) for run in runs]
        lines.append(f"| {endpoint} | " + " | ".join(cells) + " |")
    return lines


def _endpoint_cell(calls: dict[str, float]) -> str:
    detail = ", ".join(f"{op} {v:g}" for op, v in calls.items() if op != "total")
    return f"{calls.get('total', 0):g}" + (f" ({detail})" if detail else "")


def first_request_table(scenario: ScenarioResult) -> list[str]:
    """Start-up time and the first two logins, for the runs that measured them."""
    runs = [r for r in ok_runs(scenario) if "first_request" in r]
    if not runs:
        return []
    lines = [
        "| contender | process start to first answer ms | first POST /login ms "
        "| second POST /login ms |",
        "|---|---:|---:|---:|",
    ]
    for run in runs:
        f = run["first_request"]
        lines.append(
            f"| {run['contender']} | {fmt(f['startup_ms'], 0)} | {fmt(f['first_login_ms'], 1)} "
            f"| {fmt(f['second_login_ms'], 1)} |"
        )
    return lines


def cold_table(cold: ColdStart) -> list[str]:
    """Import times, median and fastest, and whether boto3 came along."""
    lines = [
        '| `python -X importtime -c "import M"` | cumulative ms (median) '
        "| fastest | boto3 imported | modules imported |",
        "|---|---:|---:|---|---:|",
    ]
    for module, entry in cold.items():
        if "error" in entry:
            lines.append(f"| `{module}` | failed: {' '.join(entry['error'])} | | |")
        else:
            lines.append(_cold_row(module, entry))
    return lines


def _cold_row(module: str, entry: ImportTiming) -> str:
    us = entry["cumulative_us_median"]
    runs = entry.get("cumulative_us_runs") or []
    return (
        f"| `{module}` | {fmt(us / 1000 if us is not None else None, 1)} "
        f"| {fmt(min(runs) / 1000 if runs else None, 1)} "
        f"| {'yes' if entry['boto3_imported'] else 'no'} | {entry['modules_imported']} |"
    )


def summary_table(results: Results) -> list[str]:
    """One row per contender with the figures the issue's targets are about."""
    lines = [
        "| contender | DynamoDB calls/req (dynalite) | app CPU ms/req (dynalite) "
        "| CPU vs starsessions | req/s, 5 ms latency (dynalite) | vs starsessions "
        "| read p50 / p99 ms, 5 ms latency | /nosession p99 ms at 200 ms latency, no cookie "
        "/ with cookie | 5xx under faults | lost updates under faults |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for contender in results["contenders"]:
        cells = _summary_cells(results, contender["label"], contender["uses_dynamodb"])
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _summary_cells(results: Results, label: str, uses_dynamodb: bool) -> list[str]:
    plain = find_run(results, "plain-dynalite", label)
    star_plain = find_run(results, "plain-dynalite", "starsessions")
    lat5 = find_run(results, "latency5-dynalite", label)
    star5 = find_run(results, "latency5-dynalite", "starsessions")
    read = lat5["latency_ms"].get("read") if lat5 else None
    return [
        label,
        fmt(plain["calls_per_request"], 2) if plain else "n/a",
        fmt(plain["cpu_ms_per_request"], 2) if plain else "n/a",
        ratio(plain["cpu_ms_per_request"], star_plain["cpu_ms_per_request"])
        if plain and star_plain
        else "n/a",
        fmt(lat5["rps"], 0) if lat5 else "n/a",
        ratio(lat5["rps"], star5["rps"]) if lat5 and star5 else "n/a",
        p50_p99(read, 0) if read else "n/a",
        _block_p99s(find_run(results, "block200-dynalite", label)),
        *_fault_totals(results, label, uses_dynamodb),
    ]


def _block_p99s(block: RunResult | None) -> str:
    probes = block.get("probes_ms", {}) if block else {}
    if not probes:
        return "n/a"
    no_cookie, with_cookie = probes.get("no_cookie"), probes.get("with_cookie")
    return (
        f"{fmt(no_cookie['p99'] if no_cookie else None, 0)} / "
        f"{fmt(with_cookie['p99'] if with_cookie else None, 0)}"
    )


def _fault_totals(results: Results, label: str, uses_dynamodb: bool) -> list[str]:
    """5xx answers and lost updates over the fault scenarios."""
    faults = [r for k in FAULT_SCENARIOS if (r := find_run(results, k, label))]
    if faults:
        return [
            str(sum(r["server_errors_5xx"] for r in faults)),
            str(sum(r["correctness"]["lost_updates"] for r in faults)),
        ]
    if uses_dynamodb:
        return ["not run", "not run"]
    return ["n/a (no DynamoDB)", "n/a"]


def cost_table(results: Results) -> list[str]:
    """DynamoDB request units per 1,000 requests of the mix and the on-demand price of a
    million requests, per contender and session size; the cookie contender costs 0."""
    scenarios = [s for s in results["scenarios"] if "session_bytes" in s]
    if not scenarios:
        return ["(not measured in this run)"]
    header = "".join(
        f" {_size(s['session_bytes'])}: RRU / WRU per 1,000 req | $ per million req |"
        for s in scenarios
    )
    lines = [
        f"| contender |{header} meter = library's own events |",
        "|---|" + "---:|---:|" * len(scenarios) + "---|",
    ]
    for contender in results["contenders"]:
        runs = [_scenario_run(s, contender["label"]) for s in scenarios]
        if not contender["uses_dynamodb"]:
            lines.append(f"| {contender['label']} |" + " 0 / 0 | 0.00 |" * len(scenarios) + " - |")
        elif any(runs):
            lines.append(_cost_row(contender["label"], runs))
    return lines


def _size(session_bytes: int) -> str:
    return f"{session_bytes / 1024:g} KB"


def _scenario_run(scenario: ScenarioResult, label: str) -> RunResult | FailedRun | None:
    return next((r for r in scenario["runs"] if r["contender"] == label), None)


def _cost_row(label: str, runs: list[RunResult | FailedRun | None]) -> str:
    cells, checked = [], []
    for run in runs:
        capacity = run.get("capacity") if run is not None and "error" not in run else None
        if capacity is None:
            cells.append("failed | |" if run is not None else "not run | |")
            continue
        cells.append(_cost_cells(capacity))
        checked.append("library_read_units" in capacity)
    check = "yes" if checked and all(checked) else "n/a (no events)"
    return f"| {label} | " + " ".join(cells) + f" {check} |"


def _cost_cells(capacity: Capacity) -> str:
    rru, wru = capacity["rru_per_1k"], capacity["wru_per_1k"]
    return f"{rru:,.0f} / {wru:,.0f} | {usd_per_million_requests(rru, wru):.2f} |"
