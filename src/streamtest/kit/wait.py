"""Polling with a deadline, instead of sleeping.

``eventually`` is the one way streamtest's tests (and users' tests) wait for an
asynchronous outcome: it re-runs a check until it passes or a deadline expires.

Its failure is written for the person reading a failed test: one
``AssertionError`` whose message names the check (the lambda's source text), what
was expected, the last value or the last error and where that error was raised,
with no chained traceback and none of this module's frames (pytest hides frames
that set ``__tracebackhide__``). With ``equals=`` the message names expected and
actual, which a bare ``lambda: x == 2`` cannot::

    eventually(lambda: len(kafka.records(out)), equals=2, timeout=10)
    # AssertionError: eventually: len(kafka.records(out)) == 2 not reached within
    # 10s (198 attempts); last value: 1
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_MISSING: Any = object()


def eventually(
    fn: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    *,
    equals: Any = _MISSING,
    reraise: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``fn`` until it returns a truthy value (or, with ``equals``, a value equal
    to ``equals``) without raising; return that value.

    ``reraise`` lists exception types that mean waiting longer cannot help (say, the
    streaming query being waited for has failed): they propagate at once.

    Raises:
        AssertionError: ``timeout`` seconds passed. The message names the check, the
            expectation, the number of attempts and the last value or the last
            exception (with the file and line it came from). The error carries them
            as ``last_value``, ``last_exception`` and ``attempts``.
    """
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    last_value: Any = _MISSING
    attempts = 0
    while True:
        attempts += 1
        try:
            value = fn()
        except reraise:
            raise
        except Exception as exc:  # the check is allowed to fail until the deadline
            last_exc, last_value = exc, _MISSING
        else:
            if (value == equals) if equals is not _MISSING else value:
                return value
            last_exc, last_value = None, value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        time.sleep(min(interval, remaining))
    error = AssertionError(_message(fn, equals, timeout, attempts, last_value, last_exc))
    error.last_value = None if last_value is _MISSING else last_value  # type: ignore[attr-defined]
    error.last_exception = last_exc  # type: ignore[attr-defined]
    error.attempts = attempts  # type: ignore[attr-defined]
    # No chaining: the last exception is summarised in the message (and kept on the
    # error), so pytest shows one failure instead of two tracebacks.
    raise error from None


def assert_eventually(
    fn: Callable[[], Any], expected: Any = True, timeout: float = 10.0, interval: float = 0.05
) -> Any:
    """Wait until ``fn()`` equals ``expected`` (the seeds' signature); return the value.

    The same as ``eventually(fn, equals=expected, timeout=timeout, interval=interval)``.

    Raises:
        AssertionError: the deadline passed; the message shows expected and last value.
    """
    __tracebackhide__ = True
    return eventually(fn, timeout=timeout, interval=interval, equals=expected)


# -- the failure message ------------------------------------------------------------------


def _message(
    fn: Callable[[], Any],
    equals: Any,
    timeout: float,
    attempts: int,
    last_value: Any,
    last_exc: BaseException | None,
) -> str:
    what = describe_check(fn)
    goal = f"{what} == {equals!r}" if equals is not _MISSING else what
    verdict = "not reached" if equals is not _MISSING else "still not true"
    head = f"eventually: {goal} {verdict} within {timeout:g}s ({attempts} attempts)"
    if last_exc is None:
        return f"{head}; last value: {last_value!r}"
    text = str(last_exc).strip()
    where = _origin(last_exc)
    kind = type(last_exc).__name__
    if "\n" in text:  # pytest's explanation of an assert inside the check
        body = textwrap.indent(text, "    ")
        return f"{head}; last error{where}: {kind}:\n{body}"
    return f"{head}; last error{where}: {kind}" + (f": {text}" if text else "")


def describe_check(fn: Callable[[], Any]) -> str:
    """Return how to name ``fn`` in a message: a lambda's expression as written in its
    source (``len(kafka.records(out))``), else ``name()``."""
    name = getattr(fn, "__name__", None)
    if name == "<lambda>":
        source = _lambda_source(fn)
        if source:
            return source
    if name:
        return f"{name}()"
    return repr(fn)


def _lambda_source(fn: Callable[[], Any]) -> str | None:
    try:
        lines, first = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    raw = "".join(lines)
    text = textwrap.dedent(raw)
    indent = len(lines[0]) - len(lines[0].lstrip()) if text != raw else 0
    start = _body_start(fn)
    # The lines may hold only part of a call (``eventually(lambda: ...,`` continued on
    # the next line): try the text as it is, then with the call closed.
    for candidate in _parse_candidates(text):
        try:
            tree = ast.parse(candidate)
        except SyntaxError:
            continue
        lambdas = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda)]
        if len(lambdas) > 1 and start is not None:
            # Several lambdas on the line: the one whose body starts where fn's code does.
            lambdas = [
                n
                for n in lambdas
                if (n.body.lineno + first - 1, n.body.col_offset + indent) == start
            ]
        if len(lambdas) == 1:
            segment = ast.get_source_segment(candidate, lambdas[0].body)
            if segment:
                return " ".join(segment.split())
        return None
    return None


def _body_start(fn: Callable[[], Any]) -> tuple[int, int] | None:
    """Return the (line, column) where ``fn``'s code starts in its file (3.11+)."""
    code = getattr(fn, "__code__", None)
    positions = getattr(code, "co_positions", None)
    if positions is None:
        return None
    # Instructions without a span (RESUME, at column 0) say nothing about the source.
    starts = [
        (line, col)
        for line, _, col, end in positions()
        if line is not None and col is not None and end is not None and end > col
    ]
    return min(starts) if starts else None


def _parse_candidates(text: str) -> list[str]:
    stripped = text.strip()
    # ``eventually(lambda: x == 2, timeout=10)`` parses as it is; the first line of a
    # call spread over several lines needs it closed.
    trimmed = stripped.rstrip(",")
    return [stripped, *(trimmed + closing for closing in (")", "))", ")))")), f"({trimmed})"]


def _origin(exc: BaseException) -> str:
    """Return `` (at file:line)`` for where ``exc`` was raised, outside this module."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    if not frames:
        return ""
    last = frames[-1]
    try:
        shown = os.path.relpath(last.filename)
    except ValueError:
        shown = last.filename
    if shown.startswith(".."):
        shown = last.filename
    return f" (at {shown}:{last.lineno})"
