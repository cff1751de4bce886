"""log/config.py: Kafka's precedence (topic config, broker synonym, default) and
validation messages."""

from __future__ import annotations

import random

import pytest

from streamtest.broker.log.config import (
    LONG_MAX,
    InvalidConfig,
    LogConfig,
    LogManagerConfig,
    validate_log_config,
)


def test_defaults_are_kafkas():
    cfg = LogConfig.from_settings()
    assert cfg.segment_bytes == 1073741824
    assert cfg.retention_ms == 7 * 24 * 3600 * 1000
    assert cfg.cleanup_policy == frozenset({"delete"})
    assert cfg.flush_messages == LONG_MAX
    assert cfg.index_interval_bytes == 4096 and cfg.segment_index_bytes == 10485760
    assert cfg.delete and not cfg.compact


def test_topic_config_beats_broker_synonym_beats_default():
    broker = {"log.retention.hours": "1", "log.segment.bytes": "2000", "log.roll.ms": "5"}
    cfg = LogConfig.from_settings({"segment.bytes": "3000"}, broker)
    assert cfg.segment_bytes == 3000
    assert cfg.retention_ms == 3_600_000
    assert cfg.segment_ms == 5


def test_retention_synonyms_in_kafkas_order():
    broker = {"log.retention.minutes": "2", "log.retention.hours": "5"}
    assert LogConfig.from_settings({}, broker).retention_ms == 120_000
    broker["log.retention.ms"] = "7"
    assert LogConfig.from_settings({}, broker).retention_ms == 7
    assert LogConfig.from_settings({}, {"log.retention.hours": "-1"}).retention_ms == -1


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("segment.bytes", "13", "Value must be at least 14"),
        ("segment.bytes", "abc", "Not a number of type INT"),
        ("min.cleanable.dirty.ratio", "1.5", "Value must be no more than 1"),
        ("cleanup.policy", "forever", "String must be one of: compact, delete"),
        ("message.timestamp.type", "Now", "String must be one of: CreateTime, LogAppendTime"),
        ("retention.ms", "-2", "Value must be at least -1"),
    ],
)
def test_invalid_values_get_kafkas_message(name, value, reason):
    with pytest.raises(InvalidConfig) as exc:
        LogConfig.from_settings({name: value})
    assert str(exc.value) == f"Invalid value {value} for configuration {name}: {reason}"
    with pytest.raises(InvalidConfig):
        validate_log_config(name, value)


def test_compaction_lags_must_be_ordered():
    with pytest.raises(InvalidConfig, match="min.compaction.lag.ms"):
        LogConfig.from_settings({"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"})


def test_policy_list_and_derived_values():
    cfg = LogConfig.from_settings(
        {"cleanup.policy": "compact,delete", "segment.ms": "1000", "max.compaction.lag.ms": "300"}
    )
    assert cfg.compact and cfg.delete
    assert cfg.max_segment_ms == 300  # KIP-354: a compacted segment rolls by the max lag
    assert LogConfig.from_settings({"segment.ms": "1000"}).max_segment_ms == 1000


def test_segment_jitter_is_below_the_smaller_of_jitter_and_segment_ms():
    cfg = LogConfig.from_settings({"segment.jitter.ms": "500", "segment.ms": "100"})
    rng = random.Random(3)
    draws = {cfg.random_segment_jitter(rng) for _ in range(300)}
    assert draws and max(draws) < 100 and min(draws) >= 0
    assert LogConfig().random_segment_jitter(rng) == 0


def test_manager_settings():
    cfg = LogManagerConfig.from_settings(
        {"log.retention.check.interval.ms": "1000", "log.cleaner.backoff.ms": "5"}
    )
    assert cfg.retention_check_interval_ms == 1000 and cfg.cleaner_backoff_ms == 5
    assert cfg.cleaner_enable and cfg.cleaner_dedupe_buffer_size == 134217728
    with pytest.raises(InvalidConfig, match="log.cleaner.enable"):
        LogManagerConfig.from_settings({"log.cleaner.enable": "maybe"})


def test_the_broker_settings_table_gives_the_defaults():
    from streamtest.broker.config import BrokerSettings

    settings = BrokerSettings({"log.retention.hours": "2", "log.cleaner.backoff.ms": "250"})
    cfg = LogConfig.from_settings({"segment.bytes": "5000"}, settings)
    assert cfg.retention_ms == 7_200_000 and cfg.segment_bytes == 5000
    manager = LogManagerConfig.from_settings(settings)
    assert manager.cleaner_backoff_ms == 250
    # A manager setting the table does not know keeps Kafka's default.
    assert manager.high_watermark_checkpoint_interval_ms == 5000
