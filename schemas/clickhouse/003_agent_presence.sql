-- Presence history: every connected / disconnected event (topic agent-presence, Avro streampipeline.v1.AgentPresence).
CREATE TABLE IF NOT EXISTS {database}.agent_presence
(
    agent_id LowCardinality(String),
    connector_id LowCardinality(String),
    session_id String,
    epoch Int64,
    status LowCardinality(String),
    reason String,
    remote_address String,
    event_time DateTime64(3, 'UTC'),
    connected_time DateTime64(3, 'UTC'),
    kafka_partition UInt16,
    kafka_offset UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (agent_id, event_time)
TTL toDateTime(event_time) + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
