using System.Globalization;
using ClickHouse.Driver;
using Microsoft.Extensions.Logging.Abstractions;
using StreamPipeline.Embedded.ClickHouse;
using StreamPipeline.LocalStack.FleetPage;
using StreamPipeline.Sink.Schema;

namespace StreamPipeline.LocalStack.Tests.Dashboards;

/// <summary>
/// The embedded ClickHouse with the sink's migrations and 31 days of generated fleet data ending now: four agents, a
/// sample every 10 s each, two mounts and two interfaces per sample, restarts every ~2.3 days, presence, commands and
/// dead letters. ag-1 and ag-2 are online, ag-3 is connected but went silent 5 minutes ago (stale), ag-4 disconnected.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    public const string Database = "dash";
    public const int Agents = 4;
    public const int StepSeconds = 10;
    public const int Days = 31;

    private const string Ok = """{"status":"ok"}""";

    private readonly string _dataPath = Path.Combine(Path.GetTempPath(), "sp-dash-tests-" + Guid.NewGuid().ToString("N"));
    private EmbeddedClickHouse _clickHouse = null!;
    private HttpClient _http = null!;

    /// <summary>End of the generated data (the test's start, to the second); the panels' ranges end here.</summary>
    public DateTimeOffset End { get; private set; }

    public ClickHouseClient Client { get; private set; } = null!;

    internal ClickHouseQueries Queries { get; private set; } = null!;

    internal DashboardCatalog Catalog { get; } = DashboardCatalog.Load(Path.Combine(AppContext.BaseDirectory, "FleetPage", "dashboards"));

    public string Url => _clickHouse.Url.ToString();

    /// <summary>For a service (the sink) pointed at this ClickHouse.</summary>
    public string ConnectionString => _clickHouse.ConnectionString;

    public async Task InitializeAsync()
    {
        _clickHouse = await EmbeddedClickHouse.StartAsync(new EmbeddedClickHouseOptions
        {
            Port = 0,
            DataPath = _dataPath,
            MaxServerMemoryBytes = 3L << 30,
            MarkCacheBytes = 64L << 20,
        });
        Client = new ClickHouseClient(_clickHouse.ConnectionString);
        _http = new HttpClient { BaseAddress = _clickHouse.Url, Timeout = TimeSpan.FromSeconds(60) };
        Queries = new ClickHouseQueries(_http, "default", "", TimeSpan.FromSeconds(30));
        // Raw TTL far out: the generated month must not expire while the tests run.
        await new MigrationRunner(Client, NullLogger.Instance).ApplyAsync(Database, rawTtlDays: 3650, rollupTtlDays: 3650, CancellationToken.None);
        End = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        await GenerateAsync();
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        _http.Dispose();
        await _clickHouse.DisposeAsync();
        try
        {
            Directory.Delete(_dataPath, recursive: true);
        }
        catch (IOException)
        {
            // The engine keeps files open until the process exits.
        }
    }

    /// <summary>A ClickHouse DateTime64 literal of a moment.</summary>
    public static string At(DateTimeOffset t) => string.Create(CultureInfo.InvariantCulture, $"fromUnixTimestamp64Milli({t.ToUnixTimeMilliseconds()})");

    private async Task GenerateAsync()
    {
        var db = Database;
        var samples = (long)Days * 86400 / StepSeconds;
        var start = End.AddSeconds(-(samples - 1) * StepSeconds);
        // ag-3 stops 5 minutes before the end (stale); the others send up to the end.
        var silentFrom = End.AddMinutes(-5);
        var rows = $"""
            SELECT
                number % {Agents} + 1 AS a,
                intDiv(number, {Agents}) AS n,
                {At(start)} + toIntervalSecond(n * {StepSeconds}) + toIntervalMillisecond(a * 37) AS t
            FROM numbers({samples * Agents})
            WHERE NOT (a = 3 AND t > {At(silentFrom)})
            """;
        await Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.metrics_samples (agent_id, connector_id, session_id, agent_time, received_time, cpu_usage_percent, ram_usage_percent,
                ram_used_gb, uptime_seconds, load_1m, load_5m, load_15m, disk_read_speed_mbps, disk_write_speed_mbps, disk_count, interface_count,
                kafka_partition, kafka_offset, inserted_at)
            SELECT concat('ag-', toString(a)), concat('edge-', toString(a % 2 + 1)), 's', t, t + toIntervalMillisecond(40 + n % 13),
                round(50 + 45 * sin(n / 97 + a), 3), round(40 + 30 * cos(n / 211 + a), 3), round(4 + 3 * cos(n / 211 + a), 3),
                toInt64((n * {StepSeconds} + a * 7777) % 200000), round(0.5 + 0.4 * sin(n / 53 + a), 3),
                if(n % 5 = 0, NULL, 0.4), if(n % 5 = 0, NULL, 0.3),
                if(n % 7 = 0, NULL, round(20 + 10 * sin(n / 31), 3)), round(5 + 4 * cos(n / 29 + a), 3), 2, 2,
                toUInt16(a), n, t + toIntervalMillisecond(140 + (n * 7 + a) % 900)
            FROM ({rows})
            """);
        await Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.metrics_disks (agent_id, agent_time, received_time, disk_index, device, mountpoint, fstype, total_gb, used_gb, usage_percent, kafka_partition, kafka_offset)
            SELECT concat('ag-', toString(a)), t, t + toIntervalMillisecond(40 + n % 13), d, concat('/dev/sd', toString(d)), if(d = 0, '/', '/data'), 'ext4', 100 * (d + 1),
                round((d + 1) * (30 + 20 * sin(n / 1009 + a + d)), 3), round(30 + 20 * sin(n / 1009 + a + d) + 10 * d, 3), toUInt16(a), n
            FROM ({rows}) ARRAY JOIN [0, 1] AS d
            """);
        await Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.metrics_interfaces (agent_id, agent_time, received_time, interface_index, name, mac, ipv4, ipv6, upload_speed_mbps, download_speed_mbps, kafka_partition, kafka_offset)
            SELECT concat('ag-', toString(a)), t, t + toIntervalMillisecond(40 + n % 13), i, if(i = 0, 'eth0', 'eth1'), '', '', '',
                round(10 + 8 * sin(n / 41 + a + i), 3), round(50 + 40 * cos(n / 43 + a + i), 3), toUInt16(a), n
            FROM ({rows}) ARRAY JOIN [0, 1] AS i
            """);
        await Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.agent_presence (agent_id, connector_id, session_id, epoch, status, reason, remote_address, event_time, connected_time, kafka_partition, kafka_offset)
            SELECT concat('ag-', toString(a)), concat('edge-', toString(a % 2 + 1)), 's', 1, 'CONNECTED', 'authenticated', '127.0.0.1', {At(start)}, {At(start)}, 0, a
            FROM (SELECT arrayJoin([1, 2, 3, 4]) AS a)
            """);
        await Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.agent_presence (agent_id, connector_id, session_id, epoch, status, reason, remote_address, event_time, connected_time, kafka_partition, kafka_offset)
            VALUES ('ag-4', 'edge-1', 's', 1, 'DISCONNECTED', 'agent closed', '127.0.0.1', {At(End.AddSeconds(-1))}, {At(start)}, 0, 10)
            """);
        // One command result every 10 minutes per agent, statuses in turn; dead letters every 7 minutes, three reasons.
        await Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.command_log (command_id, agent_id, action, request_id, status, response_json, error, connector_id, created_time, dispatched_time, completed_time, kafka_partition, kafka_offset)
            SELECT concat('c-', toString(number)), concat('ag-', toString(number % {Agents} + 1)), 'get-server-info', number,
                ['OK', 'OK', 'OK', 'ERROR', 'TIMEOUT', 'EXPIRED', 'REJECTED'][number % 7 + 1], '{Ok}', '', 'edge-1',
                {At(start)} + toIntervalSecond(intDiv(number, {Agents}) * 600), NULL,
                {At(start)} + toIntervalSecond(intDiv(number, {Agents}) * 600) + toIntervalMillisecond(100 + number % 1900), 0, number
            FROM numbers({Days * 144 * Agents})
            """);
        await Client.ExecuteNonQueryAsync($"""
            INSERT INTO {db}.dead_letters (stage, source_topic, source_partition, source_offset, dead_letter_topic, reason, error, dead_lettered_time)
            SELECT if(number % 2 = 0, 'sink', 'connector'), 'agent-metrics', number % 6, number, 'agent-metrics-sink-dlq',
                ['schema-unknown', 'decode-error', 'too-large'][number % 3 + 1], 'generated', {At(start)} + toIntervalSecond(number * 420)
            FROM numbers({Days * 86400 / 420})
            """);

        // A long-lived server merges a rollup's parts in the background; merge them now so rows read are what they would be.
        foreach (var table in new[] { "metrics_1m", "metrics_1h", "metrics_disks_1m", "metrics_disks_1h", "metrics_interfaces_1m", "metrics_interfaces_1h", "metrics_uptime_1m", "metrics_uptime_1h", "pipeline_1m", "pipeline_1h" })
        {
            await Client.ExecuteNonQueryAsync($"OPTIMIZE TABLE {db}.{table} FINAL");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardCollection : ICollectionFixture<DashboardFixture>
{
    public const string Name = "dashboards";
}
