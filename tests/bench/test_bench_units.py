"""The pieces of streamtest bench without a broker: histograms, workloads, results,
the seed's StreamingPerformanceTest, config validation."""

from __future__ import annotations

import json
import random
import threading

import pytest

from streamtest.bench import (
    BenchConfig,
    StreamingPerformanceTest,
    compare,
    load_result,
    load_workload,
)
from streamtest.bench import histogram as hdr
from streamtest.bench.result import SavedResult, Tally
from streamtest.bench.workload import parse_workload
from streamtest.ops.errors import InvalidInputError


def test_histograms_merged_across_processes_equal_one_histogram_of_everything():
    rng = random.Random(7)
    values = [rng.randint(50, 200_000) for _ in range(20_000)]
    whole = hdr.new_histogram()
    hdr.record_all(whole, values)
    parts = [hdr.new_histogram() for _ in range(3)]
    for i, v in enumerate(values):
        parts[i % 3].record_value(v)
    merged = hdr.new_histogram()
    for part in parts:
        # Through the wire format, as worker processes send them.
        hdr.merge(merged, hdr.decode(hdr.encode(part)))
    assert merged.get_total_count() == len(values)
    assert hdr.summary_ms(merged) == hdr.summary_ms(whole)
    # 3 significant digits: p99 within 0.1% of the exact order statistic.
    exact = sorted(values)[int(0.99 * len(values)) - 1] / 1000
    assert abs(hdr.summary_ms(merged)["p99"] - exact) <= exact * 0.002


def test_recorder_counts_equal_values_once_and_clamps_out_of_range():
    rec = hdr.LatencyRecorder()
    for _ in range(1000):
        rec.add_seconds(0.002)
    rec.values.append(-5)
    rec.values.append(10**13)
    h = rec.drain()
    assert h.get_total_count() == 1002
    assert rec.drain().get_total_count() == 0
    assert hdr.summary_ms(hdr.new_histogram()) == dict.fromkeys(
        ["p50", "p95", "p99", "p99_9", "max", "mean"]
    )


def test_decode_rejects_garbage():
    with pytest.raises(ValueError, match="not an encoded HdrHistogram"):
        hdr.decode("not-a-histogram")


def test_tally_measures_the_last_partial_interval_over_the_part_that_ran():
    tally = Tally(1.0)
    h = hdr.new_histogram()
    h.record_value(1000)
    tally.add(0, 100, 1000, 0, h)
    tally.add(1, 10, 100, 1, hdr.new_histogram())
    stats = tally.all_stats(duration_s=1.25)
    assert [s.t_s for s in stats] == [1.0, 1.25]
    assert stats[0].records_per_s == 100
    assert stats[1].records_per_s == pytest.approx(40)
    assert stats[1].errors == 1 and stats[1].p99_ms is None


def test_streaming_performance_test_as_the_seed_uses_it():
    perf = StreamingPerformanceTest()
    with pytest.raises(ValueError, match="Test not started"):
        perf.calculate_metrics()
    perf.start_test()
    for i in range(1, 101):
        perf.record_event(float(i), success=True)
    for _ in range(25):
        perf.record_event(5.0, success=False)
    m = perf.calculate_metrics()
    assert m.total_events == 125 and m.errors == 25
    assert m.error_rate == pytest.approx(20.0)
    assert m.latency_avg == pytest.approx(50.5, rel=0.01)
    assert m.latency_p95 == pytest.approx(95, rel=0.01)
    assert m.latency_p99 == pytest.approx(99, rel=0.01)
    assert m.latency_max == pytest.approx(100, rel=0.01)
    assert m.throughput > 0
    data = perf.to_json()
    assert list(data) == [
        "records",
        "errors",
        "duration_s",
        "throughput",
        "latency_ms",
        "intervals",
    ]
    assert data["records"] == 125 and data["errors"] == 25


def test_performance_test_measure_block_and_threads():
    perf = StreamingPerformanceTest()
    perf.start_test()
    with perf.measure():
        pass
    with pytest.raises(RuntimeError), perf.measure():
        raise RuntimeError("step failed")

    def worker() -> None:
        for _ in range(500):
            perf.record_event(1.0)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    m = perf.calculate_metrics()
    assert m.total_events == 2002 and m.errors == 1
    with pytest.raises(ValueError, match="negative"):
        perf.record_event(-1)


