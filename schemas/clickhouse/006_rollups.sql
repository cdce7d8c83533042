-- 1-minute and 1-hour aggregates per agent, kept by materialized views from metrics_samples.
-- Read with sum(samples), avgMerge(...), max(...), min(...) grouped by agent_id and minute/hour.
CREATE TABLE IF NOT EXISTS {database}.metrics_1m
(
    agent_id LowCardinality(String),
    minute DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    cpu_avg AggregateFunction(avg, Float64),
    cpu_max SimpleAggregateFunction(max, Float64),
    cpu_min SimpleAggregateFunction(min, Float64),
    ram_avg AggregateFunction(avg, Float64),
    ram_max SimpleAggregateFunction(max, Float64),
    ram_min SimpleAggregateFunction(min, Float64),
    ram_used_gb_avg AggregateFunction(avg, Float64),
    load_1m_avg AggregateFunction(avg, Nullable(Float64)),
    disk_read_mbps_avg AggregateFunction(avg, Nullable(Float64)),
    disk_write_mbps_avg AggregateFunction(avg, Nullable(Float64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (agent_id, minute)
TTL minute + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_1m_mv TO {database}.metrics_1m AS
SELECT
    agent_id,
    toStartOfMinute(agent_time) AS minute,
    count() AS samples,
    avgState(cpu_usage_percent) AS cpu_avg,
    max(cpu_usage_percent) AS cpu_max,
    min(cpu_usage_percent) AS cpu_min,
    avgState(ram_usage_percent) AS ram_avg,
    max(ram_usage_percent) AS ram_max,
    min(ram_usage_percent) AS ram_min,
    avgState(ram_used_gb) AS ram_used_gb_avg,
    avgState(load_1m) AS load_1m_avg,
    avgState(disk_read_speed_mbps) AS disk_read_mbps_avg,
    avgState(disk_write_speed_mbps) AS disk_write_mbps_avg
FROM {database}.metrics_samples
GROUP BY agent_id, minute;

CREATE TABLE IF NOT EXISTS {database}.metrics_1h
(
    agent_id LowCardinality(String),
    hour DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    cpu_avg AggregateFunction(avg, Float64),
    cpu_max SimpleAggregateFunction(max, Float64),
    cpu_min SimpleAggregateFunction(min, Float64),
    ram_avg AggregateFunction(avg, Float64),
    ram_max SimpleAggregateFunction(max, Float64),
    ram_min SimpleAggregateFunction(min, Float64),
    ram_used_gb_avg AggregateFunction(avg, Float64),
    load_1m_avg AggregateFunction(avg, Nullable(Float64)),
    disk_read_mbps_avg AggregateFunction(avg, Nullable(Float64)),
    disk_write_mbps_avg AggregateFunction(avg, Nullable(Float64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (agent_id, hour)
TTL hour + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_1h_mv TO {database}.metrics_1h AS
SELECT
    agent_id,
    toStartOfHour(agent_time) AS hour,
    count() AS samples,
    avgState(cpu_usage_percent) AS cpu_avg,
    max(cpu_usage_percent) AS cpu_max,
    min(cpu_usage_percent) AS cpu_min,
    avgState(ram_usage_percent) AS ram_avg,
    max(ram_usage_percent) AS ram_max,
    min(ram_usage_percent) AS ram_min,
    avgState(ram_used_gb) AS ram_used_gb_avg,
    avgState(load_1m) AS load_1m_avg,
    avgState(disk_read_speed_mbps) AS disk_read_mbps_avg,
    avgState(disk_write_speed_mbps) AS disk_write_mbps_avg
FROM {database}.metrics_samples
GROUP BY agent_id, hour;
