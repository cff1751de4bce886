package streamtest.interop;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Entry point: {@code java -jar java-interop.jar SCENARIO BOOTSTRAP [key=value ...]}.
 *
 * <p>Each scenario drives the Java client against the broker at BOOTSTRAP and prints what
 * it observed as JSON lines on stdout ({@link Out}); the assertions live in pytest
 * (tests/interop/test_java_client.py), which compares these lines with the broker's own view.
 * The exit status is 0 when the scenario ran to its end, 1 when it threw (the last line is then
 * an {@code error} event), 2 on a bad command line, and 3 when the watchdog's deadline passed.
 */
public final class Driver {
    private Driver() {}

    /** A scenario: reads its options, talks to the broker, reports through {@code out}. */
    interface Scenario {
        void run(String bootstrap, Options options, Out out) throws Exception;
    }

    static final Map<String, Scenario> SCENARIOS = new LinkedHashMap<>();

    static {
        SCENARIOS.put("produce-codecs", ProduceCodecs::run);
        SCENARIOS.put("transactions", Transactions::run);
        SCENARIOS.put("group", Groups::run);
        SCENARIOS.put("admin", AdminOps::run);
        SCENARIOS.put("share-group", ShareGroup::run);
    }

    public static void main(String[] args) {
        if (args.length < 2 || !SCENARIOS.containsKey(args[0])) {
            System.err.println(
                    "usage: java -jar java-interop.jar SCENARIO BOOTSTRAP [key=value ...]; scenarios: "
                            + String.join(", ", SCENARIOS.keySet()));
            System.exit(2);
        }
        Options options;
        try {
            options = Options.parse(args, 2);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Out out = new Out(System.out);
        startWatchdog(out, options.getLong("deadline.ms", 120_000));
        try {
            SCENARIOS.get(args[0]).run(args[1], options, out);
            out.emit("done");
            out.flush();
            System.exit(0);
        } catch (Throwable t) {
            out.error(t);
            out.flush();
            t.printStackTrace();
            System.exit(1);
        }
    }

    /**
     * Halts the JVM once {@code deadlineMs} has passed, so that a scenario stuck on a broker
     * that never answers ends on its own, even if the test process that started it was killed.
     */
    private static void startWatchdog(Out out, long deadlineMs) {
        Thread watchdog = new Thread(() -> {
            try {
                TimeUnit.MILLISECONDS.sleep(deadlineMs);
            } catch (InterruptedException e) {
                return;
            }
            out.emit("deadline", "deadline_ms", deadlineMs);
            out.flush();
            Runtime.getRuntime().halt(3);
        }, "watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }
}
