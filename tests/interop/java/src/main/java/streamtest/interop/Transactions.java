package streamtest.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * Consume-transform-produce with a transactional producer and
 * {@code sendOffsetsToTransaction}: the group's consumer reads {@code count} input records;
 * the first half of each partition is transformed in transaction t1 (committed), the second
 * half in t2 (aborted); a second producer with the same {@code transactional.id} fences the
 * first, and redoes the second half in t3 (committed). The output is then read with both
 * isolation levels.
 *
 * <p>Options: {@code in}, {@code out}, {@code group}, {@code txn.id}, {@code count}. Events:
 * {@code txn} (name, outcome, offsets sent), {@code group-offsets} (after t2 and after t3),
 * {@code fenced} (the error the fenced producer got), {@code record} (with {@code isolation}).
 */
final class Transactions {
    private Transactions() {}

    static void run(String bootstrap, Options options, Out out) throws Exception {
        String in = options.get("in");
        String outTopic = options.get("out");
        String group = options.get("group");
        String txnId = options.get("txn.id");
        int count = options.getInt("count", 20);

        Map<String, Object> consumerConfig = Map.of(
                ConsumerConfig.GROUP_ID_CONFIG, group,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        try (KafkaConsumer<byte[], byte[]> consumer = Clients.consumer(bootstrap, "txn-consumer", consumerConfig)) {
            consumer.subscribe(List.of(in));
            List<ConsumerRecord<byte[], byte[]>> inputs = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (inputs.size() < count) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("consumed " + inputs.size() + " of " + count + " inputs");
                }
                consumer.poll(Duration.ofMillis(200)).forEach(inputs::add);
            }
            // Split each partition's records into a first and a second half.
            Map<Integer, List<ConsumerRecord<byte[], byte[]>>> byPartition = new TreeMap<>();
            for (ConsumerRecord<byte[], byte[]> r : inputs) {
                byPartition.computeIfAbsent(r.partition(), p -> new ArrayList<>()).add(r);
            }
            List<ConsumerRecord<byte[], byte[]>> first = new ArrayList<>();
            List<ConsumerRecord<byte[], byte[]>> second = new ArrayList<>();
            for (List<ConsumerRecord<byte[], byte[]>> records : byPartition.values()) {
                int half = records.size() / 2;
                first.addAll(records.subList(0, half));
                second.addAll(records.subList(half, records.size()));
            }

            KafkaProducer<byte[], byte[]> p1 = transactional(bootstrap, txnId, "txn-p1");
            try {
                p1.initTransactions();
                transaction(p1, consumer, outTopic, first, "t1", true, out);
                transaction(p1, consumer, outTopic, second, "t2", false, out);
                reportCommitted(consumer, byPartition.keySet(), in, "after-t2", out);

                // A second producer with the same transactional.id bumps the epoch: p1 is fenced.
                try (KafkaProducer<byte[], byte[]> p2 = transactional(bootstrap, txnId, "txn-p2")) {
                    p2.initTransactions();
                    String fencedError = null;
                    try {
                        p1.beginTransaction();
                        p1.send(new ProducerRecord<>(outTopic, 0, null, "fenced".getBytes(StandardCharsets.UTF_8)))
                                .get();
                        p1.commitTransaction();
                    } catch (Exception e) {
                        fencedError = Out.errorName(e);
                    }
                    out.emit("fenced", "error", fencedError);
                    transaction(p2, consumer, outTopic, second, "t3", true, out);
                }
                reportCommitted(consumer, byPartition.keySet(), in, "after-t3", out);
            } finally {
                p1.close(Duration.ZERO);
            }
        }
        for (String isolation : List.of("read_committed", "read_uncommitted")) {
            for (ConsumerRecord<byte[], byte[]> r : Clients.readAll(bootstrap, outTopic, isolation, Duration.ofSeconds(30))) {
                Map<String, Object> fields = Out.record(r);
                fields.put("isolation", isolation);
                out.emitMap("record", fields);
            }
        }
    }

    private static KafkaProducer<byte[], byte[]> transactional(String bootstrap, String txnId, String clientId) {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        config.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "60000");
        return Clients.producer(bootstrap, clientId, config);
    }

    /** Writes "out:" + value for each input, with the inputs' offsets, in one transaction. */
    private static void transaction(
            KafkaProducer<byte[], byte[]> producer,
            KafkaConsumer<byte[], byte[]> consumer,
            String outTopic,
            List<ConsumerRecord<byte[], byte[]>> inputs,
            String name,
            boolean commit,
            Out out) throws Exception {
        producer.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : inputs) {
            byte[] value = ("out:" + new String(r.value(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
            producer.send(new ProducerRecord<>(outTopic, r.partition(), r.timestamp(), r.key(), value));
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            offsets.merge(tp, new OffsetAndMetadata(r.offset() + 1, name),
                    (a, b) -> a.offset() >= b.offset() ? a : b);
        }
        producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        if (commit) {
            producer.commitTransaction();
        } else {
            producer.flush();
            producer.abortTransaction();
        }
        out.emit("txn", "name", name, "outcome", commit ? "committed" : "aborted", "records", inputs.size(),
                "offsets", offsetsByPartition(offsets));
    }

    private static void reportCommitted(
            KafkaConsumer<byte[], byte[]> consumer, Collection<Integer> partitions, String topic, String when, Out out) {
        Set<TopicPartition> tps = new java.util.HashSet<>();
        for (int p : partitions) {
            tps.add(new TopicPartition(topic, p));
        }
        Map<TopicPartition, OffsetAndMetadata> committed = consumer.committed(tps, Duration.ofSeconds(30));
        out.emit("group-offsets", "when", when, "offsets", offsetsByPartition(committed));
    }

    private static Map<String, Long> offsetsByPartition(Map<TopicPartition, OffsetAndMetadata> offsets) {
        Map<String, Long> out = new LinkedHashMap<>();
        new TreeMap<>(offsets.entrySet().stream().collect(java.util.stream.Collectors.toMap(
                        e -> e.getKey().partition(), e -> e.getValue() == null ? -1L : e.getValue().offset())))
                .forEach((p, o) -> out.put(Integer.toString(p), o));
        return out;
    }
}
