"""Intercepting requests and responses: the test hook of the control plane.

``intercept(api, fn, when="before"|"after", keep=False)`` installs a hook (kfake's
``ControlKey``, extended). ``fn`` receives the decoded, typed request (a kio
entity), and for ``"after"`` the typed response as well. What it returns decides
what happens:

* ``None``: nothing; the request is served (or the response sent) normally;
* a response (a kio response entity, or a dict of its fields): sent instead;
* :class:`Delay`: wait that long (on the cluster's clock), then go on;
* :class:`DropRequest`: forget the request: nothing is processed or answered;
* :class:`DropResponse`: process the request but never answer it (a lost ack);
* :class:`CloseConnection`: close the client's connection (before: unprocessed;
  after: processed, the lost-ack-and-disconnect case that triggers retries).

A hook is removed after the first time it returns something other than
``None`` unless ``keep`` is set. A hook that raises does not break the request
(it is served normally): the exception is recorded and re-raised in the test
when the hook is removed or the cluster stops, so a bug in the hook never hides
behind a transport error in the client.

If ``fn`` takes a parameter named ``info``, it also gets a :class:`RequestInfo`.
"""

from __future__ import annotations

import inspect
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger("streamtest.broker.control")

When = Literal["before", "after"]
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Delay:
    """Hold the request (before) or the response (after) for ``seconds``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class DropRequest:
    """Forget the request: it is neither processed nor answered."""


@dataclass(frozen=True, slots=True)
class DropResponse:
    """Process the request but never send its response (a lost acknowledgement)."""


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """Close the client's connection."""

    reason: str = "closed by an intercept hook"


#: What a hook may return besides ``None`` and a response.
Verdict = Delay | DropRequest | DropResponse | CloseConnection


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """Where a request came from, for hooks that want to know."""

    api_key: int
    api_version: int
    node_id: int
    client_id: str | None
    correlation_id: int


class HookError(RuntimeError):
    """A hook raised; the original exception is the ``__cause__``."""


@dataclass(eq=False)
class Interception:
    """An installed hook.

    Attributes:
        api: the API key it applies to (``None``: every API).
        fn: the hook.
        when: ``"before"`` or ``"after"``.
        keep: stay installed after acting.
        node: only requests reaching this node (``None``: any).
        calls: how many times it acted (returned something other than ``None``).
        errors: exceptions it raised (re-raised by :meth:`check`).
    """

    api: int | None
    fn: Callable[..., Any]
    when: When
    keep: bool = False
    node: int | None = None
    calls: int = 0
    errors: list[BaseException] = field(default_factory=list)
    hook_id: int = field(default_factory=lambda: next(_ids))
    wants_info: bool = False

    def __post_init__(self) -> None:
        if self.when not in ("before", "after"):
            raise ValueError(f"when must be 'before' or 'after', not {self.when!r}")
        try:
            self.wants_info = "info" in inspect.signature(self.fn).parameters
        except (TypeError, ValueError):
            self.wants_info = False

    def check(self) -> None:
        """Re-raise the first exception the hook raised, if any.

        Raises:
            HookError: the hook raised (the original is the ``__cause__``).
        """
        if self.errors:
            first = self.errors[0]
            raise HookError(
                f"intercept hook {getattr(self.fn, '__qualname__', self.fn)!r} raised "
                f"{type(first).__name__}: {first}"
            ) from first


class Interceptors:
    """The hooks installed on a cluster, run by the dispatcher."""

    def __init__(self) -> None:
        self._hooks: list[Interception] = []

    def __bool__(self) -> bool:
        return bool(self._hooks)

    def add(self, hook: Interception) -> Interception:
        """Install ``hook``; return it."""
        self._hooks.append(hook)
        return hook

    def remove(self, hook_id: int) -> Interception | None:
        """Uninstall a hook by id; return it, or ``None``."""
        for h in self._hooks:
            if h.hook_id == hook_id:
                self._hooks.remove(h)
                return h
        return None

    def clear(self) -> list[Interception]:
        """Uninstall every hook; return them."""
        hooks, self._hooks = self._hooks, []
        return hooks

    def matching(self, api: int, node: int, when: When) -> list[Interception]:
        """Return the hooks for ``api`` on ``node`` at ``when``, in install order."""
        return [
            h
            for h in self._hooks
            if h.when == when
            and (h.api is None or h.api == api)
            and (h.node is None or h.node == node)
        ]

    async def run(self, hook: Interception, info: RequestInfo, *args: Any) -> Any:
        """Call ``hook`` (awaiting it if it returns an awaitable) and return its result;
        an exception is recorded on the hook and ``None`` returned."""
        try:
            result = hook.fn(*args, info=info) if hook.wants_info else hook.fn(*args)
            if inspect.isawaitable(result):
                result = await result
        except Exception as exc:
            log.error("intercept hook %r raised: %r", hook.fn, exc)
            hook.errors.append(exc)
            return None
        if result is not None:
            hook.calls += 1
            if not hook.keep and hook in self._hooks:
                self._hooks.remove(hook)
        return result
