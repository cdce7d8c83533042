-- The read-only dashboards user, for a ClickHouse managed with SQL (access_management = 1) instead of users.d files.
-- Same limits as users.d/dashboards.xml; replace the password. docs/dashboards.md.
CREATE SETTINGS PROFILE IF NOT EXISTS dashboards
    SETTINGS readonly = 1, max_execution_time = 30 MIN 1 MAX 60 CHANGEABLE_IN_READONLY,
             max_memory_usage = 4000000000, max_result_rows = 1000000, result_overflow_mode = 'break';
CREATE USER IF NOT EXISTS dashboards IDENTIFIED WITH sha256_password BY 'change-me' SETTINGS PROFILE dashboards;
GRANT SELECT ON streampipeline.* TO dashboards;
