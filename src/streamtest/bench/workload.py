"""YAML workloads in the spirit of the OpenMessaging Benchmark's.

A workload file names what to run; every key is optional. OMB's own keys are read
as OMB means them, and streamtest's :class:`~.config.BenchConfig` names work too::

    name: 1 topic / 16 partitions / 1 KB
    topics: 1
    partitionsPerTopic: 16
    messageSize: 1024
    producersPerTopic: 2
    producerRate: 50000          # records/s over all producers
    subscriptionsPerTopic: 1
    consumerPerSubscription: 2
    testDurationMinutes: 1       # or records: 1000000, or duration_s: 30
    keyDistributor: NO_KEY       # or KEY_ROUND_ROBIN / RANDOM_NANO: keyed records

Command-line options given explicitly override the file. OMB features streamtest
does not have (``payloadFile``, a consumer backlog, warm-up phases) are refused
with a message rather than silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..ops.errors import InvalidInputError
from .config import BenchConfig

#: OMB key -> (BenchConfig field, conversion).
_OMB: dict[str, tuple[str, Any]] = {
    "topics": ("topics", int),
    "partitionsPerTopic": ("partitions", int),
    "messageSize": ("record_size", int),
    "producerRate": ("rate", float),
    "subscriptionsPerTopic": ("subscriptions", int),
    "consumerPerSubscription": ("consumers", int),
    "testDurationMinutes": ("duration_s", lambda v: float(v) * 60),
}
#: Keys taken as BenchConfig fields of the same name.
_NATIVE: dict[str, Any] = {
    "mode": str,
    "topic": str,
    "topics": int,
    "partitions": int,
    "replication_factor": int,
    "record_size": int,
    "records": int,
    "duration_s": float,
    "rate": float,
    "producers": int,
    "consumers": int,
    "subscriptions": int,
    "keys": int,
    "batch_size": int,
    "linger_ms": float,
    "acks": str,
    "compression": str,
    "group": str,
}
#: OMB keys that are accepted only with the value that means "off".
_OMB_OFF: dict[str, Any] = {
    "consumerBacklogSizeGB": 0,
    "warmupDurationMinutes": 0,
    "producerPauseBeforeMs": 0,
}
#: Keys per OMB key distributor.
_KEY_DISTRIBUTORS = {"NO_KEY": None, "KEY_ROUND_ROBIN": 10_000, "RANDOM_NANO": 10_000}


@dataclass(frozen=True)
class Workload:
    """A parsed workload: its name and the BenchConfig fields it sets."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    def apply(self, config: BenchConfig, keep: set[str] | None = None) -> BenchConfig:
        """Return ``config`` with the workload's settings, except the fields in
        ``keep`` (those the user set explicitly)."""
        import dataclasses

        keep = keep or set()
        chosen = {k: v for k, v in self.settings.items() if k not in keep}
        # records and duration_s exclude each other: the one the user gave wins, and
        # the one the file gives replaces the other's default.
        for one, other in (("records", "duration_s"), ("duration_s", "records")):
            if one in keep:
                chosen.pop(other, None)
            elif chosen.get(one) is not None:
                chosen.setdefault(other, None)
        return dataclasses.replace(config, **chosen)


def load_workload(path: str | Path) -> Workload:
    """Read a YAML workload file.

    Raises:
        InvalidInputError: the file cannot be read, is not YAML, is not a mapping,
            or has an unknown key or a value of the wrong type; the message names
            the file and the key.
    """
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read workload {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(f"workload {path} is not valid YAML{where}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"workload {path} must be a mapping of settings")
    return parse_workload(data, str(path))


def parse_workload(data: dict[str, Any], source: str = "workload") -> Workload:
    """Turn a workload mapping into a :class:`Workload` (see :func:`load_workload`).

    Raises:
        InvalidInputError: an unknown key or a bad value.
    """
    settings: dict[str, Any] = {}
    name = str(data.get("name", Path(source).stem))
    producers_per_topic: int | None = None
    for key, raw in data.items():
        if key == "name":
            continue
        try:
            if key in _OMB_OFF:
                if raw != _OMB_OFF[key]:
                    raise InvalidInputError(
                        f"{source}: {key} is not supported by streamtest bench "
                        f"(only {_OMB_OFF[key]})"
                    )
                continue
            if key == "payloadFile":
                raise InvalidInputError(
                    f"{source}: payloadFile is not supported; records are random letters "
                    "of messageSize bytes"
                )
            if key == "keyDistributor":
                if raw not in _KEY_DISTRIBUTORS:
                    known = ", ".join(_KEY_DISTRIBUTORS)
                    raise InvalidInputError(f"{source}: keyDistributor must be one of {known}")
                settings["keys"] = _KEY_DISTRIBUTORS[raw]
                continue
            if key == "producersPerTopic":
                producers_per_topic = _convert(int, raw)
                continue
            if key in _OMB:
                field_name, convert = _OMB[key]
                settings[field_name] = _convert(convert, raw)
                continue
            if key in _NATIVE:
                settings[key] = None if raw is None else _convert(_NATIVE[key], raw)
                continue
        except InvalidInputError:
            raise
        except (TypeError, ValueError):
            raise InvalidInputError(f"{source}: {key} has a bad value {raw!r}") from None
        known = sorted(
            set(_OMB)
            | set(_NATIVE)
            | set(_OMB_OFF)
            | {"name", "keyDistributor", "producersPerTopic"}
        )
        raise InvalidInputError(f"{source}: unknown key {key!r} (known: {', '.join(known)})")
    if producers_per_topic is not None:
        settings["producers"] = producers_per_topic * int(settings.get("topics", 1))
    return Workload(name, settings)


def _convert(convert: Any, raw: Any) -> Any:
    if isinstance(raw, bool) or isinstance(raw, dict | list):
        raise ValueError(raw)
    return convert(raw)
