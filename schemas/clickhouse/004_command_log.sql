-- One row per terminal command result (topic command-results). Created now; filled once the command-result Avro
-- schema (schemas/avro/command-result.avsc) exists and the sink consumes that topic.
CREATE TABLE IF NOT EXISTS {database}.command_log
(
    command_id String,
    agent_id LowCardinality(String),
    action LowCardinality(String),
    request_id UInt64,
    status LowCardinality(String),
    response_json String,
    error String,
    connector_id LowCardinality(String),
    created_time DateTime64(3, 'UTC'),
    dispatched_time Nullable(DateTime64(3, 'UTC')),
    completed_time DateTime64(3, 'UTC'),
    kafka_partition UInt16,
    kafka_offset UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(completed_time)
ORDER BY (agent_id, completed_time, command_id)
TTL toDateTime(completed_time) + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
