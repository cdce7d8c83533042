-- Pipeline health per minute / hour of receive time, all agents together (dashboard: Pipeline health "Samples per
-- second" and "Freshness"): samples loaded, and freshness in milliseconds, backend (connector receive -> queryable,
-- inserted_at - received_time) and end to end (agent send -> queryable, inserted_at - agent_time, includes the agent's
-- clock offset). Read with sum(samples), avgMerge(...), max(...) grouped by minute/hour.
CREATE TABLE IF NOT EXISTS {database}.pipeline_1m
(
    minute DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    backend_ms_avg AggregateFunction(avg, Int64),
    backend_ms_max SimpleAggregateFunction(max, Int64),
    end_to_end_ms_avg AggregateFunction(avg, Int64),
    end_to_end_ms_max SimpleAggregateFunction(max, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY minute
TTL minute + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.pipeline_1m_mv TO {database}.pipeline_1m AS
SELECT
    toStartOfMinute(received_time) AS minute,
    count() AS samples,
    avgState(toInt64(dateDiff('millisecond', received_time, inserted_at))) AS backend_ms_avg,
    max(toInt64(dateDiff('millisecond', received_time, inserted_at))) AS backend_ms_max,
    avgState(toInt64(dateDiff('millisecond', agent_time, inserted_at))) AS end_to_end_ms_avg,
    max(toInt64(dateDiff('millisecond', agent_time, inserted_at))) AS end_to_end_ms_max
FROM {database}.metrics_samples
GROUP BY minute;

CREATE TABLE IF NOT EXISTS {database}.pipeline_1h
(
    hour DateTime('UTC'),
    samples SimpleAggregateFunction(sum, UInt64),
    backend_ms_avg AggregateFunction(avg, Int64),
    backend_ms_max SimpleAggregateFunction(max, Int64),
    end_to_end_ms_avg AggregateFunction(avg, Int64),
    end_to_end_ms_max SimpleAggregateFunction(max, Int64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY hour
TTL hour + INTERVAL {rollup_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.pipeline_1h_mv TO {database}.pipeline_1h AS
SELECT
    toStartOfHour(received_time) AS hour,
    count() AS samples,
    avgState(toInt64(dateDiff('millisecond', received_time, inserted_at))) AS backend_ms_avg,
    max(toInt64(dateDiff('millisecond', received_time, inserted_at))) AS backend_ms_max,
    avgState(toInt64(dateDiff('millisecond', agent_time, inserted_at))) AS end_to_end_ms_avg,
    max(toInt64(dateDiff('millisecond', agent_time, inserted_at))) AS end_to_end_ms_max
FROM {database}.metrics_samples
GROUP BY hour;
