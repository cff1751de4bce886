"""The schema_registry_url and schema_registry fixtures: streamtest's own registry on
the session's cluster by default, or a given URL (command line > ini > environment)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from streamtest import EmbeddedKafka

REGISTERS = """
from confluent_kafka.schema_registry import Schema

def test_register(schema_registry, schema_registry_url):
    print("URL", schema_registry_url)
    assert schema_registry.register_schema("inner-subject", Schema('"string"', "AVRO")) >= 1
    assert "inner-subject" in schema_registry.get_subjects()
"""


@pytest.fixture(scope="module")
def outside_registry() -> Iterator[EmbeddedKafka]:
    with EmbeddedKafka(schema_registry=True) as k:
        yield k


def test_default_is_streamtests_registry_on_the_kafka_cluster(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REGISTERS)
    result = pytester.runpytest_inprocess("-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*URL http://127.0.0.1:*"])


@pytest.mark.parametrize("how", ["command line", "ini file", "environment"])
def test_a_given_url_is_used_as_it_is(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    outside_registry: EmbeddedKafka,
    how: str,
) -> None:
    url = outside_registry.schema_registry_url
    args = ["-s"]
    if how == "command line":
        args.append(f"--schema-registry-url={url}")
    elif how == "ini file":
        pytester.makeini(f"[pytest]\nstreamtest_schema_registry_url = {url}\n")
    else:
        monkeypatch.setenv("STREAMTEST_SCHEMA_REGISTRY_URL", url)
    pytester.makepyfile(REGISTERS)
    result = pytester.runpytest_inprocess(*args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*URL {url}"])
    # Not our registry: the client fixture leaves what the test registered.
    outside = SchemaRegistryClient({"url": url})
    assert "inner-subject" in outside.get_subjects()
    outside.delete_subject("inner-subject")
    outside.delete_subject("inner-subject", permanent=True)


def test_subjects_a_test_creates_are_deleted_afterwards(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from confluent_kafka.schema_registry import Schema

        def test_one(schema_registry):
            schema_registry.register_schema("reused", Schema('"string"', "AVRO"))

        def test_two(schema_registry):
            # The same subject, fresh: test_one's version 1 was deleted after it.
            assert "reused" not in schema_registry.get_subjects(deleted=True)
            schema_registry.register_schema("reused", Schema('"long"', "AVRO"))
            assert schema_registry.get_versions("reused") == [1]
        """
    )
    pytester.runpytest_inprocess("-p", "no:randomly").assert_outcomes(passed=2)
