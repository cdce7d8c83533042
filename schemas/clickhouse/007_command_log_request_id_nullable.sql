-- command-result.avsc has request_id ["null","long"]: null when nothing was sent (rejected, expired before sending).
ALTER TABLE {database}.command_log MODIFY COLUMN request_id Nullable(UInt64);