def test_omb_workload_keys_map_to_bench_settings(tmp_path):
    path = tmp_path / "omb.yaml"
    path.write_text(
        "name: 1 topic / 16 partitions / 1kb\n"
        "topics: 2\n"
        "partitionsPerTopic: 16\n"
        "messageSize: 1024\n"
        "payloadFile: null\n".replace("payloadFile: null\n", "")
        + "subscriptionsPerTopic: 1\n"
        "consumerPerSubscription: 3\n"
        "producersPerTopic: 2\n"
        "producerRate: 50000\n"
        "consumerBacklogSizeGB: 0\n"
        "testDurationMinutes: 2\n"
        "keyDistributor: NO_KEY\n"
    )
    w = load_workload(path)
    assert w.name == "1 topic / 16 partitions / 1kb"
    cfg = w.apply(BenchConfig(mode="e2e")).validate()
    assert (cfg.topics, cfg.partitions, cfg.record_size) == (2, 16, 1024)
    assert (cfg.producers, cfg.consumers, cfg.subscriptions) == (4, 3, 1)
    assert cfg.rate == 50000 and cfg.duration_s == 120 and cfg.records is None
    assert cfg.keys is None
    # Fields the user set on the command line win over the file.
    kept = w.apply(
        BenchConfig(mode="e2e", record_size=10, records=5), {"record_size", "records"}
    ).validate()
    assert kept.record_size == 10 and kept.records == 5 and kept.duration_s is None


def test_workload_refuses_what_it_cannot_do():
    with pytest.raises(InvalidInputError, match="consumerBacklogSizeGB is not supported"):
        parse_workload({"consumerBacklogSizeGB": 10})
    with pytest.raises(InvalidInputError, match="keyDistributor must be one of"):
        parse_workload({"keyDistributor": "ZIPF"})
    with pytest.raises(InvalidInputError, match="producerRate has a bad value"):
        parse_workload({"producerRate": [1, 2]})


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"mode": "sideways"}, "mode must be one of"),
        ({"rate": 0}, "rate must be more than 0"),
        ({"duration_s": -1}, "duration must be more than 0"),
        ({"linger_ms": -3}, "linger must be 0 to 900000"),
        ({"replication_factor": 0}, "replication factor must be -1"),
        ({"topics": 0}, "topics must be at least 1"),
        ({"interval_s": 0.01}, "interval must be 0.1 to 60"),
        ({"topic": ""}, "topic must not be empty"),
    ],
)
def test_config_validation_names_the_setting(settings, message):
    with pytest.raises(InvalidInputError, match=message):
        BenchConfig(**settings).validate()


def test_validate_accepts_its_own_output_and_fills_defaults():
    cfg = BenchConfig(mode="produce", acks="-1").validate()
    assert cfg.records == 100_000 and cfg.acks == "all" and cfg.consumers == 0
    assert cfg.validate() == cfg
    assert BenchConfig(topic="t", topics=3).topic_names == ["t-0", "t-1", "t-2"]


def test_compare_ratios_and_verdicts(tmp_path):
    def saved(rps: float, p99: float) -> SavedResult:
        return SavedResult(
            "x",
            {
                "records": 10,
                "errors": 0,
                "duration_s": 1.0,
                "throughput": {"records_per_s": rps, "mb_per_s": 1.0},
                "latency_ms": {"p50": 1, "p95": 1, "p99": p99, "p99_9": 1, "max": 1, "mean": 1},
                "intervals": [],
            },
        )

    rows = {r.name: r for r in compare(saved(100, 10), saved(150, 5))}
    assert rows["records/s"].ratio == 1.5 and rows["records/s"].verdict == "better"
    assert rows["latency p99 ms"].ratio == 0.5 and rows["latency p99 ms"].verdict == "better"
    assert rows["MB/s"].verdict == "same"
    assert rows["errors"].ratio is None and rows["errors"].verdict == "-"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"records": 1}))
    with pytest.raises(InvalidInputError, match="not a streamtest bench result: no errors"):
        load_result(bad)
