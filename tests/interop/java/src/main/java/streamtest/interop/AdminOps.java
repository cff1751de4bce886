package streamtest.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;

/**
 * The Admin client, one step after another: cluster, topics, partitions, configs, offsets,
 * DeleteRecords, consumer groups, topic deletion.
 *
 * <p>Every step prints one {@code step} event: {@code {"step": NAME, "ok": true, ...result}} or
 * {@code {"step": NAME, "ok": false, "error": ExceptionName, "message": ...}}; a failed step does
 * not stop the later ones, so pytest can check (and, where the broker has a gap, xfail) each
 * step on its own. Steps that expect an error report it as part of their result instead.
 *
 * <p>Options: {@code prefix} (topic names {@code <prefix>-a}, {@code -b}, ...), {@code group},
 * {@code base.timestamp}.
 */
final class AdminOps {
    private AdminOps() {}

    interface Step {
        Map<String, Object> run() throws Exception;
    }

    static void run(String bootstrap, Options options, Out out) throws Exception {
        String prefix = options.get("prefix");
        String group = options.get("group");
        long baseTimestamp = options.getLong("base.timestamp", 1_700_000_000_000L);
        String topicA = prefix + "-a";
        String topicB = prefix + "-b";
        try (Admin admin = Clients.admin(bootstrap, "java-admin")) {
            Map<String, Integer> node = new TreeMap<>();

            step(out, "describe_cluster", () -> {
                DescribeClusterResult cluster = admin.describeCluster();
                List<Map<String, Object>> nodes = new ArrayList<>();
                for (Node n : cluster.nodes().get()) {
                    nodes.add(nodeJson(n));
                }
                node.put("id", nodes.isEmpty() ? -1 : (Integer) nodes.get(0).get("id"));
                return map("cluster_id", cluster.clusterId().get(), "controller", nodeJson(cluster.controller().get()),
                        "nodes", nodes);
            });

            step(out, "create_topics", () -> {
                NewTopic a = new NewTopic(topicA, 3, (short) 1)
                        .configs(Map.of("retention.ms", "3600000", "cleanup.policy", "delete"));
                NewTopic b = new NewTopic(topicB, 1, (short) 1);
                CreateTopicsResult result = admin.createTopics(List.of(a, b));
                result.all().get();
                return map("partitions", Map.of(topicA, result.numPartitions(topicA).get(),
                                topicB, result.numPartitions(topicB).get()),
                        "replication_factor", result.replicationFactor(topicA).get(),
                        "topic_id_set", !result.topicId(topicA).get().toString().isEmpty(),
                        "retention_ms", result.config(topicA).get().get("retention.ms").value());
            });

            step(out, "create_topics_errors", () -> map(
                    "exists", errorOf(() -> admin.createTopics(List.of(new NewTopic(topicA, 1, (short) 1))).all().get()),
                    "replication_factor_3", errorOf(() -> admin.createTopics(
                            List.of(new NewTopic(prefix + "-rf3", 1, (short) 3))).all().get()),
                    "bad_config", errorOf(() -> admin.createTopics(List.of(new NewTopic(prefix + "-badcfg", 1, (short) 1)
                            .configs(Map.of("cleanup.policy", "no-such-policy")))).all().get()),
                    "zero_partitions", errorOf(() -> admin.createTopics(
                            List.of(new NewTopic(prefix + "-zero", 0, (short) 1))).all().get())));

            step(out, "list_topics", () -> map("topics", withPrefix(admin.listTopics().names().get(), prefix)));

            step(out, "describe_topics", () -> describeTopic(admin, topicA));

            step(out, "create_partitions", () -> {
                admin.createPartitions(Map.of(topicA, NewPartitions.increaseTo(5))).all().get();
                Map<String, Object> result = describeTopic(admin, topicA);
                result.put("shrink_error", errorOf(() ->
                        admin.createPartitions(Map.of(topicA, NewPartitions.increaseTo(2))).all().get()));
                return result;
            });

            ConfigResource topicResource = new ConfigResource(ConfigResource.Type.TOPIC, topicA);
            List<String> keys = List.of("retention.ms", "cleanup.policy", "max.message.bytes", "segment.bytes");

            step(out, "describe_configs", () -> map("configs", describeConfigs(admin, topicResource, keys)));

            step(out, "incremental_alter_configs", () -> {
                admin.incrementalAlterConfigs(Map.of(topicResource, List.of(
                        new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
                        new AlterConfigOp(new ConfigEntry("max.message.bytes", "2000000"), AlterConfigOp.OpType.SET),
                        new AlterConfigOp(new ConfigEntry("cleanup.policy", ""), AlterConfigOp.OpType.DELETE))))
                        .all().get();
                Map<String, Object> result = map("configs", describeConfigs(admin, topicResource, keys));
                result.put("bad_value_error", errorOf(() -> admin.incrementalAlterConfigs(Map.of(topicResource,
                        List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "not-a-number"),
                                AlterConfigOp.OpType.SET)))).all().get()));
                result.put("unknown_key_error", errorOf(() -> admin.incrementalAlterConfigs(Map.of(topicResource,
                        List.of(new AlterConfigOp(new ConfigEntry("no.such.config", "1"),
                                AlterConfigOp.OpType.SET)))).all().get()));
                return result;
            });

            step(out, "describe_broker_configs", () -> {
                ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, Integer.toString(node.get("id")));
                Config config = admin.describeConfigs(List.of(broker)).all().get().get(broker);
                Set<String> names = new TreeSet<>();
                for (ConfigEntry e : config.entries()) {
                    names.add(e.name());
                }
                return map("count", names.size(), "has", Map.of(
                        "num.partitions", names.contains("num.partitions"),
                        "auto.create.topics.enable", names.contains("auto.create.topics.enable"),
                        "log.retention.hours", names.contains("log.retention.hours")));
            });

            TopicPartition p0 = new TopicPartition(topicA, 0);
            TopicPartition p1 = new TopicPartition(topicA, 1);
            step(out, "produce", () -> {
                try (KafkaProducer<byte[], byte[]> producer = Clients.producer(bootstrap, "admin-producer", Map.of())) {
                    for (int i = 0; i < 30; i++) {
                        producer.send(new ProducerRecord<>(topicA, 0, baseTimestamp + i * 1000L, null,
                                ("r" + i).getBytes(StandardCharsets.UTF_8)));
                    }
                    producer.flush();
                }
                return map("records", 30);
            });

            step(out, "list_offsets", () -> listOffsets(admin, p0, baseTimestamp));

            step(out, "delete_records", () -> {
                long low = admin.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(10)))
                        .lowWatermarks().get(p0).get().lowWatermark();
                Map<String, Object> result = listOffsets(admin, p0, baseTimestamp);
                result.put("low_watermark", low);
                result.put("beyond_end_error", errorOf(() -> admin.deleteRecords(
                        Map.of(p0, RecordsToDelete.beforeOffset(1000))).all().get()));
                return result;
            });

            step(out, "alter_group_offsets", () -> {
                admin.alterConsumerGroupOffsets(group, Map.of(
                        p0, new OffsetAndMetadata(20, "m0"), p1, new OffsetAndMetadata(0, "m1"))).all().get();
                return map("offsets", groupOffsets(admin, group));
            });

            step(out, "list_groups", () -> {
                List<Map<String, Object>> groups = new ArrayList<>();
                for (GroupListing g : admin.listGroups().all().get()) {
                    if (g.groupId().equals(group)) {
                        groups.add(map("group", g.groupId(), "type", String.valueOf(g.type().orElse(null)),
                                "protocol", g.protocol(), "state", String.valueOf(g.groupState().orElse(null))));
                    }
                }
                return map("groups", groups);
            });

            step(out, "describe_groups", () -> {
                ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                return map("group", d.groupId(), "state", d.groupState().toString(), "members", d.members().size(),
                        "simple", d.isSimpleConsumerGroup(), "coordinator", d.coordinator().id());
            });

            step(out, "delete_group_offsets", () -> {
                admin.deleteConsumerGroupOffsets(group, Set.of(p1)).all().get();
                return map("offsets", groupOffsets(admin, group));
            });

            step(out, "delete_groups", () -> {
                admin.deleteConsumerGroups(List.of(group)).all().get();
                boolean listed = false;
                for (GroupListing g : admin.listGroups().all().get()) {
                    listed |= g.groupId().equals(group);
                }
                return map("listed_after", listed, "offsets_after", groupOffsets(admin, group),
                        "delete_again_error", errorOf(() -> admin.deleteConsumerGroups(List.of(group)).all().get()));
            });

            step(out, "delete_topics", () -> {
                admin.deleteTopics(List.of(topicB)).all().get();
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (admin.listTopics().names().get().contains(topicB) && System.nanoTime() < deadline) {
                    Thread.sleep(50); // deletion reaches the metadata asynchronously on Kafka
                }
                return map("topics", withPrefix(admin.listTopics().names().get(), prefix),
                        "describe_deleted_error", errorOf(() -> admin.describeTopics(List.of(topicB))
                                .allTopicNames().get()),
                        "delete_again_error", errorOf(() -> admin.deleteTopics(List.of(topicB)).all().get()));
            });
        }
    }

    private static void step(Out out, String name, Step step) {
        Map<String, Object> fields = new LinkedHashMap<>();
        fields.put("step", name);
        try {
            Map<String, Object> result = step.run();
            fields.put("ok", true);
            fields.putAll(result);
        } catch (Exception e) {
            fields.put("ok", false);
            fields.put("error", Out.errorName(e));
            fields.put("message", String.valueOf(rootCause(e).getMessage()));
        }
        out.emitMap("step", fields);
    }

    interface Call {
        void call() throws Exception;
    }

    /** Runs {@code call} and returns the name of the exception it raised, or null. */
    private static String errorOf(Call call) {
        try {
            call.call();
            return null;
        } catch (Exception e) {
            return Out.errorName(e);
        }
    }

    private static Throwable rootCause(Throwable t) {
        return t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
    }

    private static Map<String, Object> map(Object... keyValues) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            out.put((String) keyValues[i], keyValues[i + 1]);
        }
        return out;
    }

    private static Map<String, Object> nodeJson(Node n) {
        return n == null ? null : map("id", n.id(), "host", n.host(), "port", n.port());
    }

    private static List<String> withPrefix(Collection<String> names, String prefix) {
        List<String> out = new ArrayList<>();
        for (String name : new TreeSet<>(names)) {
            if (name.startsWith(prefix + "-")) {
                out.add(name);
            }
        }
        return out;
    }

    private static Map<String, Object> describeTopic(Admin admin, String topic) throws Exception {
        TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        List<Map<String, Object>> partitions = new ArrayList<>();
        for (TopicPartitionInfo p : d.partitions()) {
            partitions.add(map("partition", p.partition(), "leader", p.leader() == null ? null : p.leader().id(),
                    "replicas", p.replicas().stream().map(Node::id).toList(),
                    "isr", p.isr().stream().map(Node::id).toList()));
        }
        return map("name", d.name(), "internal", d.isInternal(), "topic_id_set", d.topicId() != null,
                "partitions", partitions);
    }

    private static Map<String, Object> describeConfigs(Admin admin, ConfigResource resource, List<String> keys)
            throws Exception {
        Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
        Map<String, Object> out = new TreeMap<>();
        for (String key : keys) {
            ConfigEntry e = config.get(key);
            out.put(key, e == null ? null : map("value", e.value(), "source", e.source().toString(),
                    "read_only", e.isReadOnly(), "sensitive", e.isSensitive()));
        }
        return out;
    }

    private static Map<String, Object> listOffsets(Admin admin, TopicPartition tp, long baseTimestamp) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, OffsetSpec> specs = new LinkedHashMap<>();
        specs.put("earliest", OffsetSpec.earliest());
        specs.put("latest", OffsetSpec.latest());
        specs.put("max_timestamp", OffsetSpec.maxTimestamp());
        specs.put("for_timestamp_10", OffsetSpec.forTimestamp(baseTimestamp + 10_000L));
        specs.put("for_timestamp_after", OffsetSpec.forTimestamp(baseTimestamp + 1_000_000L));
        for (Map.Entry<String, OffsetSpec> spec : specs.entrySet()) {
            ListOffsetsResult.ListOffsetsResultInfo info =
                    admin.listOffsets(Map.of(tp, spec.getValue())).partitionResult(tp).get();
            out.put(spec.getKey(), map("offset", info.offset(), "timestamp", info.timestamp()));
        }
        return out;
    }

    private static Map<String, Long> groupOffsets(Admin admin, String group) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> offsets =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        Map<String, Long> out = new TreeMap<>();
        offsets.forEach((tp, om) -> out.put(tp.topic() + ":" + tp.partition(), om == null ? null : om.offset()));
        return out;
    }
}
