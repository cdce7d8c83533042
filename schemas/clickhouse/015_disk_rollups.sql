-- Per-mount disk usage per agent per minute / hour (dashboards: Agent detail "Disk usage by mount", Fleet overview
-- "fullest disk"), kept by materialized views from metrics_disks. Read with sum(samples), avgMerge(...), max(...),
-- min(...) grouped by agent_id, mountpoint and minute/hour. Rows loaded before this migration are not rolled up.
CREATE TABLE IF NOT EXISTS {database}.metrics_disks_1m
(
    agent_id LowCardinality(String),
    mountpoint LowCardinality(String),
    minute DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    usage_avg AggregateFunction(avg, Float64),
    usage_max SimpleAggregateFunction(max, Float64),
    used_gb_avg AggregateFunction(avg, Float64),
    total_gb_max SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (agent_id, mountpoint, minute)
TTL minute + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_disks_1m_mv TO {database}.metrics_disks_1m AS
SELECT
    agent_id,
    mountpoint,
    toStartOfMinute(agent_time) AS minute,
    count() AS samples,
    avgState(usage_percent) AS usage_avg,
    max(usage_percent) AS usage_max,
    avgState(used_gb) AS used_gb_avg,
    max(total_gb) AS total_gb_max
FROM {database}.metrics_disks
GROUP BY agent_id, mountpoint, minute;

CREATE TABLE IF NOT EXISTS {database}.metrics_disks_1h
(
    agent_id LowCardinality(String),
    mountpoint LowCardinality(String),
    hour DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    usage_avg AggregateFunction(avg, Float64),
    usage_max SimpleAggregateFunction(max, Float64),
    used_gb_avg AggregateFunction(avg, Float64),
    total_gb_max SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (agent_id, mountpoint, hour)
TTL hour + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_disks_1h_mv TO {database}.metrics_disks_1h AS
SELECT
    agent_id,
    mountpoint,
    toStartOfHour(agent_time) AS hour,
    count() AS samples,
    avgState(usage_percent) AS usage_avg,
    max(usage_percent) AS usage_max,
    avgState(used_gb) AS used_gb_avg,
    max(total_gb) AS total_gb_max
FROM {database}.metrics_disks
GROUP BY agent_id, mountpoint, hour;
