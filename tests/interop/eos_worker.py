"""A consume-transform-produce worker with exactly-once semantics (KIP-98, KIP-447),
run as a subprocess by ``test_transactions_eos.py`` so that it can be SIGKILLed.

Each poll becomes one transaction: the outputs (input value + ``b"-out"``) and the
consumer's positions (``send_offsets_to_transaction``) commit together. The worker
exits with status 0 and prints ``DONE`` once the group's committed offsets cover
all ``--total`` input records. With ``--hang-after K`` it stops in the middle of
transaction K+1, after its outputs reached the broker, prints ``HANG`` and waits
for its stdin to close (or for the SIGKILL the test sends).
"""

from __future__ import annotations

import argparse
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition


def main() -> int:
    """Run the loop; return the exit status."""
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--sink", required=True)
    p.add_argument("--partitions", type=int, required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--transactional-id", required=True)
    p.add_argument("--total", type=int, required=True)
    p.add_argument("--hang-after", type=int, default=-1)
    p.add_argument("--deadline", type=float, default=120.0)
    args = p.parse_args()

    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "transactional.id": args.transactional_id,
            "transaction.timeout.ms": 60_000,
            "linger.ms": 1,
        }
    )
    # Fences a previous incarnation and aborts its open transaction, before the
    # consumer reads the group's committed offsets.
    producer.init_transactions(30)
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            # A killed predecessor leaves the group after this, not after 45 s.
            "session.timeout.ms": 2000,
            "heartbeat.interval.ms": 200,
            **({"debug": "cgrp,protocol"} if __import__("os").environ.get("EOS_DEBUG") else {}),
        }
    )
    consumer.subscribe([args.source])
    everything = [TopicPartition(args.source, i) for i in range(args.partitions)]
    committed_txns = 0
    stop_at = time.monotonic() + args.deadline
    try:
        while time.monotonic() < stop_at:
            msgs = [m for m in consumer.consume(num_messages=20, timeout=0.3) if not m.error()]
            if not msgs:
                done = consumer.committed(everything, 10)
                if sum(max(tp.offset, 0) for tp in done) >= args.total:
                    print("DONE", flush=True)
                    return 0
                continue
            producer.begin_transaction()
            for m in msgs:
                producer.produce(
                    args.sink, key=m.key(), value=m.value() + b"-out", partition=m.partition()
                )
            if committed_txns == args.hang_after:
                producer.flush(10)
                print("HANG", flush=True)
                sys.stdin.read()  # the test SIGKILLs us here
                return 3
            producer.send_offsets_to_transaction(
                consumer.position(consumer.assignment()), consumer.consumer_group_metadata(), 10
            )
            producer.commit_transaction(30)
            committed_txns += 1
            print(f"COMMITTED {committed_txns} {len(msgs)}", flush=True)
        print("DEADLINE", flush=True)
        return 2
    finally:
        consumer.close()


if __name__ == "__main__":
    sys.exit(main())
