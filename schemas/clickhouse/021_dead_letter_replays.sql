-- The ledger of the dead-letter replay command (dotnet StreamPipeline.Sink.dll replay-dead-letters; issue 10 item 4):
-- one row per original record replayed, keyed by what identifies it (the source record for a sink dead letter, the
-- dead-letter record itself for a connector one), with the deduplication token its rows were inserted under. A chunk
-- is written 'pending' (done = 0) before its rows, 'done' after: a replay run again skips what is done and re-inserts
-- what is pending under the recorded token (a no-op if the rows are in), so replaying twice stores once.
CREATE TABLE IF NOT EXISTS {database}.dead_letter_replays
(
    record_topic LowCardinality(String),
    record_partition UInt32,
    record_offset UInt64,
    token String,
    dead_letter_topic LowCardinality(String),
    dead_letter_partition UInt32,
    dead_letter_offset UInt64,
    done UInt8,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (record_topic, record_partition, record_offset)
TTL toDateTime(updated_at) + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
