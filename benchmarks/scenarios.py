"""What a run compares: the contenders (apps under test) and the scenarios (conditions).

Every contender runs in every scenario, except that scenarios about DynamoDB faults skip
the cookie contender and a contender may name the only scenarios it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.schema import ContenderInfo, ScenarioResult
from devservers.dynamodb import ServerKind


@dataclass(frozen=True)
class Contender:
    """A session middleware under test: the module uvicorn serves and how to start it."""

    label: str
    module: str
    uses_dynamodb: bool
    skip_paths: bool = False
    env: tuple[tuple[str, str], ...] = ()
    only_scenarios: tuple[str, ...] = ()  # empty: every scenario

    @property
    def is_library(self) -> bool:
        """Whether this contender measures this project's library."""
        return self.module.endswith("dynamodb_sessions")

    def runs_in(self, scenario: Scenario) -> bool:
        """Whether this contender takes part in `scenario`."""
        if scenario.db_only and not self.uses_dynamodb:
            return False
        return not self.only_scenarios or scenario.key in self.only_scenarios

    def info(self) -> ContenderInfo:
        """The contender as results.json records it."""
        return {
            "label": self.label,
            "module": self.module,
            "uses_dynamodb": self.uses_dynamodb,
            "skip_paths": self.skip_paths,
            "env": [list(pair) for pair in self.env],
            "only_scenarios": list(self.only_scenarios),
        }


CONTENDERS: tuple[Contender, ...] = (
    Contender("cookie", "benchmarks.contender_cookie", uses_dynamodb=False),
    Contender("naive", "benchmarks.contender_naive", uses_dynamodb=True),
    Contender("starsessions", "benchmarks.contender_starsessions", uses_dynamodb=True),
    Contender("dynamodb-sessions", "benchmarks.contender_dynamodb_sessions", uses_dynamodb=True),
    Contender(
        "dynamodb-sessions+skip",
        "benchmarks.contender_dynamodb_sessions",
        uses_dynamodb=True,
        skip_paths=True,
    ),
    Contender(
        "dynamodb-sessions lazy",
        "benchmarks.contender_dynamodb_sessions",
        uses_dynamodb=True,
        env=(("BENCH_LAZY", "1"),),
        only_scenarios=("plain-dynalite", "latency5-dynalite", "block200-dynalite"),
    ),
    Contender(
        "dynamodb-sessions boto3",
        "benchmarks.contender_dynamodb_sessions",
        uses_dynamodb=True,
        env=(("BENCH_LEAN", "0"),),
        only_scenarios=("plain-dynalite", "latency5-dynalite"),
    ),
)


@dataclass(frozen=True)
class Scenario:
    """The conditions of one comparison: the server, the proxy's latency and faults, load."""

    key: str
    title: str
    server: ServerKind
    latency_ms: float = 0.0
    faults: dict[str, float] = field(default_factory=dict)
    probes: bool = False
    users: int | None = None  # None: the --users value
    duration_factor: float = 1.0
    db_only: bool = False
    endpoint_probe: bool = False  # measure DynamoDB calls per endpoint, one by one
    first_request: bool = False  # time the first request after start-up
    session_bytes: int = 0  # > 0: sessions padded to this size, capacity metered (cost)

    @property
    def metered(self) -> bool:
        """Whether the capacity meter (``benchmarks.meter``) sits in front of the server."""
        return self.session_bytes > 0

    def app_env(self) -> dict[str, str]:
        """What the apps of this scenario read besides the contender's own settings."""
        if not self.metered:
            return {}
        return {"BENCH_SESSION_BYTES": str(self.session_bytes), "BENCH_COUNT_UNITS": "1"}

    def entry(self) -> ScenarioResult:
        """The scenario as results.json records it, with no runs yet."""
        entry: ScenarioResult = {
            "key": self.key,
            "title": self.title,
            "server": self.server,
            "latency_ms": self.latency_ms,
            "faults": self.faults,
            "probes": self.probes,
            "runs": [],
        }
        if self.metered:
            entry["session_bytes"] = self.session_bytes
        return entry


def _cost(key: str, size: str, session_bytes: int) -> Scenario:
    """A cost scenario: the mix with `session_bytes` sessions, units metered at the proxy."""
    return Scenario(
        key,
        f"DynamoDB capacity units, {size} sessions, dynalite",
        "dynalite",
        db_only=True,  # the cookie contender uses no DynamoDB: 0 units
        duration_factor=1 / 3,  # units per request are counts: short runs suffice
        session_bytes=session_bytes,
    )


#: The cost table's scenarios: the mix at three session sizes (KB = 1,024 bytes).
COST_SCENARIOS: tuple[Scenario, ...] = (
    _cost("cost-0.5kb-dynalite", "0.5 KB", 512),
    _cost("cost-4kb-dynalite", "4 KB", 4096),
    _cost("cost-40kb-dynalite", "40 KB", 40960),
)

SCENARIOS: tuple[Scenario, ...] = (
    Scenario("plain-moto", "Plain, moto server", "moto"),
    Scenario(
        "plain-dynalite",
        "Plain, dynalite",
        "dynalite",
        endpoint_probe=True,
        first_request=True,
    ),
    Scenario("latency5-dynalite", "5 ms added per DynamoDB call, dynalite", "dynalite", 5.0),
    Scenario(
        "block200-dynalite",
        "Event-loop block test: 200 ms added per DynamoDB call, dynalite",
        "dynalite",
        200.0,
        probes=True,
        users=16,
        duration_factor=0.7,
    ),
    Scenario(
        "throttle5-dynalite",
        "5% of DynamoDB calls throttled (ThrottlingException), dynalite",
        "dynalite",
        faults={"throttle": 0.05},
        db_only=True,
    ),
    Scenario(
        "faults-mixed-dynalite",
        "5% mixed faults (1% throttled, 1% HTTP 500, 1.5% connections dropped before the"
        " call, 1.5% answers lost after the call was applied), dynalite",
        "dynalite",
        faults={"throttle": 0.01, "500": 0.01, "drop": 0.015, "lost_answer": 0.015},
        db_only=True,
    ),
    *COST_SCENARIOS,
)
