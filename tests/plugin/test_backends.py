"""Backends: the container backends without Docker, the external backend, and the
Cluster lifecycle."""

from __future__ import annotations

import sys

import pytest

import streamtest
from streamtest import BackendUnavailable, ContainerCluster, EmbeddedKafka, ExternalCluster
from streamtest.kit import containers, make_cluster


@pytest.fixture
def no_docker(monkeypatch, tmp_path):
    """Point DOCKER_HOST at a socket path with nothing behind it."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")


@pytest.mark.parametrize("flavor", ["kafka", "redpanda"])
def test_container_backend_without_docker_says_so_and_names_the_other_backends(no_docker, flavor):
    cluster = make_cluster(flavor)
    with pytest.raises(BackendUnavailable) as info:
        cluster.start()
    message = str(info.value)
    assert "no Docker engine is reachable" in message
    assert "docker.sock" in message  # what was tried
    assert "'embedded'" in message and "'external'" in message
    assert "--kafka-bootstrap-server=HOST:PORT" in message
    assert not cluster.running


def test_plugin_reports_missing_docker_as_one_clear_failure(pytester: pytest.Pytester, no_docker):
    pytester.makepyfile("def test_needs_kafka(kafka):\n    pass\n")
    result = pytester.runpytest_inprocess("--kafka-backend", "redpanda")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*streamtest (backend=redpanda (command line)): The 'redpanda' backend runs *"
            "no Docker engine is reachable*'embedded'*'external'*"
        ]
    )
    # pytrace=False: the message, not a traceback from inside the plugin.
    assert "def cluster_fixture" not in result.stdout.str()


def test_docker_probe_finds_a_listening_socket(tmp_path, monkeypatch):
    import socket

    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        monkeypatch.setenv("DOCKER_HOST", f"unix://{path}")
        assert containers.probe_docker() == (True, f"unix://{path}")


def test_docker_reachable_but_testcontainers_missing_says_what_to_install(monkeypatch):
    monkeypatch.setattr(containers, "probe_docker", lambda timeout=1.0: (True, "unix:///x"))
    # None in sys.modules makes the import fail, whether or not it is installed.
    monkeypatch.setitem(sys.modules, "testcontainers", None)
    monkeypatch.setitem(sys.modules, "testcontainers.kafka", None)
    with pytest.raises(BackendUnavailable, match=r"pip install 'streamtest\[containers\]'"):
        ContainerCluster("kafka").start()


def test_container_cluster_uses_the_seed_image_by_default():
    assert ContainerCluster("kafka").image == "confluentinc/cp-kafka:7.4.0"
    assert ContainerCluster("redpanda", image="my/redpanda:1").image == "my/redpanda:1"
    with pytest.raises(ValueError, match="flavor"):
        ContainerCluster("zookeeper")  # type: ignore[arg-type]


def test_external_cluster_uses_an_existing_broker_and_leaves_it_running():
    with EmbeddedKafka() as broker:
        with ExternalCluster(broker.bootstrap_servers) as cluster:
            assert cluster.backend == "external"
            cluster.create_topic("ext-topic")
            cluster.send("ext-topic", ["v"])
            assert [r.value for r in cluster.records("ext-topic")] == [b"v"]
        assert broker.running
        assert "ext-topic" in broker.topics()


def test_unreachable_external_cluster_fails_fast_with_the_address():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{s.getsockname()[1]}"
    cluster = ExternalCluster(address, connect_timeout=1.0)
    with pytest.raises(BackendUnavailable, match=f"could not reach a Kafka cluster at {address}"):
        cluster.start()


def test_make_cluster_validates_its_arguments():
    assert isinstance(make_cluster("embedded"), streamtest.EmbeddedCluster)
    with pytest.raises(ValueError, match="needs bootstrap servers"):
        make_cluster("external")
    with pytest.raises(ValueError, match="unknown streamtest backend"):
        make_cluster("zookeeper")


def test_cluster_lifecycle_start_twice_and_stop_twice():
    cluster = streamtest.EmbeddedCluster()
    with pytest.raises(RuntimeError, match="not running"):
        _ = cluster.bootstrap_servers
    cluster.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            cluster.start()
        assert cluster.embedded.running
    finally:
        cluster.stop()
    cluster.stop()
    assert not cluster.running


def test_embedded_cluster_in_process_mode():
    with streamtest.EmbeddedCluster(mode="process") as cluster:
        cluster.create_topic("p")
        cluster.send("p", [("k", "v")])
        assert [(r.key, r.value) for r in cluster.records("p")] == [(b"k", b"v")]
