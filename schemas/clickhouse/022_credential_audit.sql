-- One row per issue and revoke of an agent token (issue 11 item 5), loaded by the sink from the credential-audit topic
-- that spctl tokens writes before it changes agent-credentials: who (actor, tool, host) did what (action) to which
-- agent, and when (event_time, the clock of the machine spctl ran on). Never the token nor its hash. No TTL: an audit
-- trail is kept until it is deleted on purpose (the topic keeps it 90 days).
CREATE TABLE IF NOT EXISTS {database}.credential_audit
(
    event_id String,
    action LowCardinality(String),
    agent_id String,
    actor LowCardinality(String),
    tool LowCardinality(String),
    host LowCardinality(String),
    event_time DateTime64(3, 'UTC'),
    kafka_partition UInt16,
    kafka_offset UInt64,
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(event_time)
ORDER BY (agent_id, event_time, event_id)
SETTINGS non_replicated_deduplication_window = 10000;
