"""The shape of ``results.json``: what a run writes and what the report reads.

TypedDicts rather than classes, because the results are plain JSON: a run dumps them as
they are, and ``python -m benchmarks.report`` reads a committed file back into the same
types. The two kinds of run and of import timing are ``@final`` so that ``"error" in x``
narrows one from the other.

    Results
    ├── meta: Meta (command, machine, versions, load average, library fingerprint)
    ├── contenders: [ContenderInfo]
    ├── scenarios: [ScenarioResult]
    │   └── runs: [RunResult | FailedRun]
    └── cold_start: {module: ImportTiming | ImportFailure}
"""

from __future__ import annotations

from typing import Literal, TypedDict, final, get_args

from typing_extensions import NotRequired

# The correctness counters that make a run wrong when they are not zero.
Problem = Literal[
    "lost_updates",
    "phantom_updates",
    "wrong_user",
    "session_lost",
    "final_counter_mismatch",
    "logout_failed",
]
PROBLEMS: tuple[Problem, ...] = get_args(Problem)

EndpointCalls = dict[str, dict[str, float]]
"""Endpoint label -> DynamoDB operation (and ``total``) -> calls per request."""


class Percentiles(TypedDict):
    """Latency percentiles in milliseconds (None when nothing was measured)."""

    p50: float | None
    p99: float | None


class OpLatency(Percentiles):
    """Percentiles of one kind of request, and how many there were."""

    n: int


class ProbeLatency(OpLatency):
    """A prober's percentiles and its slowest request."""

    max: float | None


class CorrectnessCounts(TypedDict):
    """The load generator's correctness counters, and whether the run was correct."""

    lost_updates: int
    phantom_updates: int
    wrong_user: int
    session_lost: int
    final_counter_mismatch: int
    logout_failed: int
    old_cookie_revoked: int
    old_cookie_still_valid: int
    acked_writes: int
    ok: bool


class FirstRequest(TypedDict):
    """Start-up time and the first two session-creating requests, in milliseconds."""

    startup_ms: float | None
    first_login_ms: float | None
    second_login_ms: float | None


class ProxyStats(TypedDict):
    """The counting proxy's ``/__proxy__/stats`` answer (the fields used here)."""

    calls: dict[str, int]
    total: int
    faults: dict[str, int]


class MeterStats(TypedDict):
    """The capacity meter's ``/__meter__/stats`` answer (see ``benchmarks.meter``)."""

    read_units: float
    write_units: float
    calls: dict[str, int]  # item operations metered, by operation
    units: dict[str, float]  # capacity units, by operation
    conditional_failures: int
    unmetered: int


class Capacity(TypedDict):
    """The capacity units a run's mix consumed, as metered at the proxy."""

    session_bytes: int
    read_units: float
    write_units: float
    units_by_op: dict[str, float]
    conditional_failures: int
    unmetered: int
    rru_per_1k: float  # read request units per 1,000 requests of the mix
    wru_per_1k: float  # write request units per 1,000 requests (failed conditions: +1 each)
    # dynamodb-sessions only: the units its own on_event hook reported for the same mix,
    # which must equal the meter's (the self-check).
    library_read_units: NotRequired[float]
    library_write_units: NotRequired[float]


class LoadSummary(TypedDict):
    """The figures of one timed mix."""

    requests: int
    elapsed_s: float
    rps: float
    latency_ms: dict[str, OpLatency]
    latency_all_ms: Percentiles
    dynamodb_calls: dict[str, int]
    dynamodb_calls_total: int
    calls_per_request: float
    calls_per_request_by_op: dict[str, float]
    faults_injected: dict[str, int]
    cpu_ms_per_request: float
    cpu_s: float
    statuses: dict[str, int]
    server_errors_5xx: int
    client_errors_4xx: int
    transport_errors: dict[str, int]
    cancelled_tasks: int
    login_failures: int
    correctness: CorrectnessCounts
    probes_ms: NotRequired[dict[str, ProbeLatency]]


class RunExtras(TypedDict, total=False):
    """What only some runs measure besides the mix."""

    library: str
    first_request: FirstRequest
    endpoint_calls: EndpointCalls
    capacity: Capacity


@final
class RunResult(RunExtras, LoadSummary):
    """One contender in one scenario that ran to the end."""

    contender: str
    other_cpu_ms_per_request: dict[str, float]
    users: int


@final
class FailedRun(TypedDict):
    """One contender in one scenario that raised: the error and the end of its traceback."""

    contender: str
    error: str
    traceback: str


Run = RunResult | FailedRun


class ScenarioResult(TypedDict):
    """A scenario's settings and the run of every contender in it."""

    key: str
    title: str
    server: str
    latency_ms: float
    faults: dict[str, float]
    probes: bool
    runs: list[Run]
    session_bytes: NotRequired[int]  # the cost scenarios: the session's size in JSON
    # Set when a partial run was merged into an existing results.json (run.py --merge).
    measured_by: NotRequired[str]


class ContenderInfo(TypedDict):
    """A contender as the run recorded it."""

    label: str
    module: str
    uses_dynamodb: bool
    skip_paths: bool
    env: list[list[str]]
    only_scenarios: list[str]


@final
class ImportTiming(TypedDict):
    """``python -X importtime`` figures for one module, in microseconds."""

    module: str
    cumulative_us_median: int | None
    cumulative_us_runs: list[int]
    boto3_imported: bool
    modules_imported: int


@final
class ImportFailure(TypedDict):
    """A module that could not be imported: the last line of stderr."""

    module: str
    error: list[str]


ColdStart = dict[str, ImportTiming | ImportFailure]


class Machine(TypedDict):
    """The box the run measured on."""

    nproc: int | None
    cpu: str
    platform: str
    python: str


class LoadAverage(TypedDict):
    """``os.getloadavg()`` when the run started and ended."""

    start: list[float]
    end: NotRequired[list[float]]


class Meta(TypedDict):
    """How, where and with what the run was made."""

    command: str
    started_utc: str
    quick: bool
    users: int
    duration_s: float
    client: str
    machine: Machine
    versions: dict[str, str]
    # Results written by earlier versions of the harness lack these three: the report
    # reads them with .get() so that such a results.json still renders.
    loadavg: NotRequired[LoadAverage]
    wall_s: NotRequired[float]
    library: NotRequired[str]


class Results(TypedDict):
    """The whole of results.json."""

    meta: Meta
    contenders: list[ContenderInfo]
    scenarios: list[ScenarioResult]
    cold_start: NotRequired[ColdStart]
