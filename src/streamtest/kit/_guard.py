"""A watchdog that runs one command and never lets it outlive its owner.

Run as a script (``python -I -S _guard.py [options] -- CMD ...``), never imported by
streamtest itself: it uses only the standard library so it starts in ~20 ms and
cannot be slowed by the package's imports. :mod:`streamtest.kit.reference_kafka`
launches the Apache Kafka JVM through it; other long-lived helper processes (a
Java client, a Kafka Streams app) can use it the same way through
:func:`streamtest.kit.reference_kafka.guarded_popen`.

The command is stopped (SIGTERM, then SIGKILL after ``--grace`` seconds) when the
first of these happens:

- the guard's stdin reaches EOF (the default owner is whoever holds the other end
  of that pipe; the kernel closes it when the owner dies, even by SIGKILL);
- with ``--owner-pid PID``: that process exits (stdin is then ignored; this lets
  one process start a command that must live as long as another, e.g. a broker
  shared by all pytest-xdist workers that lives as long as the xdist controller);
- the guard gets SIGTERM, SIGHUP or SIGINT.

Should the guard itself be SIGKILLed, the command gets SIGKILL from the kernel
(PR_SET_PDEATHSIG, set in the child before exec; Linux only). When the command
exits on its own the guard exits with its status. ``--cleanup DIR`` removes DIR
after stopping the command, so a killed test run leaves no data directory behind
(a command that exits by itself leaves DIR to its owner, who may want its log).

The first line the guard writes on stdout is ``{"pid": N}``, the command's pid.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def _die_with_guard() -> None:
    """In the child, before exec: ask the kernel for SIGKILL when the guard dies.

    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits; the guard
    forks from its main thread, which lives until the guard exits, so that is safe.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except OSError:
            pass


def _watch_stdin(trigger: Callable[[str], None]) -> None:
    try:
        while os.read(0, 65536):
            pass
    except OSError:
        pass
    trigger("stdin closed")


def _watch_pid(pid: int, trigger: Callable[[str], None]) -> None:
    """Call ``trigger`` once process ``pid`` has exited (it need not be our child)."""
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(pid)
        except ProcessLookupError:
            trigger(f"owner {pid} is gone")
            return
        except OSError:
            fd = -1
        if fd >= 0:
            # A pidfd becomes readable when the process exits: no polling.
            select.select([fd], [], [])
            os.close(fd)
            trigger(f"owner {pid} exited")
            return
    if hasattr(select, "kqueue"):  # macOS and the BSDs
        kq = select.kqueue()
        ev = select.kevent(pid, select.KQ_FILTER_PROC, select.KQ_EV_ADD, select.KQ_NOTE_EXIT)
        try:
            kq.control([ev], 1, None)
        except ProcessLookupError:
            pass
        trigger(f"owner {pid} exited")
        return
    done = threading.Event()  # last resort: ask once a second
    while not done.wait(1.0):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        except PermissionError:
            pass
    trigger(f"owner {pid} exited")


def main(argv: list[str] | None = None) -> int:
    """Run the command under the watchdog; return its exit status (or 0 if we stopped it)."""
    parser = argparse.ArgumentParser(prog="streamtest-guard")
    parser.add_argument("--owner-pid", type=int, default=None)
    parser.add_argument("--grace", type=float, default=15.0)
    parser.add_argument("--log", default=None, help="the command's stdout and stderr go here")
    parser.add_argument("--cleanup", default=None, help="a directory to remove at the end")
    parser.add_argument("cmd", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)
    cmd = ns.cmd[1:] if ns.cmd[:1] == ["--"] else ns.cmd
    if not cmd:
        parser.error("no command given")

    stop = threading.Event()
    reason: list[str] = []

    def trigger(why: str) -> None:
        if not stop.is_set():
            reason.append(why)
            stop.set()

    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: trigger(signal.Signals(signum).name))

    log = open(ns.log, "ab") if ns.log else None  # held open for the child's life
    try:
        child = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_guard,
        )
    except OSError as exc:
        print(json.dumps({"error": f"cannot run {cmd[0]}: {exc}"}), flush=True)
        return 127
    print(json.dumps({"pid": child.pid}), flush=True)

    threading.Thread(target=lambda: (child.wait(), trigger("exited")), daemon=True).start()
    if ns.owner_pid is not None:
        threading.Thread(target=_watch_pid, args=(ns.owner_pid, trigger), daemon=True).start()
    else:
        threading.Thread(target=_watch_stdin, args=(trigger,), daemon=True).start()

    stop.wait()
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(ns.grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    # A command that exited by itself may have crashed: its owner reads the log in
    # the directory and removes it; we clean up only what we stopped.
    if ns.cleanup and reason[:1] != ["exited"]:
        shutil.rmtree(ns.cleanup, ignore_errors=True)
    return child.returncode if reason[:1] == ["exited"] else 0


if __name__ == "__main__":
    sys.exit(main())
