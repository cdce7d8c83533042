-- Current state per agent, kept by two materialized views (from metrics_samples and agent_presence).
-- Read it through the view agent_current (or GROUP BY agent_id with the -Merge functions yourself).
CREATE TABLE IF NOT EXISTS {database}.agent_state
(
    agent_id LowCardinality(String),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    last_sample_time SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    samples SimpleAggregateFunction(sum, UInt64),
    connector_id AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), UInt64)),
    cpu_usage_percent AggregateFunction(argMax, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    ram_usage_percent AggregateFunction(argMax, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    ram_used_gb AggregateFunction(argMax, Float64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    uptime_seconds AggregateFunction(argMax, Int64, Tuple(DateTime64(3, 'UTC'), UInt64)),
    online AggregateFunction(argMax, UInt8, Tuple(Int64, UInt8, UInt64)),
    presence_connector_id AggregateFunction(argMax, String, Tuple(Int64, UInt8, UInt64)),
    last_presence_time SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY agent_id
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.agent_state_from_metrics TO {database}.agent_state AS
SELECT
    agent_id,
    max(received_time) AS last_seen,
    max(agent_time) AS last_sample_time,
    count() AS samples,
    argMaxState(toString(connector_id), (agent_time, kafka_offset)) AS connector_id,
    argMaxState(cpu_usage_percent, (agent_time, kafka_offset)) AS cpu_usage_percent,
    argMaxState(ram_usage_percent, (agent_time, kafka_offset)) AS ram_usage_percent,
    argMaxState(ram_used_gb, (agent_time, kafka_offset)) AS ram_used_gb,
    argMaxState(uptime_seconds, (agent_time, kafka_offset)) AS uptime_seconds
FROM {database}.metrics_samples
GROUP BY agent_id;

-- A newer session (higher epoch) wins; within one session DISCONNECTED (rank 1) comes after CONNECTED (rank 0).
CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.agent_state_from_presence TO {database}.agent_state AS
SELECT
    agent_id,
    max(event_time) AS last_seen,
    argMaxState(toUInt8(status = 'CONNECTED'), (epoch, toUInt8(status = 'DISCONNECTED'), kafka_offset)) AS online,
    argMaxState(toString(connector_id), (epoch, toUInt8(status = 'DISCONNECTED'), kafka_offset)) AS presence_connector_id,
    max(event_time) AS last_presence_time
FROM {database}.agent_presence
GROUP BY agent_id;

CREATE VIEW IF NOT EXISTS {database}.agent_current AS
SELECT
    agent_id,
    max(last_seen) AS last_seen,
    max(last_sample_time) AS last_sample_time,
    sum(samples) AS samples,
    argMaxMerge(online) = 1 AS online,
    if(argMaxMerge(presence_connector_id) != '', argMaxMerge(presence_connector_id), argMaxMerge(connector_id)) AS connector_id,
    argMaxMerge(cpu_usage_percent) AS cpu_usage_percent,
    argMaxMerge(ram_usage_percent) AS ram_usage_percent,
    argMaxMerge(ram_used_gb) AS ram_used_gb,
    argMaxMerge(uptime_seconds) AS uptime_seconds,
    max(last_presence_time) AS last_presence_time
FROM {database}.agent_state
GROUP BY agent_id;
