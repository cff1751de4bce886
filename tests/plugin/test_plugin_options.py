"""The plugin picks the backend by factory argument > command line > ini > environment.

Each inner run prints the report header, which names the backend and where the
choice came from, and its tests check the ``kafka`` fixture itself.
"""

from __future__ import annotations

import pytest

from streamtest import EmbeddedKafka

TEST_BACKEND_IS = """
def test_backend(kafka):
    assert kafka.backend == {backend!r}
    assert kafka.running
"""

TEST_SETTINGS_ONLY = """
def test_settings(kafka_settings):
    print("RESOLVED", kafka_settings.backend, kafka_settings.bootstrap_servers,
          kafka_settings.keep_topics)
"""


def test_default_backend_is_embedded(pytester: pytest.Pytester):
    pytester.makepyfile(TEST_BACKEND_IS.format(backend="embedded"))
    result = pytester.runpytest_inprocess()
    result.stdout.fnmatch_lines(["streamtest: backend=embedded (default)"])
    result.assert_outcomes(passed=1)


def test_environment_sets_the_backend(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("STREAMTEST_BACKEND", "redpanda")
    pytester.makepyfile(TEST_SETTINGS_ONLY)
    result = pytester.runpytest_inprocess("-s")
    result.stdout.fnmatch_lines(
        ["streamtest: backend=redpanda (environment)", "*RESOLVED redpanda*"]
    )


def test_ini_beats_environment(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("STREAMTEST_BACKEND", "redpanda")
    pytester.makeini("[pytest]\nstreamtest_backend = kafka\n")
    pytester.makepyfile(TEST_SETTINGS_ONLY)
    result = pytester.runpytest_inprocess("-s")
    result.stdout.fnmatch_lines(["streamtest: backend=kafka (ini file)", "*RESOLVED kafka*"])


def test_command_line_beats_ini(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("STREAMTEST_BACKEND", "redpanda")
    pytester.makeini("[pytest]\nstreamtest_backend = kafka\n")
    pytester.makepyfile(TEST_BACKEND_IS.format(backend="embedded"))
    result = pytester.runpytest_inprocess("--kafka-backend", "embedded")
    result.stdout.fnmatch_lines(["streamtest: backend=embedded (command line)"])
    result.assert_outcomes(passed=1)


def test_factory_argument_beats_command_line(pytester: pytest.Pytester):
    pytester.makeconftest(
        "from streamtest import factories\nkafka = factories.kafka_cluster('embedded')\n"
    )
    pytester.makepyfile(TEST_BACKEND_IS.format(backend="embedded"))
    # The command line asks for a container (no Docker here): the factory wins.
    result = pytester.runpytest_inprocess("--kafka-backend", "kafka")
    result.assert_outcomes(passed=1)


def test_bootstrap_servers_in_environment_select_external(
    pytester: pytest.Pytester, monkeypatch, outside_broker: EmbeddedKafka
):
    address = outside_broker.bootstrap_servers
    monkeypatch.setenv("STREAMTEST_BOOTSTRAP_SERVERS", address)
    pytester.makepyfile(
        f"""
        def test_external(kafka, kafka_topic):
            assert kafka.backend == "external"
            assert kafka.bootstrap_servers == {address!r}
            kafka.send(kafka_topic, [("k", "v")])
            assert [(r.key, r.value) for r in kafka.records(kafka_topic)] == [(b"k", b"v")]
        """
    )
    result = pytester.runpytest_inprocess()
    result.stdout.fnmatch_lines(
        [
            f"streamtest: backend=external (environment: bootstrap servers given), "
            f"bootstrap_servers={address} (environment)"
        ]
    )
    result.assert_outcomes(passed=1)
    # The topic was made on the existing cluster, and deleted from it afterwards.
    assert not [t for t in outside_broker.topics() if t.startswith("st-test_external")]


def test_command_line_bootstrap_servers_beat_ini_backend(
    pytester: pytest.Pytester, outside_broker: EmbeddedKafka
):
    address = outside_broker.bootstrap_servers
    pytester.makeini("[pytest]\nstreamtest_backend = embedded\n")
    pytester.makepyfile(TEST_BACKEND_IS.format(backend="external"))
    result = pytester.runpytest_inprocess("--kafka-bootstrap-servers", address)
    result.assert_outcomes(passed=1)


def test_external_without_servers_fails_with_a_usage_message(pytester: pytest.Pytester):
    pytester.makepyfile(TEST_BACKEND_IS.format(backend="external"))
    result = pytester.runpytest_inprocess("--kafka-backend", "external")
    result.stdout.fnmatch_lines(["*external* backend needs bootstrap servers*"])
    result.assert_outcomes(errors=1)


def test_unknown_backend_on_the_command_line_is_refused(pytester: pytest.Pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_inprocess("--kafka-backend", "zookeeper")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid choice: 'zookeeper'*"])


def test_tests_without_kafka_fixtures_start_nothing(pytester: pytest.Pytester, monkeypatch):
    # A broken backend choice must not break a suite's unrelated tests.
    monkeypatch.setenv("STREAMTEST_BACKEND", "kafka")
    pytester.makepyfile("def test_plain(): assert 1 + 1 == 2")
    pytester.runpytest_inprocess().assert_outcomes(passed=1)


TEST_NODES = """
from confluent_kafka.admin import AdminClient

def test_nodes(kafka):
    servers = kafka.bootstrap_servers.split(",")
    meta = AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(timeout=10)
    print("NODES", len(servers), sorted(meta.brokers))
    configs = kafka.embedded.cluster_status()
    print("CONTROLLER", configs["controller"])
"""


def test_kafka_brokers_option_starts_a_multi_node_cluster(pytester: pytest.Pytester):
    pytester.makepyfile(TEST_NODES)
    result = pytester.runpytest_inprocess("-s", "--kafka-brokers", "3")
    result.stdout.fnmatch_lines(["*brokers=3 (command line)*", "*NODES 3 ?0, 1, 2?*"])
    result.assert_outcomes(passed=1)


def test_brokers_and_settings_from_the_ini_file(pytester: pytest.Pytester):
    pytester.makeini(
        "[pytest]\nstreamtest_brokers = 2\nstreamtest_settings =\n"
        "    default.replication.factor=2\n    num.partitions=4\n"
    )
    pytester.makepyfile(
        """
from confluent_kafka.admin import AdminClient

def test_defaults(kafka, kafka_producer):
    kafka_producer.produce("auto-made", b"x")
    kafka_producer.flush(10)
    meta = AdminClient({"bootstrap.servers": kafka.bootstrap_servers}).list_topics(
        "auto-made", timeout=10)
    parts = meta.topics["auto-made"].partitions
    assert len(parts) == 4
    assert all(len(p.replicas) == 2 for p in parts.values())
"""
    )
    result = pytester.runpytest_inprocess()
    result.stdout.fnmatch_lines(["*brokers=2 (ini file)*num.partitions=4*"])
    result.assert_outcomes(passed=1)


def test_command_line_setting_overrides_the_ini_one(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\nstreamtest_settings =\n    num.partitions=4\n")
    pytester.makepyfile(TEST_SETTINGS_ONLY)
    result = pytester.runpytest_inprocess("-s", "--kafka-setting", "num.partitions=7")
    result.stdout.fnmatch_lines(["*settings: num.partitions=7*"])


def test_a_bad_setting_is_a_usage_error_naming_it(pytester: pytest.Pytester):
    pytester.makepyfile(TEST_SETTINGS_ONLY)
    result = pytester.runpytest_inprocess("--kafka-setting", "num.partitions=-2")
    result.stdout.fnmatch_lines(["streamtest: --kafka-setting: Invalid value -2 for "
                                 "configuration num.partitions: Value must be at least 1"])
    assert result.ret != 0


@pytest.mark.parametrize(
    ("where", "name"),
    [
        ("option", "--kafka-bootstrap-server"),
        ("option", "--kafka-bootstrap-servers"),
        ("ini", "streamtest_bootstrap_server"),
        ("ini", "streamtest_bootstrap_servers"),
        ("env", "STREAMTEST_BOOTSTRAP_SERVER"),
        ("env", "STREAMTEST_BOOTSTRAP_SERVERS"),
    ],
)
def test_both_bootstrap_spellings_are_accepted(pytester: pytest.Pytester, monkeypatch, where,
                                               name):
    args = []
    if where == "option":
        args = [name, "h:1"]
    elif where == "ini":
        pytester.makeini(f"[pytest]\n{name} = h:1\n")
    else:
        monkeypatch.setenv(name, "h:1")
    pytester.makepyfile(TEST_SETTINGS_ONLY)
    result = pytester.runpytest_inprocess("-s", *args)
    result.stdout.fnmatch_lines(["*RESOLVED external h:1 False*"])


def test_disagreeing_bootstrap_spellings_are_a_usage_error(pytester: pytest.Pytester,
                                                         monkeypatch):
    monkeypatch.setenv("STREAMTEST_BOOTSTRAP_SERVER", "a:1")
    monkeypatch.setenv("STREAMTEST_BOOTSTRAP_SERVERS", "b:2")
    pytester.makepyfile(TEST_SETTINGS_ONLY)
    result = pytester.runpytest_inprocess("-s")
    result.stdout.fnmatch_lines(["*STREAMTEST_BOOTSTRAP_SERVER=a:1 and "
                                 "STREAMTEST_BOOTSTRAP_SERVERS=b:2 disagree; set one*"])


def test_help_documents_one_bootstrap_spelling(pytester: pytest.Pytester):
    result = pytester.runpytest_inprocess("--help")
    out = result.stdout.str()
    assert "--kafka-bootstrap-server=HOST:PORT" in out
    assert "--kafka-bootstrap-servers" not in out
