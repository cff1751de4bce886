"""The log engine: segmented partition logs on a filesystem, with retention,
compaction and recovery, in Apache Kafka's on-disk layout and semantics."""
