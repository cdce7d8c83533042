-- Uptime per agent per minute / hour (dashboard: Agent detail "Uptime" and "Restarts"). Uptime only grows between
-- restarts, so a bucket holds a restart when its smallest uptime is below its first one, and a restart fell between two
-- buckets when a bucket's first uptime is below the previous bucket's last. Kept by materialized views from
-- metrics_samples; read with sum(samples), min(uptime_min), max(uptime_max), argMinMerge(uptime_first),
-- argMaxMerge(uptime_last) grouped by agent_id and minute/hour.
CREATE TABLE IF NOT EXISTS {database}.metrics_uptime_1m
(
    agent_id LowCardinality(String),
    minute DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    uptime_min SimpleAggregateFunction(min, Int64),
    uptime_max SimpleAggregateFunction(max, Int64),
    uptime_first AggregateFunction(argMin, Int64, DateTime64(3, 'UTC')),
    uptime_last AggregateFunction(argMax, Int64, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (agent_id, minute)
TTL minute + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_uptime_1m_mv TO {database}.metrics_uptime_1m AS
SELECT
    agent_id,
    toStartOfMinute(agent_time) AS minute,
    count() AS samples,
    min(uptime_seconds) AS uptime_min,
    max(uptime_seconds) AS uptime_max,
    argMinState(uptime_seconds, agent_time) AS uptime_first,
    argMaxState(uptime_seconds, agent_time) AS uptime_last
FROM {database}.metrics_samples
GROUP BY agent_id, minute;

CREATE TABLE IF NOT EXISTS {database}.metrics_uptime_1h
(
    agent_id LowCardinality(String),
    hour DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    uptime_min SimpleAggregateFunction(min, Int64),
    uptime_max SimpleAggregateFunction(max, Int64),
    uptime_first AggregateFunction(argMin, Int64, DateTime64(3, 'UTC')),
    uptime_last AggregateFunction(argMax, Int64, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (agent_id, hour)
TTL hour + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.metrics_uptime_1h_mv TO {database}.metrics_uptime_1h AS
SELECT
    agent_id,
    toStartOfHour(agent_time) AS hour,
    count() AS samples,
    min(uptime_seconds) AS uptime_min,
    max(uptime_seconds) AS uptime_max,
    argMinState(uptime_seconds, agent_time) AS uptime_first,
    argMaxState(uptime_seconds, agent_time) AS uptime_last
FROM {database}.metrics_samples
GROUP BY agent_id, hour;
