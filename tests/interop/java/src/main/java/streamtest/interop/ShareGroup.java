package streamtest.interop;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * A KIP-932 share group: {@code share.auto.offset.reset=earliest} is set on the group through
 * the Admin client, then a {@link KafkaShareConsumer} reads {@code count} records (implicit
 * acknowledgement, committed with commitSync).
 *
 * <p>Options: {@code topic}, {@code group}, {@code count}, {@code group.config} (false skips
 * the config step, to see what the consumer itself meets). Events: {@code record} per record,
 * with its delivery count.
 */
final class ShareGroup {
    private ShareGroup() {}

    static void run(String bootstrap, Options options, Out out) throws Exception {
        String topic = options.get("topic");
        String group = options.get("group");
        int count = options.getInt("count", 10);
        if (!options.get("group.config", "true").equals("false")) {
            setEarliest(bootstrap, group);
        }
        readAll(bootstrap, topic, group, count, out);
    }

    /** share.auto.offset.reset=earliest (KIP-932's group config; a share group starts at
     * the latest offset otherwise). */
    private static void setEarliest(String bootstrap, String group) throws Exception {
        try (Admin admin = Clients.admin(bootstrap, "share-admin")) {
            ConfigResource resource = new ConfigResource(ConfigResource.Type.GROUP, group);
            admin.incrementalAlterConfigs(Map.of(resource, List.of(new AlterConfigOp(
                    new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET))))
                    .all().get();
        }
    }

    private static void readAll(String bootstrap, String topic, String group, int count, Out out) throws Exception {
        Properties p = Clients.common(bootstrap, "share-consumer");
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        try (KafkaShareConsumer<byte[], byte[]> consumer = new KafkaShareConsumer<>(p)) {
            consumer.subscribe(List.of(topic));
            List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (records.size() < count) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("share consumer read " + records.size() + " of " + count);
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    records.add(r);
                    Map<String, Object> fields = Out.record(r);
                    fields.put("delivery_count", r.deliveryCount().orElse((short) -1));
                    out.emitMap("record", fields);
                }
            }
            consumer.commitSync();
        }
    }
}
