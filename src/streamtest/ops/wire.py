"""A minimal blocking Kafka client for the one admin call confluent-kafka lacks.

confluent-kafka's Python AdminClient has no DeleteConsumerGroupOffsets (librdkafka
has it, the binding does not expose it), so ``groups delete-offsets`` sends
OffsetDelete (key 47) itself: ApiVersions to pick versions, FindCoordinator to
find the group coordinator, then OffsetDelete there. Requests are encoded with
the repo's kio codecs. It speaks PLAINTEXT only; for TLS or SASL listeners it
says so rather than pretending.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from ..protocol import codec
from ..protocol.errors import error_name
from .client import ClientConfig, _bootstrap_hosts
from .errors import BrokerUnreachableError, OpsError

API_VERSIONS, FIND_COORDINATOR, OFFSET_DELETE, LIST_GROUPS = 18, 10, 47, 16


class WireConnection:
    """One blocking connection; :meth:`call` sends a kio request and decodes the reply."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise BrokerUnreachableError(
                f"cannot connect to {host}:{port}: {exc.strerror}"
            ) from None
        self.correlation_id = 0
        self.versions: dict[int, tuple[int, int]] = {}

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()

    def _read_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise OpsError("the broker closed the connection (unsupported request?)")
            buf += chunk
        return bytes(buf)

    def call(self, api_key: int, version: int, body: dict[str, Any]) -> Any:
        """Send ``body`` as request ``api_key`` v``version``; return the decoded response.

        Raises:
            OpsError: the connection failed or closed.
        """
        self.correlation_id += 1
        flexible = codec.is_flexible(api_key, version)
        entity = codec.build(codec.request_schema(api_key, version), body)
        client_id = b"streamtest-ops"
        header = struct.pack(">hhih", api_key, version, self.correlation_id, len(client_id))
        header += client_id + (b"\x00" if flexible else b"")
        payload = header + codec.encode(entity)
        try:
            self.sock.sendall(struct.pack(">i", len(payload)) + payload)
            (size,) = struct.unpack(">i", self._read_exact(4))
            frame = self._read_exact(size)
        except OSError as exc:
            raise OpsError(f"connection to the broker failed: {exc}") from None
        # Response header v1 (flexible) has a tagged-field byte; ApiVersions never does.
        offset = 5 if flexible and api_key != API_VERSIONS else 4
        value, _ = codec.decode(codec.response_schema(api_key, version), frame, offset)
        return value

    def negotiate(self) -> None:
        """Learn the broker's supported version ranges (ApiVersions v0)."""
        resp = self.call(API_VERSIONS, 0, {})
        self.versions = {int(k.api_key): (int(k.min_version), int(k.max_version))
                         for k in resp.api_keys}

    def pick(self, api_key: int, lo: int, hi: int, name: str) -> int:
        """Return the highest version in ``[lo, hi]`` the broker supports.

        Raises:
            OpsError: there is none.
        """
        bmin, bmax = self.versions.get(api_key, (0, -1))
        v = min(hi, bmax)
        if v < max(lo, bmin):
            raise OpsError(f"the broker does not support {name}")
        return v


def _require_plaintext(config: ClientConfig, what: str, why: str) -> None:
    protocol = str(config.properties.get("security.protocol", "plaintext")).lower()
    if protocol != "plaintext":
        raise OpsError(f"{what} supports only PLAINTEXT listeners, not {protocol.upper()} ({why})")


def _connect_bootstrap(config: ClientConfig) -> WireConnection:
    _require_plaintext(
        config, "delete-offsets", "confluent-kafka's AdminClient has no DeleteConsumerGroupOffsets"
    )
    last: OpsError | None = None
    for host, port in _bootstrap_hosts(config.bootstrap_servers):
        try:
            conn = WireConnection(host, port, config.timeout)
        except OpsError as exc:
            last = exc
            continue
        conn.negotiate()
        return conn
    raise last or BrokerUnreachableError(f"cannot connect to {config.bootstrap_servers}")


def find_coordinator(conn: WireConnection, group: str) -> tuple[str, int]:
    """Return the group coordinator's ``(host, port)``.

    Raises:
        OpsError: the broker answered with an error.
    """
    v = conn.pick(FIND_COORDINATOR, 1, 4, "FindCoordinator")
    if v >= 4:
        resp = conn.call(FIND_COORDINATOR, v, {"key_type": 0, "coordinator_keys": [group]})
        c = resp.coordinators[0]
        code, host, port = int(c.error_code), c.host, int(c.port)
    else:
        resp = conn.call(FIND_COORDINATOR, v, {"key": group, "key_type": 0})
        code, host, port = int(resp.error_code), resp.host, int(resp.port)
    if code:
        raise OpsError(f"cannot find the coordinator of group '{group}': {error_name(code)}")
    return host, port


def offset_delete(
    config: ClientConfig, group: str, partitions: dict[str, list[int]]
) -> tuple[int, dict[tuple[str, int], int]]:
    """Send OffsetDelete for ``{topic: [partition, ...]}`` to ``group``'s coordinator.

    Returns:
        The group-level error code and ``{(topic, partition): error code}``.

    Raises:
        OpsError: connection or protocol failures.
    """
    conn = _connect_bootstrap(config)
    try:
        host, port = find_coordinator(conn, group)
    finally:
        conn.close()
    coord = WireConnection(host, port, config.timeout)
    try:
        coord.negotiate()
        v = coord.pick(OFFSET_DELETE, 0, 0, "OffsetDelete")
        body = {
            "group_id": group,
            "topics": [{"name": t, "partitions": [{"partition_index": p} for p in ps]}
                       for t, ps in sorted(partitions.items())],
        }
        resp = coord.call(OFFSET_DELETE, v, body)
    finally:
        coord.close()
    out = {}
    for t in resp.topics:
        for p in t.partitions:
            out[(t.name, int(p.partition_index))] = int(p.error_code)
    return int(resp.error_code), out


def list_groups_of_type(
    config: ClientConfig, brokers: list[tuple[str, int]], group_type: str
) -> list[tuple[str, str]]:
    """Return ``(group id, state)`` of every group of ``group_type`` (``share``) on
    ``brokers``: ListGroups v5 with a type filter (KIP-848), sent to every broker,
    since each lists only the groups it coordinates.

    Raises:
        OpsError: a broker cannot be reached, is too old for type filters, or answers
            with an error.
    """
    _require_plaintext(
        config, f"--type {group_type}", "librdkafka cannot list groups of this type"
    )
    out: dict[str, str] = {}
    for host, port in brokers:
        conn = WireConnection(host, port, config.timeout)
        try:
            conn.negotiate()
            v = conn.pick(LIST_GROUPS, 5, 5, "ListGroups v5 (group type filters, Kafka 4.0)")
            resp = conn.call(LIST_GROUPS, v, {"states_filter": [], "types_filter": [group_type]})
        finally:
            conn.close()
        code = int(resp.error_code)
        if code:
            raise OpsError(f"cannot list groups on {host}:{port}: {error_name(code)}")
        for g in resp.groups:
            out[g.group_id] = g.group_state
    return sorted(out.items())
