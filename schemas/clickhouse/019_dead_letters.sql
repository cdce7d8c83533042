-- One row per dead-lettered Kafka record (dashboard: Pipeline health "Dead letters by reason"): what was set aside,
-- by whom (stage: connector or sink), why. The record itself stays in its dead-letter topic; this is the index to it.
CREATE TABLE IF NOT EXISTS {database}.dead_letters
(
    stage LowCardinality(String),
    source_topic LowCardinality(String),
    source_partition UInt32,
    source_offset UInt64,
    dead_letter_topic LowCardinality(String),
    reason LowCardinality(String),
    error String,
    dead_lettered_time DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(dead_lettered_time)
ORDER BY (reason, dead_lettered_time)
TTL toDateTime(dead_lettered_time) + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
