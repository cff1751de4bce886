"""The backend settings' precedence: factory argument > command line > ini > env."""

from __future__ import annotations

import pytest

from streamtest.kit.backends import env_level, parse_bool, resolve_settings

UNSET = {"backend": None, "bootstrap_servers": None, "keep_topics": None, "brokers": None}


def levels(**by_level):
    """Build the four levels, highest first, from keyword dicts (missing = unset)."""
    order = ["factory", "cli", "ini", "env"]
    return [(name, {**UNSET, **by_level.get(name, {})}) for name in order]


def test_nothing_set_means_embedded_and_topics_deleted():
    s = resolve_settings(levels())
    assert (s.backend, s.bootstrap_servers, s.keep_topics) == ("embedded", None, False)
    assert s.describe() == "backend=embedded (default)"


@pytest.mark.parametrize(
    ("set_at", "expected_source"),
    [
        (["factory", "cli", "ini", "env"], "factory"),
        (["cli", "ini", "env"], "cli"),
        (["ini", "env"], "ini"),
        (["env"], "env"),
    ],
)
def test_backend_comes_from_the_highest_level_that_sets_it(set_at, expected_source):
    backends = {"factory": "redpanda", "cli": "kafka", "ini": "embedded", "env": "redpanda"}
    s = resolve_settings(levels(**{lvl: {"backend": backends[lvl]} for lvl in set_at}))
    assert s.backend == backends[expected_source]
    assert s.sources["backend"] == expected_source


def test_bootstrap_servers_alone_mean_external():
    s = resolve_settings(levels(env={"bootstrap_servers": "h:1"}))
    assert (s.backend, s.bootstrap_servers) == ("external", "h:1")
    assert "bootstrap servers given" in s.sources["backend"]


def test_cli_bootstrap_servers_beat_an_ini_backend():
    s = resolve_settings(levels(cli={"bootstrap_servers": "cli:1"}, ini={"backend": "embedded"}))
    assert (s.backend, s.bootstrap_servers) == ("external", "cli:1")


def test_cli_backend_beats_bootstrap_servers_left_in_the_environment():
    s = resolve_settings(levels(cli={"backend": "embedded"}, env={"bootstrap_servers": "env:1"}))
    assert s.backend == "embedded"


def test_external_backend_takes_servers_from_a_lower_level():
    s = resolve_settings(levels(cli={"backend": "external"}, ini={"bootstrap_servers": "ini:1"}))
    assert (s.backend, s.bootstrap_servers) == ("external", "ini:1")
    assert s.sources["bootstrap_servers"] == "ini"


def test_keep_topics_precedence_lets_a_higher_level_say_no():
    s = resolve_settings(levels(factory={"keep_topics": False}, env={"keep_topics": True}))
    assert s.keep_topics is False
    s = resolve_settings(levels(env={"keep_topics": True}))
    assert s.keep_topics is True


def test_external_without_servers_is_an_error_naming_every_way_to_set_them():
    with pytest.raises(ValueError, match="--kafka-bootstrap-server=") as info:
        resolve_settings(levels(cli={"backend": "external"}))
    assert "streamtest_bootstrap_server in" in str(info.value)
    assert "STREAMTEST_BOOTSTRAP_SERVER in" in str(info.value)


def test_unknown_backend_is_an_error_listing_the_backends():
    with pytest.raises(ValueError, match="embedded, apache, kafka, redpanda, external"):
        resolve_settings(levels(env={"backend": "zookeeper"}))


def test_env_level_reads_streamtest_variables():
    env = {
        "STREAMTEST_BACKEND": "kafka",
        "STREAMTEST_BOOTSTRAP_SERVERS": "a:1",
        "STREAMTEST_KEEP_TOPICS": "yes",
        "STREAMTEST_BROKERS": "3",
    }
    assert env_level(env) == {
        "backend": "kafka", "bootstrap_servers": "a:1", "keep_topics": True, "brokers": 3
    }
    with pytest.raises(ValueError, match="STREAMTEST_BROKERS must be between 1 and 64"):
        env_level({"STREAMTEST_BROKERS": "0"})
    assert env_level({}) == UNSET


@pytest.mark.parametrize(("text", "value"), [("1", True), ("On", True), ("no", False), ("", False)])
def test_parse_bool(text, value):
    assert parse_bool(text, "x") is value


def test_parse_bool_rejects_nonsense():
    with pytest.raises(ValueError, match="must be a boolean"):
        parse_bool("maybe", "STREAMTEST_KEEP_TOPICS")
