"""Fixtures of the churn scenario suite.

The suite runs on the streamtest plugin's ``kafka`` cluster (the embedded broker
unless ``--kafka-backend`` says otherwise), or on an existing Kafka given with
``--bootstrap-server HOST:PORT``, which is how ``streamtest demo`` runs it.

Every test gets its own three topics (``telco.raw.customers.<unique>`` ...), its own
consumer group and its own SQLite file, so tests never see each other's records:
they can share one cluster, run under pytest-xdist, or run against a cluster that
other people use.

The pipeline always runs as a real process (``python -m churn run``), started by
:class:`PipelineProcess`: the scenarios stop it with SIGTERM, kill it with
SIGKILL and restart it, as an operator would.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from streamtest import Cluster, ExternalCluster, eventually
from streamtest.kit.cluster import unique_name

#: examples/churn: the pipeline is a program, not an installed package, so the
#: tests import it (and start it) from here.
CHURN_DIR = Path(__file__).resolve().parents[1]
if str(CHURN_DIR) not in sys.path:
    sys.path.insert(0, str(CHURN_DIR))

from churn.publisher import Delivery, producer_config, publish  # noqa: E402
from churn.testing import DEADLINE, PipelineProcess  # noqa: E402
from churn.topics import Topics, create_topics, delete_topics  # noqa: E402
from confluent_kafka import KafkaError, KafkaException, Producer  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--bootstrap-server`` (``--bootstrap-servers`` too) and ``--churn-reports``."""
    group = parser.getgroup("churn", "churn scenario suite")
    group.addoption(
        "--bootstrap-server",
        dest="bootstrap_servers",
        default=None,
        metavar="HOST:PORT",
        help="Run the churn scenarios against this Kafka instead of the plugin's cluster.",
    )
    group.addoption(
        "--churn-control",
        default=None,
        metavar="HOST:PORT",
        help="The control endpoint of the cluster (streamtest broker prints it; "
        "streamtest demo passes it as STREAMTEST_CONTROL), for the failover scenario.",
    )
    group.addoption(
        "--bootstrap-servers", dest="bootstrap_servers", default=None, help=argparse.SUPPRESS
    )
    group.addoption(
        "--churn-reports",
        default=None,
        metavar="DIR",
        help="Keep pipeline logs and metrics snapshots in DIR.",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``scenario`` marker, which ``streamtest demo`` selects with ``-m``."""
    config.addinivalue_line("markers", "scenario: one of the churn pipeline's scenarios")


# -- the cluster and per-test resources ---------------------------------------------------


@pytest.fixture(scope="session")
def churn_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """The Kafka the scenarios run on."""
    servers = request.config.getoption("bootstrap_servers", default=None)
    if not servers:
        yield request.getfixturevalue("kafka")
        return
    cluster = ExternalCluster(servers)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def cluster_control(churn_cluster: Cluster, request: pytest.FixtureRequest) -> Any:
    """Node and leadership operations on the scenarios' cluster: the embedded
    cluster's own (``EmbeddedKafka``), or a control endpoint's
    (``--churn-control`` / ``STREAMTEST_CONTROL``, which ``streamtest demo`` sets).
    Skips when the cluster cannot be controlled (an external Kafka)."""
    from streamtest import EmbeddedCluster
    from streamtest.kit.control import ControlClient

    address = request.config.getoption("churn_control", default=None) or os.environ.get(
        "STREAMTEST_CONTROL"
    )
    if address:
        return ControlClient(address)
    if isinstance(churn_cluster, EmbeddedCluster):
        return churn_cluster.embedded
    pytest.skip("this scenario needs a cluster it can control (the embedded one, or "
                "--churn-control HOST:PORT)")


@pytest.fixture(scope="session")
def reports_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where pipeline logs and metrics snapshots go (a temporary directory unless
    ``--churn-reports`` names one)."""
    given = request.config.getoption("churn_reports", default=None)
    path = Path(given) if given else tmp_path_factory.mktemp("churn-reports")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def topics(churn_cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[Topics]:
    """The pipeline's three topics, created for this test (with the pipeline's own
    partitions and configs) and deleted after it."""
    names = Topics.with_suffix(unique_name(request.node.name, prefix="t"))
    admin = churn_cluster.admin()
    create_topics(admin, names)
    # Wait until metadata shows every partition with a leader (immediate on one
    # broker; on a real cluster creation propagates asynchronously).
    expected = {names.input: 3, names.output: 3, names.deadletter: 1}

    def visible() -> bool:
        md = admin.list_topics(timeout=5).topics
        return all(
            name in md and len(md[name].partitions) == n and md[name].error is None
            for name, n in expected.items()
        )

    eventually(visible, timeout=DEADLINE, interval=0.02)
    try:
        yield names
    finally:
        delete_topics(admin, names)


@pytest.fixture(scope="module")
def publish_to(churn_cluster: Cluster) -> Any:
    """``publish_to(topic, records) -> [Delivery]`` with the pipeline's own publisher.

    One producer serves the module, so the producer id is fetched once."""
    producer = Producer(producer_config(churn_cluster.bootstrap_servers))
    producer.list_topics(timeout=DEADLINE)  # connect now, so the producer id comes at once

    def send(topic: str, records: Sequence[Any]) -> list[Delivery]:
        return publish(producer, topic, records, timeout=DEADLINE)

    yield send
    producer.flush(10)


@pytest.fixture
def group_id(request: pytest.FixtureRequest, churn_cluster: Cluster) -> Iterator[str]:
    """A consumer group no other test uses; deleted after the test (after the
    pipeline fixture has stopped its processes), so a run against a shared Kafka
    leaves no groups behind."""
    group = unique_name(request.node.name, prefix="churn")
    yield group
    try:
        churn_cluster.delete_group(group, missing_ok=True, timeout=5)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        if isinstance(err, KafkaError) and err.code() == KafkaError.NON_EMPTY_GROUP:
            # A static member (--instance-id) does not leave the group when it stops,
            # and a SIGKILLed one cannot: the broker drops them when their session
            # times out, and Kafka then expires the empty group with its offsets
            # (offsets.retention.minutes). Nothing to do about it here.
            return
        import warnings

        warnings.warn(f"could not delete consumer group {group}: {exc}", stacklevel=1)


# -- the pipeline as a process ------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The SQLite sink of this test's pipeline runs."""
    return tmp_path / "churn.db"


@pytest.fixture
def pipeline(
    churn_cluster: Cluster,
    topics: Topics,
    group_id: str,
    db_path: Path,
    reports_dir: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Any]:
    """A factory ``pipeline(*extra_args) -> PipelineProcess`` starting the pipeline
    on this test's topics, group and database. Processes still running after the
    test are killed; every run's log is kept in the reports directory."""
    started: list[PipelineProcess] = []
    name = request.node.name.replace("[", "-").replace("]", "")

    def start(*extra: str) -> PipelineProcess:
        run = f"{name}-run{len(started) + 1}"
        log_path = reports_dir / "pipeline" / f"{run}.log"
        metrics_path = reports_dir / "metrics" / f"{run}.prom"
        for path in (log_path, metrics_path):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.unlink(missing_ok=True)
        args = [
            "--bootstrap-server",
            churn_cluster.bootstrap_servers,
            "--topic-suffix",
            topics.input.removeprefix(Topics().input + "."),
            "--group-id",
            group_id,
            "--db",
            str(db_path),
            "--metrics-port",
            "0",
            *extra,
        ]
        proc = PipelineProcess(args, log_path, metrics_path)
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        if proc.proc is not None and proc.proc.poll() is None:
            proc.kill()
