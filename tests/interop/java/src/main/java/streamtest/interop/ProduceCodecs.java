package streamtest.interop;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * An idempotent producer ({@code enable.idempotence=true}, {@code acks=all}) per compression
 * codec, each writing {@code count} records (keys, headers, explicit partitions and event
 * timestamps) to {@code <prefix>-<codec>}; then each topic is read back with a consumer.
 *
 * <p>Options: {@code prefix}, {@code codecs} (default all five), {@code count} (default 60),
 * {@code partitions} (default 3), {@code base.timestamp}. Events: {@code sent} per record
 * (its RecordMetadata), {@code record} per consumed record, {@code codec-error} if one codec
 * failed (the other codecs still run).
 */
final class ProduceCodecs {
    private ProduceCodecs() {}

    static void run(String bootstrap, Options options, Out out) throws Exception {
        String prefix = options.get("prefix");
        int count = options.getInt("count", 60);
        int partitions = options.getInt("partitions", 3);
        long baseTimestamp = options.getLong("base.timestamp", 1_700_000_000_000L);
        for (String codec : options.getList("codecs", "none,gzip,snappy,lz4,zstd")) {
            String topic = prefix + "-" + codec;
            try {
                produce(bootstrap, topic, codec, count, partitions, baseTimestamp, out);
                for (ConsumerRecord<byte[], byte[]> r :
                        Clients.readAll(bootstrap, topic, "read_uncommitted", Duration.ofSeconds(30))) {
                    Map<String, Object> fields = Out.record(r);
                    fields.put("codec", codec);
                    out.emitMap("record", fields);
                }
            } catch (Exception e) {
                out.emit("codec-error", "codec", codec, "error", Out.errorName(e), "message", e.getMessage());
            }
        }
    }

    private static void produce(
            String bootstrap, String topic, String codec, int count, int partitions, long baseTimestamp, Out out)
            throws Exception {
        Map<String, Object> config = Map.of(
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                // Several records per batch, so that compression has something to work on.
                ProducerConfig.LINGER_MS_CONFIG, "20");
        try (KafkaProducer<byte[], byte[]> producer = Clients.producer(bootstrap, "java-" + codec, config)) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                RecordHeaders headers = new RecordHeaders();
                headers.add("n", bytes(Integer.toString(i)));
                headers.add("codec", bytes(codec));
                // A repetitive value compresses well; a null value every 10th record checks
                // that null survives every codec.
                byte[] value = i % 10 == 9 ? null : bytes(("value-" + i + "-").repeat(8));
                sent.add(producer.send(new ProducerRecord<>(
                        topic, i % partitions, baseTimestamp + i, bytes("key-" + i), value, headers)));
            }
            producer.flush();
            for (int i = 0; i < count; i++) {
                RecordMetadata md = sent.get(i).get();
                out.emit("sent", "codec", codec, "n", i, "topic", md.topic(), "partition", md.partition(),
                        "offset", md.offset(), "timestamp", md.timestamp());
            }
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
