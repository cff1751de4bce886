"""The command line: ``python -m churn run|publish|create-topics``.

``run`` is the pipeline process. It stops cleanly on SIGTERM or SIGINT (finishes
and commits its batch, leaves the group, closes the database) and exits 0; with
``--start-paused`` it waits for SIGUSR1 before processing. Logs are JSON lines on
stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from confluent_kafka.admin import AdminClient

from . import logs
from .pipeline import ChurnPipeline, PipelineConfig
from .publisher import invalid_samples, producer_config, publish, sample_customers
from .topics import Topics, create_topics

log = logging.getLogger("churn")


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap-server",
        dest="bootstrap_servers",
        default="localhost:9092",
        metavar="HOST:PORT",
        help="Kafka cluster (default: %(default)s).",
    )
    # The plural spelling is accepted as well, without a second help line.
    parser.add_argument("--bootstrap-servers", dest="bootstrap_servers", help=argparse.SUPPRESS)
    parser.add_argument(
        "--topic-suffix",
        default="",
        metavar="SUFFIX",
        help="Append .SUFFIX to the three topic names (test isolation).",
    )
    parser.add_argument(
        "--kafka-config",
        action="append",
        type=_key_value,
        default=[],
        metavar="KEY=VALUE",
        help="Extra librdkafka setting; repeatable.",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``python -m churn``."""
    parser = argparse.ArgumentParser(prog="python -m churn", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="Run the pipeline until SIGTERM/SIGINT.")
    _common(run)
    run.add_argument("--group-id", default="churn-pipeline")
    run.add_argument("--db", type=Path, default=Path("churn.db"), help="SQLite sink file.")
    run.add_argument("--batch-size", type=int, default=100)
    run.add_argument(
        "--exactly-once",
        action="store_true",
        help="Use Kafka transactions instead of at-least-once commits.",
    )
    run.add_argument(
        "--instance-id",
        default=None,
        help="Static group membership id: a restart takes over at once.",
    )
    run.add_argument("--transactional-id", default=None)
    run.add_argument(
        "--metrics-port",
        type=int,
        default=8000,
        help="Port for /metrics (0: any free port; -1: none).",
    )
    run.add_argument("--metrics-host", default="127.0.0.1")
    run.add_argument(
        "--max-messages",
        type=int,
        default=None,
        help="Stop cleanly after processing this many records.",
    )
    run.add_argument(
        "--start-paused",
        action="store_true",
        help="Join the group and report lag; process after SIGUSR1.",
    )
    run.add_argument(
        "--hang-before-commit",
        type=int,
        default=None,
        metavar="BATCH",
        help="Fault injection: hang before committing batch BATCH (1-based).",
    )
    run.add_argument("--create-topics", action="store_true", help="Create missing topics.")

    pub = sub.add_parser("publish", help="Publish sample customer records.")
    _common(pub)
    pub.add_argument("--count", type=int, default=10)
    pub.add_argument("--start", type=int, default=0, help="First customer number.")
    pub.add_argument("--version", type=int, default=1)
    pub.add_argument("--seed", type=int, default=0)
    pub.add_argument(
        "--invalid", action="store_true", help="Also publish one invalid record of each kind."
    )

    topics = sub.add_parser("create-topics", help="Create the pipeline's topics.")
    _common(topics)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m churn`` with ``argv``; return the exit status."""
    args = build_parser().parse_args(argv)
    logs.configure(args.log_level)
    topics = Topics.with_suffix(args.topic_suffix)
    extra = dict(args.kafka_config)
    if args.command == "create-topics":
        created = create_topics(
            AdminClient({"bootstrap.servers": args.bootstrap_servers, **extra}), topics
        )
        log.info("topics created", extra={"topics": created})
        return 0
    if args.command == "publish":
        from confluent_kafka import Producer

        producer = Producer(producer_config(args.bootstrap_servers, **extra))
        records: list = list(
            sample_customers(args.count, seed=args.seed, start=args.start, version=args.version)
        )
        if args.invalid:
            records += [(b"invalid", raw) for _, raw in invalid_samples()]
        deliveries = publish(producer, topics.input, records)
        log.info("published", extra={"topic": topics.input, "records": len(deliveries)})
        return 0
    return _run(args, topics, extra)


def _run(args: argparse.Namespace, topics: Topics, extra: dict[str, str]) -> int:
    config = PipelineConfig(
        bootstrap_servers=args.bootstrap_servers,
        topics=topics,
        group_id=args.group_id,
        db_path=args.db,
        batch_size=args.batch_size,
        exactly_once=args.exactly_once,
        instance_id=args.instance_id,
        transactional_id=args.transactional_id,
        metrics_port=None if args.metrics_port < 0 else args.metrics_port,
        metrics_host=args.metrics_host,
        max_messages=args.max_messages,
        start_paused=args.start_paused,
        hang_before_commit=args.hang_before_commit,
        create_topics=args.create_topics,
        client_config=extra,
    )
    log.info("pipeline starting", extra={"pid": os.getpid(), "argv": sys.argv[1:]})
    pipeline = ChurnPipeline(config)

    def on_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        pipeline.stop()

    def on_resume(_signum: int, _frame: FrameType | None) -> None:
        pipeline.resume()

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    if hasattr(signal, "SIGUSR1"):  # not on Windows
        signal.signal(signal.SIGUSR1, on_resume)
    try:
        pipeline.run()
    except Exception:
        log.exception("pipeline failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
