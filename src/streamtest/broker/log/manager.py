"""The log manager: every partition log of one node on one filesystem (Kafka's
``LogManager``).

It loads every log on start (recovering what the checkpoints say is unflushed),
creates and deletes logs, and runs the background work with the broker's clock:

* retention every ``log.retention.check.interval.ms``;
* flushes: segments are flushed off the loop after each roll, and logs whose
  ``flush.ms`` passed are flushed every ``log.flush.scheduler.interval.ms`` (or
  every smallest ``flush.ms`` when the scheduler interval is unset);
* checkpoints of recovery points, log start offsets and high watermarks;
* delayed segment deletion (``file.delete.delay.ms``);
* the cleaner, backing off ``log.cleaner.backoff.ms`` when nothing is cleanable.
  On an OS filesystem it runs in a separate process, so that its pure-Python
  work never holds the broker's GIL; in memory, on a worker thread.

A clean :meth:`shutdown` flushes every log, writes the checkpoints and leaves a
``.kafka_cleanshutdown`` marker, so that the next start trusts everything.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..clock import Clock, RealClock, TimerHandle
from ..storage.fs import FileSystem, MemoryFileSystem, OsFileSystem
from .checkpoint import (
    CLEAN_SHUTDOWN_FILE,
    CLEANER_OFFSET_CHECKPOINT,
    HIGH_WATERMARK_CHECKPOINT,
    LOG_START_OFFSET_CHECKPOINT,
    RECOVERY_POINT_CHECKPOINT,
    OffsetCheckpointFile,
)
from .cleaner import CleanJob, CleanResult, LogCleaner
from .config import LONG_MAX, BrokerSettingsLike, LogConfig, LogManagerConfig, SettingsSource
from .errors import CorruptCheckpointError
from .partition import FlushJob, PartitionLog, log_dir_name, parse_log_dir_name

if TYPE_CHECKING:
    from .cleaner_worker import CleanerProcess

_log = logging.getLogger("streamtest.broker.log")

TopicPartition = tuple[str, int]
TopicConfigs = Mapping[str, str | None]
DELETE_DIR_SUFFIX = "-delete"


class LogManager:
    """Every partition log of one node.

    Args:
        fs: the node's filesystem (in memory by default).
        clock: the broker's clock (real by default).
        settings: broker settings in Kafka's names (a mapping, or the broker's
            settings table): the ``log.*`` defaults of topic configs and the
            manager's own settings.
        cleaner_mode: where cleaning passes run: ``"process"`` (a spawned process;
            OS filesystems only), ``"thread"`` (a worker thread), ``"inline"`` (on
            the loop, as are flushes: deterministic tests), or ``"auto"`` (the
            default: a process on an OS filesystem, else a thread).

    Raises:
        InvalidConfig: a setting is invalid.
    """

    def __init__(
        self,
        fs: FileSystem | None = None,
        clock: Clock | None = None,
        settings: BrokerSettingsLike | None = None,
        *,
        cleaner_mode: str = "auto",
        rng: random.Random | None = None,
    ) -> None:
        self.fs = fs or MemoryFileSystem()
        self.clock = clock or RealClock()
        self.settings: BrokerSettingsLike = (
            settings if isinstance(settings, SettingsSource) else dict(settings or {})
        )
        self.config = LogManagerConfig.from_settings(self.settings)
        self.default_config = LogConfig.from_settings({}, self.settings)
        self.logs: dict[TopicPartition, PartitionLog] = {}
        self.cleaner = LogCleaner(self.config)
        self.high_watermarks: dict[TopicPartition, int] = {}
        if cleaner_mode not in ("auto", "process", "thread", "inline"):
            raise ValueError(f"unknown cleaner mode {cleaner_mode!r}")
        if cleaner_mode == "auto":
            cleaner_mode = "process" if isinstance(self.fs, OsFileSystem) else "thread"
        if cleaner_mode == "process" and not isinstance(self.fs, OsFileSystem):
            raise ValueError("the cleaner process needs an OsFileSystem")
        self.cleaner_mode = cleaner_mode
        self._threads = cleaner_mode != "inline"
        self._cleaner_process: CleanerProcess | None = None  # started on first use
        self._rng = rng or random.Random()
        self._timers: set[TimerHandle] = set()
        self._running = False
        self._cleaner_executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._flush_executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._cleaner_timer: TimerHandle | None = None
        self._cleaner_busy = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.last_clean: CleanResult | None = None
        #: How long the last cleaning pass kept the loop busy, in ms ("plan", "swap").
        self.loop_time_ms: dict[str, float] = {}
        self.had_clean_shutdown = False

    # -- files ----------------------------------------------------------------------------

    def _checkpoint(self, name: str) -> OffsetCheckpointFile:
        return OffsetCheckpointFile(self.fs, name)

    def _read_checkpoint(self, name: str) -> dict[TopicPartition, int]:
        try:
            return self._checkpoint(name).read()
        except CorruptCheckpointError as exc:
            _log.warning("ignoring %s: %s", name, exc)
            return {}

    # -- loading ----------------------------------------------------------------------------

    def load(
        self, topic_configs: Mapping[str, TopicConfigs | LogConfig] | None = None
    ) -> dict[TopicPartition, PartitionLog]:
        """Load and recover every log of the filesystem; return them by
        ``(topic, partition)``.

        Args:
            topic_configs: each topic's configs (topics not listed get the broker
                defaults).

        Raises:
            OSError: the filesystem cannot be read or written (name in the message).
            InvalidConfig: a topic config is invalid.
        """
        topic_configs = topic_configs or {}
        self.had_clean_shutdown = self.fs.exists(CLEAN_SHUTDOWN_FILE)
        recovery = self._read_checkpoint(RECOVERY_POINT_CHECKPOINT)
        starts = self._read_checkpoint(LOG_START_OFFSET_CHECKPOINT)
        self.cleaner.checkpoints.update(self._read_checkpoint(CLEANER_OFFSET_CHECKPOINT))
        self.high_watermarks = self._read_checkpoint(HIGH_WATERMARK_CHECKPOINT)
        for name in self.fs.listdir(""):
            if not self.fs.is_dir(name):
                continue
            if name.endswith(DELETE_DIR_SUFFIX):
                self.fs.rmtree(name)  # a deleted log whose removal was interrupted
                continue
            parsed = parse_log_dir_name(name)
            if parsed is None:
                continue
            topic, partition = parsed
            config = self._config(topic_configs.get(topic))
            log = PartitionLog.open(
                self.fs,
                topic,
                partition,
                config,
                self.clock,
                directory=name,
                recovery_point=recovery.get(parsed, 0),
                log_start_offset=starts.get(parsed, 0),
                clean_shutdown=self.had_clean_shutdown,
                schedule=self._schedule,
                rng=self._rng,
            )
            log.high_watermark = self.high_watermarks.get(parsed, log.log_start_offset)
            self._adopt(log)
        if self.had_clean_shutdown:
            self.fs.remove(CLEAN_SHUTDOWN_FILE)
        return dict(self.logs)

    def _config(self, configs: TopicConfigs | LogConfig | None) -> LogConfig:
        if isinstance(configs, LogConfig):
            return configs
        if not configs:
            return self.default_config
        return LogConfig.from_settings(configs, self.settings)

    def _adopt(self, log: PartitionLog) -> None:
        tp = (log.topic, log.index)
        self.logs[tp] = log
        log.flusher = self._flush_after_roll
        log.file_deleter = self._delete_files
        log.on_truncate = lambda offset, tp=tp: self._truncated(tp, offset)

    def _abort_cleaning(self, tp: TopicPartition) -> None:
        job = self.cleaner.in_progress.get(tp)
        if job is not None and self._cleaner_process is not None:
            self._cleaner_process.abort(job)

    def _truncated(self, tp: TopicPartition, offset: int) -> None:
        self._abort_cleaning(tp)
        self.cleaner.truncated(tp, offset)
        # A recovery point or log start checkpointed before the truncation may lie
        # past data rewritten since: checkpoint the lowered ones now (Kafka does it
        # for the recovery point).
        self.checkpoint_recovery_points()
        self.checkpoint_log_starts()

    # -- logs ---------------------------------------------------------------------------------

    def get(self, topic: str, partition: int) -> PartitionLog | None:
        """Return a partition's log, or ``None``."""
        return self.logs.get((topic, partition))

    def get_or_create(
        self,
        topic: str,
        partition: int,
        configs: TopicConfigs | LogConfig | None = None,
    ) -> PartitionLog:
        """Return a partition's log, creating an empty one if needed.

        Raises:
            OSError: its directory cannot be created.
            InvalidConfig: a topic config is invalid.
        """
        log = self.logs.get((topic, partition))
        if log is not None:
            return log
        log = PartitionLog.open(
            self.fs,
            topic,
            partition,
            self._config(configs),
            self.clock,
            directory=log_dir_name(topic, partition),
            schedule=self._schedule,
            rng=self._rng,
        )
        self._adopt(log)
        return log

    def update_config(self, topic: str, configs: TopicConfigs | LogConfig) -> None:
        """Apply new configs to every log of a topic (AlterConfigs).

        Raises:
            InvalidConfig: a config is invalid.
        """
        config = self._config(configs)
        for (t, _p), log in self.logs.items():
            if t == topic:
                log.update_config(config)

    def delete(self, topic: str, partition: int) -> None:
        """Delete a partition's log: its directory is renamed
        ``<topic>-<partition>.<id>-delete`` and removed after ``file.delete.delay.ms``.

        Raises:
            OSError: the rename failed.
        """
        tp = (topic, partition)
        log = self.logs.pop(tp, None)
        self._abort_cleaning(tp)
        self.cleaner.forget(tp)
        self.high_watermarks.pop(tp, None)
        if log is None:
            return
        log.abandon()
        doomed = f"{log.directory}.{uuid.uuid4().hex}{DELETE_DIR_SUFFIX}"
        self.fs.rename(log.directory, doomed)
        delay = log.config.file_delete_delay_ms

        def remove() -> None:
            self._delete_files(lambda: self.fs.rmtree(doomed))

        if delay <= 0:
            remove()
        else:
            self._schedule(delay / 1000, remove)

    # -- scheduling ---------------------------------------------------------------------------

    def _schedule(self, delay: float, fn: Callable[[], Any]) -> TimerHandle:
        box: list[TimerHandle] = []

        def fire() -> None:
            if box:
                self._timers.discard(box[0])
            self._guarded(fn)

        handle = self.clock.call_later(delay, fire)
        box.append(handle)
        self._timers.add(handle)
        return handle

    @staticmethod
    def _guarded(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception:
            _log.exception("log manager task %s failed", getattr(fn, "__name__", fn))

    def _every(self, interval_ms: int, fn: Callable[[], Any]) -> None:
        if interval_ms >= LONG_MAX or not self._running:
            return

        def tick() -> None:
            if not self._running:
                return
            try:
                fn()
            finally:
                self._every(interval_ms, fn)

        self._schedule(interval_ms / 1000, tick)

    def start(self) -> None:
        """Start the background work (call on the broker's loop when the clock is
        the real one)."""
        if self._running:
            return
        self._running = True
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        cfg = self.config
        self._every(cfg.retention_check_interval_ms, self.cleanup_logs)
        self._every(cfg.flush_offset_checkpoint_interval_ms, self.checkpoint_recovery_points)
        self._every(cfg.flush_start_offset_checkpoint_interval_ms, self.checkpoint_log_starts)
        self._every(cfg.high_watermark_checkpoint_interval_ms, self.checkpoint_high_watermarks)
        interval = cfg.flush_scheduler_interval_ms
        if interval >= LONG_MAX:
            finite = [
                log.config.flush_ms for log in self.logs.values() if log.config.flush_ms < LONG_MAX
            ]
            finite.append(self.default_config.flush_ms)
            interval = min(finite)
        self._every(interval, self.flush_dirty_logs)
        if cfg.cleaner_enable:
            self._cleaner_timer = self._schedule(0, self._cleaner_tick)

    # -- retention and flushing -------------------------------------------------------------

    def cleanup_logs(self) -> int:
        """Apply retention to every log now; return the segments deleted."""
        now = self.clock.now_ms()
        deleted = 0
        for log in list(self.logs.values()):
            try:
                deleted += log.delete_old_segments(now)
            except OSError as exc:
                _log.error("retention of %s failed: %s", log.directory, exc)
        return deleted

    def flush_dirty_logs(self) -> None:
        """Flush every log whose ``flush.ms`` passed since its last flush."""
        now = self.clock.now_ms()
        for log in list(self.logs.values()):
            if now - log.last_flush_ms >= log.config.flush_ms:
                self._flush(log, None)

    def _io_executor(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._flush_executor is None:
            self._flush_executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="log-io"
            )
        return self._flush_executor

    def _delete_files(self, unlink: Callable[[], None]) -> None:
        if self._threads and self._running and isinstance(self.fs, OsFileSystem):
            future = self._io_executor().submit(unlink)
            future.add_done_callback(
                lambda f: f.exception() and _log.error("deleting files failed: %s", f.exception())
            )
        else:
            self._guarded(unlink)

    def _flush_after_roll(self, log: PartitionLog, offset: int) -> None:
        # Kafka flushes the segments before a new one asynchronously after a roll.
        if self._running:
            self._soon(lambda: self._flush(log, offset))

    def _soon(self, fn: Callable[[], Any]) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon(self._guarded, fn)
        else:
            self._schedule(0, fn)

    def _flush(self, log: PartitionLog, up_to: int | None) -> None:
        if log.closed:
            return
        try:
            job = log.prepare_flush(up_to)
        except OSError as exc:
            _log.error("flushing %s failed: %s", log.directory, exc)
            return
        if job is None:
            return
        if not self._threads or self._loop is None or isinstance(self.fs, MemoryFileSystem):
            self._run_flush(job)
            return
        future = self._io_executor().submit(job.run)
        loop = self._loop
        future.add_done_callback(
            lambda f: (
                loop.call_soon_threadsafe(self._flush_done, job, f)
                if not loop.is_closed()
                else None
            )
        )

    def _run_flush(self, job: FlushJob) -> None:
        try:
            job.run()
        except OSError as exc:
            _log.error("flushing %s failed: %s", job.log.directory, exc)
            return
        self._committed(job)

    def _flush_done(self, job: FlushJob, future: concurrent.futures.Future[None]) -> None:
        exc = future.exception()
        if exc is not None:
            _log.error("flushing %s failed: %s", job.log.directory, exc)
            return
        self._committed(job)

    def _committed(self, job: FlushJob) -> None:
        job.commit()
        # Checkpoint the new recovery point at once (Kafka waits for the next
        # periodic checkpoint): one small file per flush buys a restart after a
        # crash that scans only what was written since.
        if self._running and not isinstance(self.fs, MemoryFileSystem):
            self.checkpoint_recovery_points()

    # -- checkpoints ------------------------------------------------------------------------

    def checkpoint_recovery_points(self) -> None:
        """Write ``recovery-point-offset-checkpoint``."""
        self._write(
            RECOVERY_POINT_CHECKPOINT, {tp: log.recovery_point for tp, log in self.logs.items()}
        )

    def checkpoint_log_starts(self) -> None:
        """Write ``log-start-offset-checkpoint``."""
        self._write(
            LOG_START_OFFSET_CHECKPOINT,
            {tp: log.log_start_offset for tp, log in self.logs.items() if log.log_start_offset > 0},
        )

    def checkpoint_high_watermarks(self) -> None:
        """Write ``replication-offset-checkpoint`` (the high watermarks)."""
        self._write(
            HIGH_WATERMARK_CHECKPOINT, {tp: log.high_watermark for tp, log in self.logs.items()}
        )

    def checkpoint_cleaner(self) -> None:
        """Write ``cleaner-offset-checkpoint``."""
        self._write(
            CLEANER_OFFSET_CHECKPOINT,
            {tp: off for tp, off in self.cleaner.checkpoints.items() if tp in self.logs},
        )

    def _write(self, name: str, offsets: Mapping[TopicPartition, int]) -> None:
        # An atomic write fsyncs: on a disk, off the loop (one worker keeps the
        # writes of a file in order).
        if self._threads and self._running and isinstance(self.fs, OsFileSystem):
            self._io_executor().submit(self._write_now, name, dict(offsets))
        else:
            self._write_now(name, offsets)

    def _write_now(self, name: str, offsets: Mapping[TopicPartition, int]) -> None:
        try:
            self._checkpoint(name).write(offsets)
        except OSError as exc:
            _log.error("cannot write %s: %s", name, exc)

    # -- cleaning ---------------------------------------------------------------------------

    def _cleaner_tick(self) -> None:
        self._cleaner_timer = None
        if not self._running or self._cleaner_busy:
            return
        now = self.clock.now_ms()
        started = time.perf_counter()
        ltc = self.cleaner.grab_filthiest(self.logs.values(), now)
        if ltc is None:
            self._cleaner_timer = self._schedule(
                self.config.cleaner_backoff_ms / 1000, self._cleaner_tick
            )
            return
        job = self.cleaner.start(ltc, now)
        self.loop_time_ms["plan"] = (time.perf_counter() - started) * 1000
        self._cleaner_busy = True
        if not self._threads or self._loop is None:
            error: BaseException | None = None
            try:
                job.run()
            except Exception as exc:
                error = exc
            self._cleaner_done(job, error)
            return
        loop = self._loop

        def post(error: BaseException | None, remote: CleanResult | None = None) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._cleaner_done, job, error, remote)

        if self.cleaner_mode == "process":
            if self._cleaner_process is None:
                # Imported here: the worker's module (pickle, subprocess plumbing) is
                # only needed once a disk log is compacted, not at every start.
                from .cleaner_worker import CleanerProcess

                self._cleaner_process = CleanerProcess(str(self.fs.root))  # type: ignore[attr-defined]
            remote = self._cleaner_process.submit(job)
            remote.add_done_callback(
                lambda f: post(f.exception(), None if f.exception() else f.result())
            )
            return
        if self._cleaner_executor is None:
            self._cleaner_executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="log-cleaner"
            )
        self._cleaner_executor.submit(job.run).add_done_callback(lambda f: post(f.exception()))

    def _cleaner_done(
        self, job: CleanJob, error: BaseException | None, remote: CleanResult | None = None
    ) -> None:
        self._cleaner_busy = False
        started = time.perf_counter()
        if remote is not None:
            try:
                job.adopt(remote)
            except OSError as exc:
                error = exc
        try:
            result = self.cleaner.finish(job, error)
        except OSError as exc:
            _log.error("swapping cleaned segments of %s failed: %s", job.log.directory, exc)
            result = None
        if result is not None:
            self.last_clean = result
            self.checkpoint_cleaner()
        self.loop_time_ms["swap"] = (time.perf_counter() - started) * 1000
        _log.debug(
            "cleaner work on the loop: planning %.1f ms, swap %.1f ms",
            self.loop_time_ms.get("plan", 0.0),
            self.loop_time_ms["swap"],
        )
        if self._running:
            delay = (
                0
                if result is not None and not result.aborted
                else self.config.cleaner_backoff_ms / 1000
            )
            if delay == 0:
                self._soon(self._cleaner_tick)
            else:
                self._cleaner_timer = self._schedule(delay, self._cleaner_tick)

    def clean(self, topic: str, partition: int, *, force: bool = False) -> CleanResult | None:
        """Run one cleaning pass on a log now, in this thread (tests, tools).

        Raises:
            KeyError: no such log.
            OSError: a file operation failed.
        """
        result = self.cleaner.clean(self.logs[(topic, partition)], self.clock.now_ms(), force=force)
        if result is not None:
            self.checkpoint_cleaner()
        return result

    # -- stopping ---------------------------------------------------------------------------

    def _stop_background(self, kill: bool = False) -> None:
        self._running = False
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        for job in list(self.cleaner.in_progress.values()):
            if self._cleaner_process is not None:
                self._cleaner_process.abort(job)
            job.abort()
        if self._cleaner_process is not None:
            if kill:
                self._cleaner_process.kill()
            else:
                self._cleaner_process.stop()
            self._cleaner_process = None
        for executor in (self._cleaner_executor, self._flush_executor):
            if executor is not None:
                executor.shutdown(wait=True)
        self._cleaner_executor = self._flush_executor = None
        for job in list(self.cleaner.in_progress.values()):
            self.cleaner.finish(job, RuntimeError("shutting down"))
        self._cleaner_busy = False

    def shutdown(self) -> None:
        """Stop the background work, flush every log, write the checkpoints and the
        clean shutdown marker, and close the logs.

        Raises:
            OSError: a flush or checkpoint failed (no clean shutdown marker then).
        """
        self._stop_background()
        for log in self.logs.values():
            log.flush()
        self.checkpoint_recovery_points()
        self.checkpoint_log_starts()
        self.checkpoint_high_watermarks()
        self.checkpoint_cleaner()
        for log in self.logs.values():
            log.close(sync=True)
        self.fs.write_atomic(CLEAN_SHUTDOWN_FILE, b'{"version":0}\n')

    def abandon(self) -> None:
        """Stop without writing anything, as a killed process would (follow with
        ``fs.crash()`` to lose unflushed data too)."""
        self._stop_background(kill=True)
        for log in self.logs.values():
            log.abandon()
        self.logs.clear()
