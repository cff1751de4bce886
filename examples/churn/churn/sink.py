"""The SQLite sink: the latest prediction per customer, by version.

Each customer has one row, keyed by ``customer_id``. An upsert replaces a row only
with a strictly newer ``version``, inside the database's own statement, so:

- an older update that arrives late (reordered upstream, replayed) never
  overwrites a newer one;
- redelivering the same record (at-least-once after a crash) changes nothing, so
  the sink never holds duplicates and needs no deduplication table.

WAL journaling lets tests and operators read the database while the pipeline
writes it; ``synchronous=NORMAL`` keeps a committed batch across a process crash
(SIGKILL), which is the failure this pipeline is built to survive.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    customer_id       TEXT PRIMARY KEY,
    version           INTEGER NOT NULL,
    churn_probability REAL NOT NULL,
    prediction        INTEGER NOT NULL,
    model_version     TEXT NOT NULL,
    processed_at      TEXT NOT NULL,
    event_id          TEXT NOT NULL,
    source_partition  INTEGER NOT NULL,
    source_offset     INTEGER NOT NULL
)
"""

_UPSERT = """
INSERT INTO predictions (customer_id, version, churn_probability, prediction, model_version,
                         processed_at, event_id, source_partition, source_offset)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (customer_id) DO UPDATE SET
    version = excluded.version,
    churn_probability = excluded.churn_probability,
    prediction = excluded.prediction,
    model_version = excluded.model_version,
    processed_at = excluded.processed_at,
    event_id = excluded.event_id,
    source_partition = excluded.source_partition,
    source_offset = excluded.source_offset
WHERE excluded.version > predictions.version
"""


@dataclass(frozen=True, slots=True)
class SinkRow:
    """One prediction to upsert."""

    customer_id: str
    version: int
    churn_probability: float
    prediction: int
    model_version: str
    processed_at: str
    event_id: str
    source_partition: int
    source_offset: int


class PredictionStore:
    """Predictions in SQLite, newest version per customer.

    Args:
        path: the database file (created with its table if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per batch.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def upsert(self, rows: Sequence[SinkRow]) -> int:
        """Apply ``rows`` in order, in one transaction; return how many changed the
        table (the others were older than, or as old as, what it holds).

        Raises:
            sqlite3.Error: the write failed; nothing of the batch was applied.
        """
        if not rows:
            return 0
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            cur.executemany(
                _UPSERT,
                [
                    (
                        r.customer_id,
                        r.version,
                        r.churn_probability,
                        r.prediction,
                        r.model_version,
                        r.processed_at,
                        r.event_id,
                        r.source_partition,
                        r.source_offset,
                    )
                    for r in rows
                ],
            )
            changed = cur.rowcount
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return changed

    def close(self) -> None:
        """Close the database."""
        self._db.close()


def read_predictions(path: str | Path) -> dict[str, dict[str, object]]:
    """Return every row of the database at ``path`` as ``{customer_id: row}`` (for
    tests and operators; opens its own read-only connection).

    Raises:
        sqlite3.Error: the database cannot be read.
    """
    db = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True, timeout=30)
    try:
        db.row_factory = sqlite3.Row
        return {row["customer_id"]: dict(row) for row in db.execute("SELECT * FROM predictions")}
    finally:
        db.close()
