package streamtest.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * A consumer group of two members, classic ({@code group.protocol=classic}, JoinGroup and
 * SyncGroup) or KIP-848's ({@code group.protocol=consumer}, ConsumerGroupHeartbeat).
 *
 * <p>Phase 1: member a joins alone and must own every partition; records are produced and a
 * consumes them. Phase 2: member b joins; once the two own disjoint, non-empty sets covering
 * every partition, the group is described through the Admin client, records are produced and
 * each member consumes its partitions' share. Phase 3: b leaves (close), a must own every
 * partition again and consumes the last records. Members commit after every poll and when
 * partitions are revoked, so no record is delivered twice.
 *
 * <p>Options: {@code topic}, {@code group}, {@code protocol} (classic|consumer),
 * {@code partitions}, {@code per.partition} (records per partition per phase). Events:
 * {@code produced}, {@code phase} (assignments), {@code describe}, {@code record} (with member
 * and phase), {@code rebalance} (member, assigned/revoked/lost), {@code committed}.
 */
final class Groups {
    private Groups() {}

    static void run(String bootstrap, Options options, Out out) throws Exception {
        String topic = options.get("topic");
        String group = options.get("group");
        String protocol = options.get("protocol", "classic");
        int partitions = options.getInt("partitions", 4);
        int perPartition = options.getInt("per.partition", 5);
        Set<Integer> all = new TreeSet<>();
        for (int p = 0; p < partitions; p++) {
            all.add(p);
        }
        Member a = new Member("a", bootstrap, topic, group, protocol, out);
        Member b = new Member("b", bootstrap, topic, group, protocol, out);
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(bootstrap, "group-producer", Map.of());
                Admin admin = Clients.admin(bootstrap, "group-admin")) {
            a.start(1);
            await("a owns every partition", () -> a.owned().equals(all));
            out.emit("phase", "phase", 1, "assignments", Map.of("a", a.owned()));
            int produced = produce(producer, topic, partitions, perPartition, 1, out);
            await("a consumed phase 1", () -> a.consumed() >= produced);

            b.start(2);
            a.setPhase(2);
            await("a and b share the partitions", () -> {
                Set<Integer> ownedA = a.owned();
                Set<Integer> ownedB = b.owned();
                Set<Integer> union = new TreeSet<>(ownedA);
                union.addAll(ownedB);
                return !ownedA.isEmpty() && !ownedB.isEmpty()
                        && union.equals(all) && ownedA.size() + ownedB.size() == all.size();
            });
            out.emit("phase", "phase", 2, "assignments", Map.of("a", a.owned(), "b", b.owned()));
            describe(admin, group, out);
            int beforeA = a.consumed();
            int beforeB = b.consumed();
            int produced2 = produce(producer, topic, partitions, perPartition, 2, out);
            await("a and b consumed phase 2",
                    () -> a.consumed() - beforeA + b.consumed() - beforeB >= produced2);

            b.stop();
            a.setPhase(3);
            await("a owns every partition after b left", () -> a.owned().equals(all));
            out.emit("phase", "phase", 3, "assignments", Map.of("a", a.owned()));
            int before3 = a.consumed();
            int produced3 = produce(producer, topic, partitions, perPartition, 3, out);
            await("a consumed phase 3", () -> a.consumed() - before3 >= produced3);
            a.stop();
        } finally {
            // After a failure above, still leave the group; keep the first error.
            a.stopQuietly();
            b.stopQuietly();
        }
    }

    private static int produce(
            KafkaProducer<byte[], byte[]> producer, String topic, int partitions, int perPartition, int phase, Out out)
            throws Exception {
        List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
        for (int i = 0; i < partitions * perPartition; i++) {
            byte[] value = ("phase" + phase + "-" + i).getBytes(StandardCharsets.UTF_8);
            sent.add(producer.send(new ProducerRecord<>(topic, i % partitions, null, value)));
        }
        producer.flush();
        for (java.util.concurrent.Future<RecordMetadata> f : sent) {
            RecordMetadata md = f.get();
            out.emit("produced", "phase", phase, "partition", md.partition(), "offset", md.offset());
        }
        return sent.size();
    }

    private static void describe(Admin admin, String group, Out out) throws Exception {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).describedGroups().get(group).get();
        List<Map<String, Object>> members = new ArrayList<>();
        for (MemberDescription m : d.members()) {
            Map<String, Object> member = new LinkedHashMap<>();
            member.put("client_id", m.clientId());
            member.put("partitions", Clients.partitionNumbers(m.assignment().topicPartitions()));
            members.add(member);
        }
        members.sort((x, y) -> String.valueOf(x.get("client_id")).compareTo(String.valueOf(y.get("client_id"))));
        out.emit("describe", "group", d.groupId(), "state", d.groupState().toString(), "type", d.type().toString(),
                "members", members);
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out waiting until " + what);
            }
            try {
                Thread.sleep(20); // a poll interval for the main thread; members run on their own
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    /** One group member: a consumer polled by its own thread (KafkaConsumer is single-threaded). */
    private static final class Member implements ConsumerRebalanceListener {
        private final String name;
        private final String bootstrap;
        private final String topic;
        private final String group;
        private final String protocol;
        private final Out out;
        private final Set<Integer> owned = new TreeSet<>();
        private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private volatile int phase;
        private volatile int consumed;
        private volatile boolean stopping;
        private Thread thread;
        private KafkaConsumer<byte[], byte[]> consumer;

        Member(String name, String bootstrap, String topic, String group, String protocol, Out out) {
            this.name = name;
            this.bootstrap = bootstrap;
            this.topic = topic;
            this.group = group;
            this.protocol = protocol;
            this.out = out;
        }

        void start(int startPhase) {
            phase = startPhase;
            Map<String, Object> config = new HashMap<>();
            config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
            config.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
            consumer = Clients.consumer(bootstrap, "member-" + name, config);
            thread = new Thread(this::loop, "member-" + name);
            thread.start();
        }

        void setPhase(int phase) {
            this.phase = phase;
        }

        synchronized Set<Integer> owned() {
            check();
            return new TreeSet<>(owned);
        }

        int consumed() {
            check();
            return consumed;
        }

        /** Commits, leaves the group (close) and waits for the thread. Idempotent. */
        void stop() throws InterruptedException {
            if (thread == null) {
                return;
            }
            stopping = true;
            thread.join(60_000);
            thread = null;
            check();
        }

        void stopQuietly() {
            try {
                stop();
            } catch (Exception e) {
                // reported by the stop() or check() that failed first
            }
        }

        private void check() {
            Throwable t = failure.get();
            if (t != null) {
                throw new IllegalStateException("member " + name + " failed: " + t, t);
            }
        }

        private void loop() {
            try {
                consumer.subscribe(List.of(topic), this);
                while (!stopping) {
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                    for (ConsumerRecord<byte[], byte[]> r : records) {
                        Map<String, Object> fields = Out.record(r);
                        fields.put("member", name);
                        fields.put("phase", phase);
                        out.emitMap("record", fields);
                        pending.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                    }
                    commitPending();
                    consumed += records.count();
                }
                commitPending();
            } catch (Throwable t) {
                failure.set(t);
            } finally {
                consumer.close(); // leaves the group: LeaveGroup, or a heartbeat with epoch -1
            }
        }

        private void commitPending() {
            if (!pending.isEmpty()) {
                consumer.commitSync(pending);
                out.emit("committed", "member", name, "offsets", offsets(pending));
                pending.clear();
            }
        }

        private static Map<String, Long> offsets(Map<TopicPartition, OffsetAndMetadata> offsets) {
            Map<String, Long> out = new java.util.TreeMap<>();
            offsets.forEach((tp, om) -> out.put(Integer.toString(tp.partition()), om.offset()));
            return out;
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            // Called on the member's thread inside poll(): commit what was consumed before
            // the partitions move, so the next owner starts after it.
            Map<TopicPartition, OffsetAndMetadata> mine = new HashMap<>(pending);
            mine.keySet().retainAll(new HashSet<>(partitions));
            if (!mine.isEmpty()) {
                consumer.commitSync(mine);
                out.emit("committed", "member", name, "offsets", offsets(mine));
                pending.keySet().removeAll(mine.keySet());
            }
            synchronized (this) {
                owned.removeAll(Clients.partitionNumbers(partitions));
            }
            out.emit("rebalance", "member", name, "revoked", Clients.partitionNumbers(partitions));
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            synchronized (this) {
                owned.addAll(Clients.partitionNumbers(partitions));
            }
            out.emit("rebalance", "member", name, "assigned", Clients.partitionNumbers(partitions));
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            synchronized (this) {
                owned.removeAll(Clients.partitionNumbers(partitions));
            }
            pending.keySet().removeIf(partitions::contains);
            out.emit("rebalance", "member", name, "lost", Clients.partitionNumbers(partitions));
        }
    }
}
