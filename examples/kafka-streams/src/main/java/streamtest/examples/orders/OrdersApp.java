package streamtest.examples.orders;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.state.WindowStore;

/**
 * Orders per region per minute, exactly once.
 *
 * <pre>
 *   orders     (key order id, value "customer=C;amount=N", event time)
 *   customers  (key customer id, value region)              -> KTable
 *
 *   orders.map(key: customer)                        repartition: orders-by-customer
 *         .join(customers)                           KStream-KTable join
 *         -> enriched-orders  (key customer, value "order=O;customer=C;region=R;amount=N")
 *         .groupBy(region)                           repartition: orders-by-region
 *         .windowedBy(1 minute tumbling, 30 s grace)
 *         .aggregate(count, sum)                     window store: region-minute-totals
 *         -> region-totals   (key "R@windowStartMs", value "count=K;sum=S")
 * </pre>
 *
 * <p>{@code processing.guarantee=exactly_once_v2} (KIP-447): each task's output, changelog and
 * repartition writes and its input offsets are committed in one transaction. The record cache
 * is off ({@code statestore.cache.max.bytes=0}), so every input update produces exactly one
 * output update, and the output depends only on the input, not on when commits happen; that is
 * what lets the tests compare two runs record for record.
 *
 * <p>Usage: {@code java -jar orders-streams.jar --bootstrap-servers H:P --application-id ID
 * --state-dir DIR --topic-prefix P [--commit-interval-ms N] [--transaction-timeout-ms N]}.
 * stdout carries JSON lines: {@code {"event":"state","state":"RUNNING"}} on every state change,
 * {@code {"event":"error",...}} if a stream thread dies. SIGTERM closes the app cleanly.
 */
public final class OrdersApp {
    private OrdersApp() {}

    static final String STORE = "region-minute-totals";

    /** Builds the topology; topic names are {@code prefix + name}. */
    public static Topology topology(String prefix) {
        Serde<String> strings = Serdes.String();
        StreamsBuilder builder = new StreamsBuilder();
        KTable<String, String> customers = builder.table(prefix + "customers", Consumed.with(strings, strings),
                Materialized.as("customers-store"));
        KStream<String, String> orders = builder.stream(prefix + "orders", Consumed.with(strings, strings));

        KStream<String, String> enriched = orders
                // Re-key by customer (keeping the order id in the value): the join then
                // needs the orders co-partitioned with customers, hence a repartition topic.
                .map((orderId, order) -> KeyValue.pair(field(order, "customer"), "order=" + orderId + ";" + order))
                .join(customers,
                        (order, region) -> "order=" + field(order, "order") + ";customer=" + field(order, "customer")
                                + ";region=" + region + ";amount=" + field(order, "amount"),
                        Joined.with(strings, strings, strings).withName("orders-by-customer"));
        enriched.to(prefix + "enriched-orders", Produced.with(strings, strings));

        enriched.groupBy((customer, order) -> field(order, "region"), Grouped.with("orders-by-region", strings, strings))
                .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMinutes(1), Duration.ofSeconds(30)))
                .aggregate(
                        () -> "count=0;sum=0",
                        (region, order, total) -> "count=" + (Long.parseLong(field(total, "count")) + 1)
                                + ";sum=" + (Long.parseLong(field(total, "sum")) + Long.parseLong(field(order, "amount"))),
                        Materialized.<String, String, WindowStore<Bytes, byte[]>>as(STORE)
                                .withKeySerde(strings)
                                .withValueSerde(strings))
                .toStream((window, total) -> window.key() + "@" + window.window().start())
                .to(prefix + "region-totals", Produced.with(strings, strings));
        return builder.build();
    }

    /** The value of {@code name} in "a=1;b=2", or null. */
    static String field(String record, String name) {
        for (String part : record.split(";")) {
            int eq = part.indexOf('=');
            if (eq > 0 && part.substring(0, eq).equals(name)) {
                return part.substring(eq + 1);
            }
        }
        return null;
    }

    static Properties config(Map<String, String> args) {
        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, required(args, "application-id"));
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, required(args, "bootstrap-servers"));
        p.put(StreamsConfig.STATE_DIR_CONFIG, required(args, "state-dir"));
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(args.getOrDefault("commit-interval-ms", "100")));
        p.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG),
                Integer.parseInt(args.getOrDefault("transaction-timeout-ms", "10000")));
        // Static membership (KIP-345): a restarted instance takes its old place in the group
        // at once, instead of waiting for the broker to expire the member it replaces.
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG),
                required(args, "application-id") + "-instance");
        return p;
    }

    public static void main(String[] argv) throws InterruptedException {
        Map<String, String> args = parse(argv);
        KafkaStreams streams = new KafkaStreams(topology(args.getOrDefault("topic-prefix", "")), config(args));
        CountDownLatch closed = new CountDownLatch(1);
        streams.setStateListener((now, before) -> {
            emit("{\"event\":\"state\",\"state\":\"" + now + "\"}");
            if (now == KafkaStreams.State.NOT_RUNNING || now == KafkaStreams.State.ERROR) {
                closed.countDown();
            }
        });
        streams.setUncaughtExceptionHandler(e -> {
            emit("{\"event\":\"error\",\"error\":\"" + e.getClass().getSimpleName() + "\",\"message\":\""
                    + String.valueOf(e.getMessage()).replace("\\", "\\\\").replace("\"", "'") + "\"}");
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            streams.close(Duration.ofSeconds(30));
            emit("{\"event\":\"closed\"}");
        }, "shutdown"));
        streams.start();
        closed.await();
        // A thread died (ERROR) or the app was shut down: exit non-zero unless by SIGTERM.
        System.exit(streams.state() == KafkaStreams.State.ERROR ? 1 : 0);
    }

    private static void emit(String json) {
        synchronized (System.out) {
            System.out.println(json);
            System.out.flush();
        }
    }

    private static String required(Map<String, String> args, String name) {
        String value = args.get(name);
        if (value == null) {
            System.err.println("missing --" + name);
            System.exit(2);
        }
        return value;
    }

    private static Map<String, String> parse(String[] argv) {
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) {
                System.err.println("expected --name value, got " + argv[i]);
                System.exit(2);
            }
            out.put(argv[i].substring(2), argv[i + 1]);
        }
        return out;
    }
}
