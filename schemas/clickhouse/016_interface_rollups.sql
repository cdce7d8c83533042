-- Per-interface network throughput per agent per minute / hour (dashboard: Agent detail "Network by interface"), kept
-- by materialized views from metrics_interfaces. Read with sum(samples), avgMerge(...), max(...) grouped by agent_id,
-- name and minute/hour. Rows loaded before this migration are not rolled up.
CREATE TABLE IF NOT EXISTS {database}.metrics_interfaces_1m
(
    agent_id LowCardinality(String),
    name LowCardinality(String),
    minute DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    upload_avg AggregateFunction(avg, Float64),
    upload_max SimpleAggregateFunction(max, Float64),
    download_avg AggregateFunction(avg, Float64),
    download_max SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (agent_id, name, minute)
TTL minute + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_interfaces_1m_mv TO {database}.metrics_interfaces_1m AS
SELECT
    agent_id,
    name,
    toStartOfMinute(agent_time) AS minute,
    count() AS samples,
    avgState(upload_speed_mbps) AS upload_avg,
    max(upload_speed_mbps) AS upload_max,
    avgState(download_speed_mbps) AS download_avg,
    max(download_speed_mbps) AS download_max
FROM {database}.metrics_interfaces
GROUP BY agent_id, name, minute;

CREATE TABLE IF NOT EXISTS {database}.metrics_interfaces_1h
(
    agent_id LowCardinality(String),
    name LowCardinality(String),
    hour DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    upload_avg AggregateFunction(avg, Float64),
    upload_max SimpleAggregateFunction(max, Float64),
    download_avg AggregateFunction(avg, Float64),
    download_max SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (agent_id, name, hour)
TTL hour + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_interfaces_1h_mv TO {database}.metrics_interfaces_1h AS
SELECT
    agent_id,
    name,
    toStartOfHour(agent_time) AS hour,
    count() AS samples,
    avgState(upload_speed_mbps) AS upload_avg,
    max(upload_speed_mbps) AS upload_max,
    avgState(download_speed_mbps) AS download_avg,
    max(download_speed_mbps) AS download_max
FROM {database}.metrics_interfaces
GROUP BY agent_id, name, hour;
