-- One row per metrics sample (topic agent-metrics, Avro streampipeline.v1.MetricsSample).
CREATE TABLE IF NOT EXISTS {database}.metrics_samples
(
    agent_id LowCardinality(String),
    connector_id LowCardinality(String),
    session_id String,
    agent_time DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
    cpu_usage_percent Float64,
    ram_usage_percent Float64,
    ram_used_gb Float64,
    uptime_seconds Int64,
    load_1m Nullable(Float64),
    load_5m Nullable(Float64),
    load_15m Nullable(Float64),
    disk_read_speed_mbps Nullable(Float64),
    disk_write_speed_mbps Nullable(Float64),
    disk_count UInt16,
    interface_count UInt16,
    kafka_partition UInt16,
    kafka_offset UInt64,
    -- When the row became queryable (set by ClickHouse; a replayed, deduplicated block keeps the first time).
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(agent_time)
ORDER BY (agent_id, agent_time)
TTL toDateTime(agent_time) + INTERVAL {raw_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- One row per mounted file system per sample.
CREATE TABLE IF NOT EXISTS {database}.metrics_disks
(
    agent_id LowCardinality(String),
    agent_time DateTime64(3, 'UTC'),
    disk_index UInt16,
    device LowCardinality(String),
    mountpoint LowCardinality(String),
    fstype LowCardinality(String),
    total_gb Float64,
    used_gb Float64,
    usage_percent Float64,
    kafka_partition UInt16,
    kafka_offset UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(agent_time)
ORDER BY (agent_id, mountpoint, agent_time)
TTL toDateTime(agent_time) + INTERVAL {raw_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- One row per network interface per sample.
CREATE TABLE IF NOT EXISTS {database}.metrics_interfaces
(
    agent_id LowCardinality(String),
    agent_time DateTime64(3, 'UTC'),
    interface_index UInt16,
    name LowCardinality(String),
    mac String,
    ipv4 String,
    ipv6 String,
    upload_speed_mbps Float64,
    download_speed_mbps Float64,
    kafka_partition UInt16,
    kafka_offset UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(agent_time)
ORDER BY (agent_id, name, agent_time)
TTL toDateTime(agent_time) + INTERVAL {raw_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;
