"""Idempotent produce at the protocol level (KIP-98): sequences, epochs, duplicates.

Every test speaks the wire protocol through a raw socket with batches built by
``protocol.records.build_batch``, so what is checked is the broker's answer to
exact bytes, as a retrying client would send them.
"""

from __future__ import annotations

from streamtest import EmbeddedKafka
from streamtest.kit.wait import eventually
from streamtest.protocol.errors import ErrorCode

from .rawclient import RawClient
from .txnwire import batch, init_pid, produce


def _client(broker: EmbeddedKafka, topic: str) -> RawClient:
    broker.create_topic(topic, 1)
    return RawClient(broker.bootstrap_servers)


def test_idempotent_producer_gets_a_fresh_id_at_epoch_zero(broker, topic_name):
    client = _client(broker, topic_name)
    first = init_pid(client, None)
    second = init_pid(client, None)
    assert first.error_code == 0 and first.producer_epoch == 0
    assert second.producer_id != first.producer_id


def test_the_same_produce_request_sent_twice_is_appended_once(broker, topic_name):
    client = _client(broker, topic_name)
    pid = init_pid(client, None).producer_id
    records = batch(pid, 0, 0, [b"a", b"b", b"c"])
    first = produce(client, topic_name, records)
    retry = produce(client, topic_name, records)
    assert (first.error_code, retry.error_code) == (0, 0)
    assert retry.base_offset == first.base_offset == 0
    assert [r.value for r in broker.records(topic_name)] == [b"a", b"b", b"c"]


def test_a_retry_of_any_of_the_last_five_batches_gets_its_original_offset(broker, topic_name):
    client = _client(broker, topic_name)
    pid = init_pid(client, None).producer_id
    sent = [batch(pid, 0, seq * 2, [b"x", b"y"]) for seq in range(6)]
    offsets = [produce(client, topic_name, b).base_offset for b in sent]
    assert offsets == [0, 2, 4, 6, 8, 10]
    for i in range(1, 6):  # the last five are remembered
        assert produce(client, topic_name, sent[i]).base_offset == offsets[i]
    # The first fell out of the window: it is now just out of sequence.
    assert produce(client, topic_name, sent[0]).error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert len(broker.records(topic_name)) == 12


def test_a_sequence_gap_is_out_of_order(broker, topic_name):
    client = _client(broker, topic_name)
    pid = init_pid(client, None).producer_id
    assert produce(client, topic_name, batch(pid, 0, 0)).error_code == 0
    gap = produce(client, topic_name, batch(pid, 0, 2))
    assert gap.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert produce(client, topic_name, batch(pid, 0, 1)).error_code == 0


def test_an_older_epoch_is_rejected_and_a_new_epoch_must_start_at_zero(broker, topic_name):
    client = _client(broker, topic_name)
    pid = init_pid(client, None).producer_id
    assert produce(client, topic_name, batch(pid, 1, 0)).error_code == 0
    stale = produce(client, topic_name, batch(pid, 0, 1))
    assert stale.error_code == ErrorCode.INVALID_PRODUCER_EPOCH
    bumped = produce(client, topic_name, batch(pid, 2, 5))
    assert bumped.error_code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert produce(client, topic_name, batch(pid, 2, 0)).error_code == 0


def test_a_producer_without_state_is_accepted_at_any_sequence(broker, topic_name):
    # Current Kafka (KIP-360) accepts it rather than answering UNKNOWN_PRODUCER_ID.
    client = _client(broker, topic_name)
    pid = init_pid(client, None).producer_id
    resp = produce(client, topic_name, batch(pid, 0, 42))
    assert resp.error_code == 0
    assert produce(client, topic_name, batch(pid, 0, 43)).error_code == 0
    assert produce(client, topic_name, batch(pid, 0, 45)).error_code == (
        ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    )


def test_sequences_wrap_at_int32_max(broker, topic_name):
    client = _client(broker, topic_name)
    pid = init_pid(client, None).producer_id
    top = 2**31 - 1
    assert produce(client, topic_name, batch(pid, 0, top - 1, [b"a", b"b"])).error_code == 0
    assert produce(client, topic_name, batch(pid, 0, 0)).error_code == 0


def test_clients_may_not_write_control_batches(broker, topic_name):
    client = _client(broker, topic_name)
    resp = produce(client, topic_name, batch(-1, -1, -1, control=True))
    assert resp.error_code == ErrorCode.INVALID_RECORD


def test_expired_producer_state_forgets_sequences(tmp_path):
    # producer.id.expiration.ms: once a producer's state has expired, its retried
    # batch is no longer recognised, exactly as in Kafka.
    with EmbeddedKafka(
        producer_id_expiration_ms=1, producer_id_expiration_check_interval_ms=3_600_000
    ) as kafka:
        kafka.create_topic("t", 1)
        client = RawClient(kafka.bootstrap_servers)
        pid = init_pid(client, None).producer_id
        sent = batch(pid, 0, 0)
        assert produce(client, "t", sent).base_offset == 0
        assert produce(client, "t", sent).base_offset == 0  # still a duplicate
        dropped = kafka.call(
            lambda b: b.transactions.expire(b.producers.entries(b.state.partition("t", 0))[
                pid
            ].last_append_ms + 10)
        )
        assert dropped == (1, 0)
        assert produce(client, "t", sent).base_offset == 1  # appended again
        client.close()


def test_producer_ids_are_never_reused_after_a_restart(tmp_path):
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        client = RawClient(kafka.bootstrap_servers)
        before = init_pid(client, None).producer_id
        client.close()
    with EmbeddedKafka(data_dir=tmp_path) as kafka:
        client = RawClient(kafka.bootstrap_servers)
        after = init_pid(client, None).producer_id
        client.close()
    assert after > before


def test_the_broker_expires_idle_producer_state_on_its_own():
    with EmbeddedKafka(
        producer_id_expiration_ms=1, producer_id_expiration_check_interval_ms=20
    ) as kafka:
        kafka.create_topic("t", 1)
        client = RawClient(kafka.bootstrap_servers)
        pid = init_pid(client, None).producer_id
        assert produce(client, "t", batch(pid, 0, 0)).error_code == 0
        client.close()
        eventually(lambda: kafka.call(lambda b: not b.producers.entries(b.state.partition("t", 0))))
