"""churn: the streamtest reference pipeline.

Customer records (JSON) from ``telco.raw.customers`` are scored by a fixed logistic
model; predictions go to ``telco.churn.predictions`` and into a SQLite table (newest
version per customer wins), invalid records to ``telco.deadletter``. Modules:

- :mod:`churn.model`: validation and the model (pure functions);
- :mod:`churn.pipeline`: the consume-score-produce loop, at-least-once or
  exactly-once;
- :mod:`churn.sink`: the SQLite sink;
- :mod:`churn.metrics`, :mod:`churn.logs`: Prometheus metrics, JSON logs;
- :mod:`churn.topics`: topic names, partitions and configs;
- :mod:`churn.publisher`: sample records and a publisher;
- :mod:`churn.cli`: ``python -m churn run|publish|create-topics``.
"""

__version__ = "1.0.0"
