"""Loading a partition log from its directory on start (Kafka's ``LogLoader``).

1. Leftovers of interrupted operations are settled: ``.deleted`` and ``.cleaned``
   files are removed; a ``.swap`` segment (a cleaned segment whose swap was
   interrupted) replaces the segments it covers.
2. Every segment is opened with its indexes. Below the recovery point (or
   everywhere after a clean shutdown) segments are trusted: only their indexes are
   read, and rebuilt when missing or corrupt.
3. Segments from the recovery point on are scanned batch by batch with CRC checks
   and their indexes rebuilt. A torn or corrupt batch cuts the log there, and the
   segments after it are deleted: logged at ERROR with the segment file, the
   offset and the records dropped. So is a segment that ends before the next one
   starts (its unflushed tail was lost in a crash): offsets stay dense.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ..storage.fs import FileSystem
from .config import LogConfig
from .segment import (
    CLEANED_SUFFIX,
    DELETED_SUFFIX,
    LOG_SUFFIX,
    SWAP_SUFFIX,
    LogSegment,
    offset_from_filename,
)

_log = logging.getLogger("streamtest.broker.log")


@dataclass
class LoadResult:
    """What loading a partition directory produced."""

    segments: list[LogSegment]
    recovery_point: int
    #: ``(producer_id, offset)`` of ABORT markers found while scanning.
    abort_markers: list[tuple[int, int]] = field(default_factory=list)
    #: Whether any segment was scanned (recovered) rather than trusted.
    recovered: bool = False


def _settle_leftovers(fs: FileSystem, directory: str, names: list[str]) -> list[int]:
    """Remove ``.deleted``/``.cleaned``/``.tmp`` files; return the base offsets of
    valid ``.swap`` segments."""
    swaps: set[int] = set()
    min_cleaned: int | None = None
    for name in names:
        base = offset_from_filename(name)
        if name.endswith(DELETED_SUFFIX) or name.endswith(".tmp"):
            fs.remove(f"{directory}/{name}")
        elif name.endswith(CLEANED_SUFFIX):
            if base is not None:
                min_cleaned = base if min_cleaned is None else min(min_cleaned, base)
            fs.remove(f"{directory}/{name}")
        elif name.endswith(LOG_SUFFIX + SWAP_SUFFIX) and base is not None:
            swaps.add(base)
    valid = []
    for base in sorted(swaps):
        if min_cleaned is not None and base >= min_cleaned:
            # Kafka (KAFKA-6264): a swap file above an unfinished .cleaned file belongs
            # to a cleaning round that never completed; the originals are intact.
            for name in fs.listdir(directory):
                if name.endswith(SWAP_SUFFIX) and offset_from_filename(name) == base:
                    fs.remove(f"{directory}/{name}")
        else:
            valid.append(base)
    return valid


def _complete_swaps(
    fs: FileSystem, directory: str, config: LogConfig, now_ms: int, swaps: list[int]
) -> None:
    for base in swaps:
        swap = LogSegment.open(fs, directory, base, config, now_ms, suffix=SWAP_SUFFIX)
        if swap.needs_recovery:
            swap.recover()
        end = swap.next_offset
        _log.info(
            "completing the interrupted swap of %s (offsets %d to %d)", swap.log_path, base, end
        )
        for name in fs.listdir(directory):
            if not name.endswith(LOG_SUFFIX):
                continue
            other = offset_from_filename(name)
            if other is not None and base < other < end:
                old = LogSegment.open(fs, directory, other, config, now_ms)
                old.delete_files()
        swap.change_suffix("")
        swap.close()


def load_segments(
    fs: FileSystem,
    directory: str,
    config: LogConfig,
    now_ms: int,
    *,
    recovery_point: int,
    clean_shutdown: bool,
    on_recovered_batch: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Open (and, where needed, recover) every segment of a partition directory.

    Returns the segments in offset order (empty when the directory holds none).

    Raises:
        OSError: a file cannot be read, written or removed.
    """
    names = fs.listdir(directory)
    swaps = _settle_leftovers(fs, directory, names)
    if swaps:
        _complete_swaps(fs, directory, config, now_ms, swaps)
        names = fs.listdir(directory)
    bases = []
    logs = set()
    for name in names:
        base = offset_from_filename(name)
        if base is not None and name.endswith(LOG_SUFFIX):
            bases.append(base)
            logs.add(base)
    for name in names:
        base = offset_from_filename(name)
        if (
            base is not None
            and base not in logs
            and name.split(".", 1)[1] in ("index", "timeindex", "txnindex")
        ):
            fs.remove(f"{directory}/{name}")  # an index without its log
    bases.sort()
    segments = [LogSegment.open(fs, directory, b, config, now_ms) for b in bases]
    result = LoadResult(segments, recovery_point)
    if not segments:
        return result
    if clean_shutdown:
        first_unflushed = len(segments)
    else:
        first_unflushed = 0
        for i, seg in enumerate(segments):
            if seg.base_offset <= recovery_point:
                first_unflushed = i
    i = 0
    while i < len(segments):
        seg = segments[i]
        scan = i >= first_unflushed
        if not scan and not seg.needs_recovery:
            i += 1
            continue
        result.recovered = result.recovered or scan
        outcome = seg.recover(check_crc=True, on_batch=on_recovered_batch if scan else None)
        result.abort_markers.extend(outcome.abort_markers)
        later = segments[i + 1 :]
        if outcome.error is not None:
            records, batches = _count_records(later)
            _log.error(
                "corrupt record batch in %s at offset %d (byte %d): %s; truncated the log "
                "there, dropping %d record(s) in %d batch(es) (%d bytes) from this segment "
                "and %d record(s) in %d later segment(s)",
                seg.log_path,
                outcome.error_offset,
                outcome.error_position,
                outcome.error,
                outcome.dropped_records,
                outcome.dropped_batches,
                outcome.truncated_bytes,
                records,
                len(later),
            )
            _drop(segments, i + 1)
            break
        if scan and later and later[0].base_offset != seg.next_offset:
            records, batches = _count_records(later)
            if later[0].base_offset > seg.next_offset:
                reason = (
                    f"offsets {seg.next_offset} to {later[0].base_offset - 1} were lost "
                    "(written but not flushed before a crash)"
                )
            else:
                reason = f"the next segment starts inside it, at {later[0].base_offset}"
            _log.error(
                "log segment %s ends at offset %d: %s; deleting %d later segment(s), "
                "dropping %d record(s) in %d batch(es) from offset %d on",
                seg.log_path,
                seg.next_offset,
                reason,
                len(later),
                records,
                batches,
                later[0].base_offset,
            )
            _drop(segments, i + 1)
            break
        i += 1
    return result


def _count_records(segments: list[LogSegment]) -> tuple[int, int]:
    records = batches = 0
    for seg in segments:
        r, b = seg._count_after(0, seg.log.size)
        records += r
        batches += b
    return records, batches


def _drop(segments: list[LogSegment], start: int) -> None:
    for seg in segments[start:]:
        seg.delete_files()
    del segments[start:]
