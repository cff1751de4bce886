"""Fault injection and request interception for tests, in thread and process mode.

Three recipes (``kafka`` is a running :class:`~streamtest.EmbeddedKafka`)::

    from streamtest.faults import ApiKey, CloseConnection, Delay, ErrorCode

    # Fail a Produce: the next 3 produce attempts to orders-0 get
    # NOT_LEADER_OR_FOLLOWER; other partitions are served normally.
    kafka.faults.add(api=ApiKey.PRODUCE, topic="orders", partition=0,
                     error=ErrorCode.NOT_LEADER_OR_FOLLOWER, count=3)

    # Lose an ack: the broker appends the batch, then drops the connection before
    # answering, so the client retries (and duplicates, without idempotence).
    kafka.intercept(ApiKey.PRODUCE, lambda req, resp: CloseConnection(), when="after")

    # Slow a Fetch by 2 seconds, every time, until removed.
    slow = kafka.intercept(ApiKey.FETCH, lambda req: Delay(2.0), keep=True)
    ...
    slow.remove()

A hook receives the decoded, typed request (and response, for ``when="after"``)
and returns ``None`` to let it pass, a replacement response, :class:`Delay`,
:class:`DropRequest`, :class:`DropResponse` or :class:`CloseConnection`. A hook
that raises does not disturb the client; its exception is raised again by
``handle.remove()`` or when the cluster stops (:class:`HookError`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .broker.intercept import (
    CloseConnection,
    Delay,
    DropRequest,
    DropResponse,
    HookError,
    RequestInfo,
)
from .protocol.api_keys import ApiKey
from .protocol.errors import ErrorCode

__all__ = [
    "ApiKey",
    "CloseConnection",
    "Delay",
    "DropRequest",
    "DropResponse",
    "ErrorCode",
    "FaultHandle",
    "Faults",
    "HookError",
    "InterceptHandle",
    "RequestInfo",
]


class _Commands(Protocol):
    def command(self, op: str, **args: Any) -> Any: ...


class FaultHandle:
    """An installed fault (see :meth:`Faults.add`)."""

    def __init__(self, runner: _Commands, spec: dict[str, Any]) -> None:
        self._runner = runner
        self.spec = spec
        self.fault_id = int(spec["id"])

    def __repr__(self) -> str:
        return f"<FaultHandle {self.spec}>"

    @property
    def hits(self) -> int:
        """Return how many requests or partitions it failed so far."""
        for f in self._runner.command("list_faults"):
            if f["id"] == self.fault_id:
                return int(f["hits"])
        return int(self.spec.get("count") or 0)

    def remove(self) -> None:
        """Uninstall it (a no-op once it was used up)."""
        self._runner.command("remove_fault", fault_id=self.fault_id)


class Faults:
    """The faults of one cluster (``kafka.faults``)."""

    def __init__(self, runner: _Commands) -> None:
        self._runner = runner

    def add(
        self,
        api: ApiKey | int,
        error: ErrorCode | int,
        *,
        topic: str | None = None,
        partition: int | None = None,
        node: int | None = None,
        count: int | None = None,
    ) -> FaultHandle:
        """Fail matching requests with ``error``.

        For Produce, Fetch, ListOffsets, DeleteRecords, OffsetForLeaderEpoch,
        OffsetCommit and TxnOffsetCommit, each matching partition fails and the
        rest of the request is served; for Metadata, CreateTopics and
        DeleteTopics, each matching topic; other APIs fail as a whole.

        Args:
            api: the request type.
            error: the error code to answer with.
            topic: only this topic (partition-level APIs).
            partition: only this partition of ``topic``.
            node: only requests reaching this node.
            count: how many times (``None``: until removed).

        Raises:
            ValueError: a topic/partition on an API that cannot fail per partition,
                or an unknown API key or error code.
        """
        spec = self._runner.command(
            "add_fault",
            api=int(api),
            error=int(error),
            topic=topic,
            partition=partition,
            node=node,
            count=count,
        )
        return FaultHandle(self._runner, spec)

    def list(self) -> list[dict[str, Any]]:
        """Return the installed faults as plain data."""
        return list(self._runner.command("list_faults"))

    def clear(self) -> None:
        """Uninstall every fault."""
        self._runner.command("clear_faults")


class InterceptHandle:
    """An installed intercept hook (see ``EmbeddedKafka.intercept``)."""

    def __init__(
        self,
        remove: Callable[[], None],
        errors: Callable[[], list[BaseException]],
        calls: Callable[[], int],
        fn: Callable[..., Any],
    ) -> None:
        self._remove = remove
        self._errors = errors
        self._calls = calls
        self.fn = fn
        self.removed = False
        #: Whether :meth:`check` already raised this hook's error (it is raised once).
        self.reported = False

    @property
    def calls(self) -> int:
        """Return how many times the hook acted (returned something but ``None``)."""
        return self._calls()

    @property
    def errors(self) -> list[BaseException]:
        """Return the exceptions the hook raised."""
        return list(self._errors())

    def check(self) -> None:
        """Raise the hook's first exception, if it raised.

        Raises:
            HookError: the hook raised (the original is the ``__cause__``).
        """
        errors = self._errors()
        if errors and not self.reported:
            self.reported = True
            first = errors[0]
            raise HookError(
                f"intercept hook {getattr(self.fn, '__qualname__', self.fn)!r} raised "
                f"{type(first).__name__}: {first}"
            ) from first

    def remove(self) -> None:
        """Uninstall the hook, then raise what it raised, if anything.

        Raises:
            HookError: the hook raised while installed.
        """
        if not self.removed:
            self.removed = True
            self._remove()
        self.check()
