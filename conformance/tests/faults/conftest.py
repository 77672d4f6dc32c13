"""Fixtures of the faults layer: the column under test, a fresh database per process, proxied servers."""

import signal
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conformance.faultserver import FaultServer, fault_server, log_path
from conformance.figures import record as record_figures
from conformance.matrix import fresh_database
from conformance.ports import Port, Start, discover
from conformance.quiet import quiet

# Why an experiment does not run in a column: a column's configuration, never a port's name.
EMBEDDED = "an embedded database (SQLite) has no connection to fail: database faults need a client-server one"
NO_REDIS = "this column runs without Redis (streams poll the table): there is no Redis connection to fail"
PER_PORT = (
    "a per-port experiment: the mixed column runs the write storm, the login storm and a port killed "
    "behind the gateway"
)
MIXED_ONLY = "needs the gateway: runs in the mixed column"


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM unwinds like Ctrl-C, so that the fixtures stop the servers (and browsers, databases)
    they started, each in a session of its own, instead of leaving them without a parent."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    """What the matrix tells the faults layer about the column: ports, start, database, Redis, reports."""
    group = parser.getgroup("faults")
    group.addoption("--faults-ports", default="", help="the column's port; in the mixed column every port")
    group.addoption("--faults-start", default="", help="the [[start]] name of a per-port column")
    group.addoption("--faults-mixed", action="store_true", help="the mixed column: --base-url is its gateway")
    group.addoption("--database-kind", choices=["sqlite", "postgres"], default="sqlite")
    group.addoption("--postgres-url", default="", help="a PostgreSQL server where databases may be made")
    group.addoption("--redis-url", default="", help="REDIS_URL of the column ('' = without Redis)")
    group.addoption("--faults-report-dir", default="", help="the column's report directory")
    group.addoption(
        "--existing-database", default="", help="a user's database to use (never created or dropped)"
    )


@dataclass(frozen=True)
class FaultsColumn:
    """The column the layer runs for: its ports and start, database, Redis and report directory."""

    ports: list[Port]
    start: Start | None  # None in the mixed column: every port's first start
    mixed: bool
    database: str
    postgres_url: str
    redis_url: str
    report_dir: Path
    base_url: str  # the gateway, in the mixed column

    def start_of(self, port: Port) -> Start:
        """The start command an instance of `port` runs: the column's, or the port's first."""
        return self.start if self.start and not self.mixed else port.starts[0]

    def skip_unless_postgres(self) -> None:
        """Skip where the database is embedded."""
        if self.database != "postgres":
            pytest.skip(EMBEDDED)

    def skip_unless_redis(self) -> None:
        """Skip where the column has no Redis."""
        if not self.redis_url:
            pytest.skip(NO_REDIS)

    def skip_if_mixed(self) -> None:
        """Skip a per-port experiment in the mixed column."""
        if self.mixed:
            pytest.skip(PER_PORT)


@pytest.fixture(scope="session")
def column(pytestconfig: pytest.Config) -> FaultsColumn:
    """The column, from the options the matrix passes."""
    names = [name for name in pytestconfig.getoption("faults_ports").split(",") if name]
    if not names:
        raise pytest.UsageError("the faults layer needs --faults-ports (run it with `conformance matrix`)")
    ports = discover(names)
    mixed = bool(pytestconfig.getoption("faults_mixed"))
    start = None
    if not mixed:
        wanted = pytestconfig.getoption("faults_start") or ports[0].starts[0].name
        start = next((entry for entry in ports[0].starts if entry.name == wanted), None)
        if start is None:
            raise pytest.UsageError(f"{ports[0].name} has no [[start]] named {wanted!r}")
    database = pytestconfig.getoption("database_kind")
    postgres_url = pytestconfig.getoption("postgres_url")
    if database == "postgres" and not postgres_url:
        raise pytest.UsageError("--database-kind postgres needs --postgres-url")
    report_dir = Path(pytestconfig.getoption("faults_report_dir") or "reports/faults-run").resolve()
    base_url = (pytestconfig.getoption("base_url") or "").rstrip("/")
    if mixed and not base_url:
        raise pytest.UsageError("--faults-mixed needs --base-url (the gateway)")
    return FaultsColumn(
        ports, start, mixed, database, postgres_url, pytestconfig.getoption("redis_url"), report_dir, base_url
    )


@pytest.fixture(scope="session")
def database_url(column: FaultsColumn, pytestconfig: pytest.Config) -> Iterator[str]:
    """A fresh database for this test process (each lane has its own), dropped afterwards; or the user's."""
    existing = pytestconfig.getoption("existing_database")
    with fresh_database(column.database, column.postgres_url or None, existing) as url:
        yield url


@pytest.fixture(scope="session")
def logs_dir(column: FaultsColumn) -> Path:
    """Where the layer's server logs go: <column>/faults/ (the matrix's `logs` row reads them)."""
    return column.report_dir / "faults"


Instance = Callable[..., AbstractContextManager[FaultServer]]


@pytest.fixture(scope="session")
def instance(column: FaultsColumn, database_url: str, logs_dir: Path) -> Instance:
    """instance(name, crash=False, port=None): a context manager serving a port of the column.

    `crash` names the log `<name>-crash.log`: a server killed on purpose, left out of the `logs` row.
    """

    def make(name: str, crash: bool = False, port: Port | None = None) -> AbstractContextManager[FaultServer]:
        chosen = port or column.ports[0]
        return fault_server(
            chosen, column.start_of(chosen), database_url, column.redis_url,
            log_path(logs_dir, name, crash), name,
        )  # fmt: skip

    return make


@pytest.fixture(scope="session")
def shared_server(column: FaultsColumn, instance: Instance) -> Iterator[FaultServer]:
    """One instance for the experiments that only load it (the storms), started once per lane."""
    with instance("shared") as running:
        yield running


@pytest.fixture
def service_url(column: FaultsColumn, request: pytest.FixtureRequest) -> str:
    """Where the storms send their requests: the gateway in the mixed column, else the shared instance."""
    if column.mixed:
        return column.base_url
    return request.getfixturevalue("shared_server").base_url


@pytest.fixture
def exclusive(logs_dir: Path) -> Callable[[], AbstractContextManager[float]]:
    """exclusive(): a block during which the other lane runs no measured phase (yields seconds waited)."""
    return lambda: quiet(logs_dir)


@pytest.fixture
def record(column: FaultsColumn) -> Callable[[str, dict[str, Any]], None]:
    """record(experiment, figures): write the experiment's figures for the column's faults.json."""

    def write(experiment: str, data: dict[str, Any]) -> None:
        record_figures(column.report_dir, experiment, data)

    return write
