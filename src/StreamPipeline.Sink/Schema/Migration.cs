using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StreamPipeline.Sink.Schema;

/// <summary>One statement of a migration; <paramref name="When"/>, if set, is a query that must return 1 for it to run.</summary>
internal sealed record MigrationStep(string Sql, string? When);

/// <summary>What the placeholders of the migrations are filled with (from <see cref="SinkOptions"/>).</summary>
internal sealed record MigrationSettings(string Database, int RawTtlDays, int RollupTtlDays)
{
    /// <summary>Fills <c>{max_clock_skew_ms}</c>: rows copied by 008 are marked <c>clock_skewed</c> with it.</summary>
    public TimeSpan MaxClockSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Apply migrations up to this version only (tests of an upgrade from an older schema).</summary>
    public int MaxVersion { get; init; } = int.MaxValue;

    /// <summary>
    /// <c>ClickHouse:Cluster</c>: when set, every statement runs ON CLUSTER with Replicated* engines
    /// (<see cref="ClusterDdl"/>); null or empty for one server (the statements exactly as the files say).
    /// </summary>
    public string? Cluster { get; init; }

    /// <summary>TTL in days per table, as the settings say; the runner makes the tables agree (<c>ALTER TABLE ... MODIFY TTL</c>).</summary>
    public IReadOnlyDictionary<string, int>? TableTtlDays { get; init; }

    public static MigrationSettings From(SinkOptions options, string? cluster = null) => new(options.Database, options.RawTtlDays, options.RollupTtlDays)
    {
        MaxClockSkew = options.MaxClockSkew,
        Cluster = string.IsNullOrWhiteSpace(cluster) ? null : cluster,
        TableTtlDays = new Dictionary<string, int>(StringComparer.Ordinal)
        {
            ["metrics_samples"] = options.RawTtlDays,
            ["metrics_disks"] = options.RawTtlDays,
            ["metrics_interfaces"] = options.RawTtlDays,
            ["sink_batches"] = options.RawTtlDays,
            ["metrics_1m"] = options.Metrics1mTtlDays ?? options.RollupTtlDays,
            ["metrics_1h"] = options.Metrics1hTtlDays ?? options.RollupTtlDays,
            ["agent_presence"] = options.PresenceTtlDays ?? options.RollupTtlDays,
            ["command_log"] = options.CommandLogTtlDays ?? options.RollupTtlDays,
        },
    };
}

/// <summary>One file of schemas/clickhouse (<c>NNN_name.sql</c>), embedded in the sink.</summary>
/// <param name="Version">The number before the underscore; migrations run in this order.</param>
/// <param name="Name">The rest of the file name.</param>
/// <param name="Sql">The file text, with <c>{database}</c>, <c>{raw_ttl_days}</c> and <c>{rollup_ttl_days}</c> placeholders.</param>
internal sealed record Migration(int Version, string Name, string Sql)
{
    private const string ResourcePrefix = "StreamPipeline.Sink.Migrations.";

    /// <summary>SHA-256 of the file text (before placeholders are filled), so a TTL change is not a changed migration.</summary>
    public string Checksum { get; } = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Sql)));

    /// <summary>The statements of the file with the placeholders filled, one per <c>;</c> at the end of a line.</summary>
    public IReadOnlyList<string> Statements(string database, int rawTtlDays, int rollupTtlDays) =>
        Steps(new MigrationSettings(database, rawTtlDays, rollupTtlDays)).Select(s => s.Sql).ToList();

    /// <summary>
    /// The statements with the placeholders filled. A statement preceded by a line <c>-- when: SELECT ...</c> runs only
    /// when that query returns 1: how a migration that moves data (CREATE, copy, EXCHANGE) stays safe to run again
    /// after a crash in the middle.
    /// </summary>
    public IReadOnlyList<MigrationStep> Steps(MigrationSettings settings)
    {
        var text = Sql
            .Replace("{database}", settings.Database, StringComparison.Ordinal)
            .Replace("{raw_ttl_days}", settings.RawTtlDays.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{rollup_ttl_days}", settings.RollupTtlDays.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{max_clock_skew_ms}", ((long)settings.MaxClockSkew.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var steps = new List<MigrationStep>();
        var current = new StringBuilder();
        string? when = null;
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            var start = line.TrimStart();
            if (current.Length == 0 && start.StartsWith("-- when:", StringComparison.Ordinal))
            {
                when = start["-- when:".Length..].Trim();
                continue;
            }

            if (current.Length == 0 && (line.Length == 0 || start.StartsWith("--", StringComparison.Ordinal))) continue;
            var trimmed = line.TrimEnd();
            if (trimmed.EndsWith(';'))
            {
                current.Append(trimmed.AsSpan(0, trimmed.Length - 1));
                steps.Add(new MigrationStep(ClusterDdl.Rewrite(current.ToString(), settings.Cluster), when));
                current.Clear();
                when = null;
            }
            else
            {
                current.Append(line).Append('\n');
            }
        }

        if (current.ToString().Trim().Length > 0) steps.Add(new MigrationStep(ClusterDdl.Rewrite(current.ToString(), settings.Cluster), when));
        return steps;
    }

    /// <summary>Every embedded migration, in version order.</summary>
    public static IReadOnlyList<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migration).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".sql", StringComparison.Ordinal)) continue;
            var fileName = resource[ResourcePrefix.Length..^4];
            var underscore = fileName.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(fileName.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
            {
                throw new InvalidOperationException($"Migration file '{fileName}.sql' is not named NNN_name.sql: rename it in schemas/clickhouse.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            migrations.Add(new Migration(version, fileName[(underscore + 1)..], reader.ReadToEnd()));
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
                throw new InvalidOperationException($"Two migrations have version {migrations[i].Version} ({migrations[i - 1].Name}, {migrations[i].Name}): give one a new number.");
        }

        return migrations;
    }
}
