-- The sink fills dead_letters (issue 13): its own dead letters in the same insert as their batch, and the connector's
-- from agent-metrics-dlq. Who sent it (agent_id, from the authenticated session or the record key), which connector
-- refused it (connector stage), and where the copy of the record sits in its dead-letter topic. Only the headers are
-- kept here, never the record's bytes (a frame may carry a credential: the connector redacts those in its topic).
-- Stage 'connector': source_topic is '' (the frame never reached Kafka), source_partition/offset are 0.
ALTER TABLE {database}.dead_letters
    ADD COLUMN IF NOT EXISTS agent_id String AFTER stage,
    ADD COLUMN IF NOT EXISTS connector_id LowCardinality(String) AFTER agent_id,
    ADD COLUMN IF NOT EXISTS dead_letter_partition UInt32 AFTER dead_letter_topic,
    ADD COLUMN IF NOT EXISTS dead_letter_offset UInt64 AFTER dead_letter_partition;
