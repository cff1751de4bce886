package streamtest.interop;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;

/**
 * JSON lines on stdout, one event per line: {@code {"event": NAME, ...fields}}.
 *
 * <p>Records use the shape of streamtest's {@code KafkaRecord.to_json} (key, value and header
 * values base64-encoded), so pytest turns them into {@code KafkaRecord}s and compares them with
 * {@code EmbeddedKafka.records()} directly. Thread-safe: consumers on several threads report.
 */
final class Out {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PrintStream stream;

    Out(PrintStream stream) {
        this.stream = stream;
    }

    /** Prints {@code {"event": event, k1: v1, k2: v2, ...}}. */
    synchronized void emit(String event, Object... keyValues) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", event);
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            line.put((String) keyValues[i], keyValues[i + 1]);
        }
        write(line);
    }

    /** Prints a prepared map, adding {@code "event"} first. */
    synchronized void emitMap(String event, Map<String, Object> fields) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("event", event);
        line.putAll(fields);
        write(line);
    }

    synchronized void error(Throwable t) {
        emit("error", "error", errorName(t), "message", String.valueOf(t.getMessage()));
    }

    synchronized void flush() {
        stream.flush();
    }

    private void write(Map<String, Object> line) {
        try {
            stream.println(JSON.writeValueAsString(line));
        } catch (Exception e) {
            throw new IllegalStateException("cannot write JSON line", e);
        }
    }

    /** The simple class name of {@code t}'s root cause ({@code ExecutionException}s unwrapped). */
    static String errorName(Throwable t) {
        Throwable cause = t;
        while ((cause instanceof java.util.concurrent.ExecutionException
                        || cause instanceof java.util.concurrent.CompletionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause.getClass().getSimpleName();
    }

    static String b64(byte[] bytes) {
        return bytes == null ? null : Base64.getEncoder().encodeToString(bytes);
    }

    /** A consumed record in {@code KafkaRecord.to_json}'s shape. */
    static Map<String, Object> record(ConsumerRecord<byte[], byte[]> r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("topic", r.topic());
        out.put("partition", r.partition());
        out.put("offset", r.offset());
        out.put("timestamp", r.timestamp());
        out.put("key", b64(r.key()));
        out.put("value", b64(r.value()));
        List<List<Object>> headers = new ArrayList<>();
        for (Header h : r.headers()) {
            headers.add(java.util.Arrays.asList(h.key(), b64(h.value())));
        }
        out.put("headers", headers);
        return out;
    }
}
