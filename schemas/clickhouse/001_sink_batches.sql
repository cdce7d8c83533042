-- The sink's own bookkeeping: the Kafka offset range of every batch, recorded BEFORE the batch is inserted.
-- On partition assignment the sink re-inserts the last recorded range that is not committed yet, with the same
-- deduplication token, so a crash at any point neither loses nor duplicates rows (docs/sink-exactly-once.md).
CREATE TABLE IF NOT EXISTS {database}.sink_batches
(
    consumer_group LowCardinality(String),
    topic LowCardinality(String),
    partition UInt32,
    first_offset UInt64,
    last_offset UInt64,
    created_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(created_at)
ORDER BY (consumer_group, topic, partition, first_offset)
TTL toDateTime(created_at) + INTERVAL {raw_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
