"""The cleaner process: cleaning passes of logs on an OS filesystem, run outside
the broker's process so that their pure-Python work never holds the broker's GIL.

``benchmarks/bench_log.py`` measured why: with the cleaner on a thread, the event
loop waited up to hundreds of milliseconds for the GIL while 1 GB was compacted
(a thread that holds the GIL and is descheduled by a busy OS blocks the loop).

The worker is a plain ``python -m streamtest.broker.log.cleaner_main`` child,
not a ``multiprocessing`` one: spawning through ``multiprocessing`` re-imports the
parent's ``__main__`` module, which would start a user's unguarded script (and its
embedded broker) a second time. Messages are length-prefixed pickles on two
pipes: jobs and aborts go in, results come out.
"""

from __future__ import annotations

import concurrent.futures
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
from typing import Any, BinaryIO

from .cleaner import CleaningAborted, CleanJob, CleanResult, run_clean

_LEN = struct.Struct(">Q")


def _send(out: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LEN.pack(len(data)) + data)
    out.flush()


def _read_exact(inp: BinaryIO, size: int) -> bytes:
    """Read exactly ``size`` bytes (``inp`` may be unbuffered: a pipe read can
    return less); fewer only at end of file."""
    parts = []
    while size:
        chunk = inp.read(size)
        if not chunk:
            break
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _recv(inp: BinaryIO) -> Any:
    head = _read_exact(inp, _LEN.size)
    if len(head) < _LEN.size:
        raise EOFError("the pipe closed")
    (size,) = _LEN.unpack(head)
    data = _read_exact(inp, size)
    if len(data) < size:
        raise EOFError("the pipe closed mid-message")
    return pickle.loads(data)


class CleanerProcess:
    """The broker's side of the cleaner process (started on first use, from a
    helper thread, so that starting it never blocks the loop)."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._proc: subprocess.Popen[bytes] | None = None
        self._commands: BinaryIO | None = None
        self._results: BinaryIO | None = None
        self._lock = threading.Lock()  # one pass at a time
        self._write_lock = threading.Lock()
        self._dead = False
        self._sent: CleanJob | None = None  # the pass the process is working on

    def _start(self) -> None:
        cmd_r, cmd_w = os.pipe()
        res_r, res_w = os.pipe()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "streamtest.broker.log.cleaner_main", str(cmd_r), str(res_w)],
            pass_fds=(cmd_r, res_w),
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
        os.close(cmd_r)
        os.close(res_w)
        self._commands = os.fdopen(cmd_w, "wb")
        self._results = os.fdopen(res_r, "rb")

    def submit(self, job: CleanJob) -> concurrent.futures.Future[CleanResult]:
        """Run a planned pass in the process; the future completes (on a helper
        thread) with its result, or the error the pass raised."""
        future: concurrent.futures.Future[CleanResult] = concurrent.futures.Future()

        def exchange() -> None:
            try:
                with self._lock:
                    if self._dead:
                        raise CleaningAborted("the cleaner process was stopped")
                    if self._proc is None:
                        self._start()
                    with self._write_lock:
                        if job.aborted_flag:
                            raise CleaningAborted("aborted before it started")
                        _send(self._commands, ("job", self.root, job.spec, job.result))  # type: ignore[arg-type]
                        self._sent = job
                    try:
                        status, payload = _recv(self._results)  # type: ignore[arg-type]
                    finally:
                        with self._write_lock:
                            self._sent = None
            except BaseException as exc:  # noqa: BLE001 - the pipe broke: the process died
                future.set_exception(
                    exc if isinstance(exc, CleaningAborted) else CleaningAborted(repr(exc))
                )
                return
            if status == "ok":
                future.set_result(payload)
            else:
                future.set_exception(payload)

        threading.Thread(target=exchange, name="log-cleaner-pipe", daemon=True).start()
        return future

    def abort(self, job: CleanJob | None = None) -> None:
        """Stop a pass (the current one by default): one not sent yet never starts;
        a running one stops at its next batches."""
        with self._write_lock:
            if job is not None:
                job.abort()
            if self._sent is None or (job is not None and self._sent is not job):
                return
            try:
                _send(self._commands, ("abort",))  # type: ignore[arg-type]
            except (OSError, ValueError):
                pass

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the process (kill it if it does not stop in time)."""
        self._dead = True
        if self._sent is not None:
            self.abort(self._sent)
        proc = self._proc
        if proc is None:
            return
        try:
            with self._write_lock:
                _send(self._commands, ("stop",))  # type: ignore[arg-type]
        except (OSError, ValueError):
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        self._close()

    def kill(self) -> None:
        """Kill the process now (the node "died")."""
        self._dead = True
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5.0)
        self._close()

    def _close(self) -> None:
        for f in (self._commands, self._results):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass


def _serve(commands: BinaryIO, results: BinaryIO) -> None:
    from ..storage.fs import FileHandle, OsFileSystem

    pending_abort = False
    calls = 0

    def aborted() -> bool:
        # Asked once per batch: look at the command pipe every 64th time.
        nonlocal pending_abort, calls
        if pending_abort:
            return True
        calls += 1
        if calls & 63:
            return False
        ready, _, _ = select.select([commands], [], [], 0)
        if ready:
            message = _recv(commands)
            if message[0] in ("abort", "stop"):
                pending_abort = True
        return pending_abort

    while True:
        try:
            message = _recv(commands)
        except EOFError:
            return
        if message[0] == "stop":
            return
        if message[0] != "job":
            continue  # a late abort
        pending_abort = False
        _, root, spec, result = message
        fs = OsFileSystem(root)
        readers: dict[int, FileHandle] = {}
        try:
            for src in [*spec.sources, spec.active]:
                readers[src.base_offset] = fs.open(src.path, create=False)
            for seg in run_clean(fs, spec, readers, aborted, result):
                seg.close()
            reply: tuple[str, Any] = ("ok", result)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the broker
            try:
                pickle.dumps(exc)
                reply = ("error", exc)
            except Exception:
                reply = ("error", RuntimeError(repr(exc)))
        finally:
            for reader in readers.values():
                reader.close()
            fs.close()
        _send(results, reply)


def main(argv: list[str]) -> None:
    """Serve passes on the pipes whose descriptors are given (worker entry point)."""
    # Unbuffered: the worker polls this pipe with select() for an abort while it
    # cleans, which a buffered reader would defeat by reading the abort ahead
    # together with the job.
    commands = os.fdopen(int(argv[0]), "rb", buffering=0)
    results = os.fdopen(int(argv[1]), "wb")
    try:
        _serve(commands, results)
    except (BrokenPipeError, EOFError):
        pass
