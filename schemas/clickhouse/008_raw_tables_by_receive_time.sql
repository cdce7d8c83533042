-- Raw tables partitioned and expired by the time the connector RECEIVED the sample, not by the agent's clock
-- (issue 9): one agent stamping samples days apart made a partition per sample, and a catch-up batch over more than
-- 100 days failed with TOO_MANY_PARTS. agent_time stays a column (and the ORDER BY); clock_skewed marks samples whose
-- agent clock was more than Sink:MaxClockSkew away from the receive time.
--
-- ClickHouse cannot change a table's PARTITION BY, so each table is rebuilt and the data kept: create the new
-- layout as <table>_pre008, copy every row into it, EXCHANGE the two (materialized views follow the name, so the
-- rollups keep reading metrics_samples and the copy does not count twice). <table>_pre008 then holds the rows as
-- they were (it is dropped when empty, i.e. on a fresh install); drop it yourself once you are satisfied. Every step
-- is guarded (-- when:) so a crash in the middle is repaired by the next run. Rows an older sink instance inserts
-- between the copy and the exchange stay in <table>_pre008 only: apply this migration with the other sinks stopped.
-- Rows of metrics_disks / metrics_interfaces loaded before this migration get received_time = agent_time.

CREATE TABLE IF NOT EXISTS {database}.metrics_samples_pre008
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
    -- The agent's clock was more than Sink:MaxClockSkew away from received_time.
    clock_skewed Bool DEFAULT false,
    kafka_partition UInt16,
    kafka_offset UInt64,
    inserted_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(received_time)
ORDER BY (agent_id, agent_time)
TTL toDateTime(received_time) + INTERVAL {raw_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_samples' AND partition_key NOT LIKE '%received_time%'
TRUNCATE TABLE {database}.metrics_samples_pre008;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_samples' AND partition_key NOT LIKE '%received_time%'
INSERT INTO {database}.metrics_samples_pre008 (agent_id, connector_id, session_id, agent_time, received_time, cpu_usage_percent, ram_usage_percent, ram_used_gb, uptime_seconds, load_1m, load_5m, load_15m, disk_read_speed_mbps, disk_write_speed_mbps, disk_count, interface_count, kafka_partition, kafka_offset, inserted_at, clock_skewed)
SELECT agent_id, connector_id, session_id, agent_time, received_time, cpu_usage_percent, ram_usage_percent, ram_used_gb, uptime_seconds, load_1m, load_5m, load_15m, disk_read_speed_mbps, disk_write_speed_mbps, disk_count, interface_count, kafka_partition, kafka_offset, inserted_at, abs(toUnixTimestamp64Milli(agent_time) - toUnixTimestamp64Milli(received_time)) > {max_clock_skew_ms}
FROM {database}.metrics_samples
SETTINGS max_partitions_per_insert_block = 0, insert_deduplicate = 0;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_samples' AND partition_key NOT LIKE '%received_time%'
EXCHANGE TABLES {database}.metrics_samples AND {database}.metrics_samples_pre008;

-- when: SELECT count() = 0 FROM {database}.metrics_samples_pre008
DROP TABLE IF EXISTS {database}.metrics_samples_pre008;

CREATE TABLE IF NOT EXISTS {database}.metrics_disks_pre008
(
    agent_id LowCardinality(String),
    agent_time DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
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
PARTITION BY toYYYYMMDD(received_time)
ORDER BY (agent_id, mountpoint, agent_time)
TTL toDateTime(received_time) + INTERVAL {raw_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_disks' AND partition_key NOT LIKE '%received_time%'
TRUNCATE TABLE {database}.metrics_disks_pre008;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_disks' AND partition_key NOT LIKE '%received_time%'
INSERT INTO {database}.metrics_disks_pre008 (agent_id, agent_time, disk_index, device, mountpoint, fstype, total_gb, used_gb, usage_percent, kafka_partition, kafka_offset, received_time)
SELECT agent_id, agent_time, disk_index, device, mountpoint, fstype, total_gb, used_gb, usage_percent, kafka_partition, kafka_offset, agent_time
FROM {database}.metrics_disks
SETTINGS max_partitions_per_insert_block = 0, insert_deduplicate = 0;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_disks' AND partition_key NOT LIKE '%received_time%'
EXCHANGE TABLES {database}.metrics_disks AND {database}.metrics_disks_pre008;

-- when: SELECT count() = 0 FROM {database}.metrics_disks_pre008
DROP TABLE IF EXISTS {database}.metrics_disks_pre008;

CREATE TABLE IF NOT EXISTS {database}.metrics_interfaces_pre008
(
    agent_id LowCardinality(String),
    agent_time DateTime64(3, 'UTC'),
    received_time DateTime64(3, 'UTC'),
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
PARTITION BY toYYYYMMDD(received_time)
ORDER BY (agent_id, name, agent_time)
TTL toDateTime(received_time) + INTERVAL {raw_ttl_days} DAY
SETTINGS non_replicated_deduplication_window = 10000;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_interfaces' AND partition_key NOT LIKE '%received_time%'
TRUNCATE TABLE {database}.metrics_interfaces_pre008;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_interfaces' AND partition_key NOT LIKE '%received_time%'
INSERT INTO {database}.metrics_interfaces_pre008 (agent_id, agent_time, interface_index, name, mac, ipv4, ipv6, upload_speed_mbps, download_speed_mbps, kafka_partition, kafka_offset, received_time)
SELECT agent_id, agent_time, interface_index, name, mac, ipv4, ipv6, upload_speed_mbps, download_speed_mbps, kafka_partition, kafka_offset, agent_time
FROM {database}.metrics_interfaces
SETTINGS max_partitions_per_insert_block = 0, insert_deduplicate = 0;

-- when: SELECT count() FROM system.tables WHERE database = '{database}' AND name = 'metrics_interfaces' AND partition_key NOT LIKE '%received_time%'
EXCHANGE TABLES {database}.metrics_interfaces AND {database}.metrics_interfaces_pre008;

-- when: SELECT count() = 0 FROM {database}.metrics_interfaces_pre008
DROP TABLE IF EXISTS {database}.metrics_interfaces_pre008;
