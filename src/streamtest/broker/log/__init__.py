"""The log engine: segmented partition logs on a filesystem, with retention,
compaction and recovery, in Apache Kafka's on-disk layout and semantics.

* :class:`PartitionLog` is one replica's log of one partition (Kafka's
  ``UnifiedLog``); :class:`LogManager` owns every log of a node on one
  :class:`~streamtest.broker.storage.fs.FileSystem` and runs retention, flushes,
  checkpoints and the cleaner with the broker's clock.
* :class:`LogConfig` holds a topic's log settings (Kafka's names, defaults and
  validation); :class:`LogManagerConfig` the broker-wide ones.

Modules: ``config``, ``index`` (offset, time and transaction indexes),
``segment``, ``batches`` (header scans), ``checkpoint``, ``epoch`` (leader epoch
cache), ``snapshots`` (producer-state snapshots), ``loader`` (recovery),
``partition``, ``retention``, ``compaction`` and ``cleaner``, ``manager``.
"""

from .cleaner import CleanResult, LogCleaner
from .compaction import LastRecord
from .config import InvalidConfig, LogConfig, LogManagerConfig, validate_log_config
from .epoch import UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET, LeaderEpochCache
from .errors import (
    CorruptCheckpointError,
    CorruptIndexError,
    InvalidOffsetError,
    LogClosedError,
    LogError,
    OffsetOutOfRangeError,
    UnexpectedAppendOffsetError,
)
from .index import AbortedTxn
from .manager import LogManager
from .partition import FlushJob, PartitionLog, log_dir_name, parse_log_dir_name

__all__ = [
    "UNDEFINED_EPOCH",
    "UNDEFINED_EPOCH_OFFSET",
    "AbortedTxn",
    "CleanResult",
    "CorruptCheckpointError",
    "CorruptIndexError",
    "FlushJob",
    "InvalidConfig",
    "InvalidOffsetError",
    "LastRecord",
    "LeaderEpochCache",
    "LogCleaner",
    "LogClosedError",
    "LogConfig",
    "LogError",
    "LogManager",
    "LogManagerConfig",
    "OffsetOutOfRangeError",
    "PartitionLog",
    "UnexpectedAppendOffsetError",
    "log_dir_name",
    "parse_log_dir_name",
    "validate_log_config",
]
