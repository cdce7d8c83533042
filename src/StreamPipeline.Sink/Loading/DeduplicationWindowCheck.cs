using System.Globalization;
using System.Text.RegularExpressions;
using ClickHouse.Driver;
using ClickHouse.Driver.ADO.Parameters;
using ClickHouse.Driver.Utility;

namespace StreamPipeline.Sink.Loading;

/// <summary>
/// At start: every MergeTree table the sink's inserts reach (its own tables and the materialized-view targets, i.e.
/// every MergeTree table of the database but the bookkeeping ones) must remember at least as many insert tokens as
/// the sink may need to replay (<c>Sink:MaxUncommittedBatches</c> + <c>Sink:MaxConcurrentInserts</c>), and for
/// Replicated* engines for at least <c>Sink:MaxUncommittedAge</c>. Otherwise a replay after a crash could insert
/// twice: refuse to start, naming the table and the setting.
/// </summary>
internal static partial class DeduplicationWindowCheck
{
    private static readonly string[] Bookkeeping = ["schema_migrations", "sink_batches"];

    /// <summary>Every problem found (empty when all tables are fine).</summary>
    public static async Task<IReadOnlyList<string>> ProblemsAsync(ClickHouseClient client, SinkOptions options, CancellationToken cancellationToken)
    {
        var defaults = new Dictionary<string, long>(StringComparer.Ordinal);
        using (var reader = await client.ExecuteReaderAsync(
            "SELECT name, value FROM system.merge_tree_settings WHERE name IN ('non_replicated_deduplication_window', 'replicated_deduplication_window', 'replicated_deduplication_window_seconds')",
            cancellationToken: cancellationToken))
        {
            while (reader.Read()) defaults[reader.GetString(0)] = long.Parse(reader.GetString(1), CultureInfo.InvariantCulture);
        }

        var needed = (long)options.MaxUncommittedBatches + options.MaxConcurrentInserts;
        var problems = new List<string>();
        var parameters = new ClickHouseParameterCollection();
        parameters.AddParameter("db", options.Database);
        using (var reader = await client.ExecuteReaderAsync(
            "SELECT name, engine, engine_full FROM system.tables WHERE database = {db:String} AND engine LIKE '%MergeTree' ORDER BY name",
            parameters, cancellationToken: cancellationToken))
        {
            while (reader.Read())
            {
                var (table, engine, full) = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
                // Tables kept by migration 008 with the rows as they were: nothing inserts into them.
                if (Array.IndexOf(Bookkeeping, table) >= 0 || table.EndsWith("_pre008", StringComparison.Ordinal)) continue;
                var settings = new Dictionary<string, long>(defaults, StringComparer.Ordinal);
                foreach (Match m in Setting().Matches(full)) settings[m.Groups[1].Value] = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                var replicated = engine.StartsWith("Replicated", StringComparison.Ordinal) || engine.StartsWith("Shared", StringComparison.Ordinal);
                var name = replicated ? "replicated_deduplication_window" : "non_replicated_deduplication_window";
                var window = settings.GetValueOrDefault(name);
                if (window < needed)
                {
                    problems.Add($"Table {options.Database}.{table} has {name} = {window}, below the {needed} batches the sink may replay " +
                        $"(Sink:MaxUncommittedBatches {options.MaxUncommittedBatches} + Sink:MaxConcurrentInserts {options.MaxConcurrentInserts}): " +
                        $"run ALTER TABLE {options.Database}.{table} MODIFY SETTING {name} = 10000, or lower Sink:MaxUncommittedBatches.");
                }

                var seconds = settings.GetValueOrDefault("replicated_deduplication_window_seconds");
                if (replicated && seconds < options.MaxUncommittedAge.TotalSeconds)
                {
                    problems.Add($"Table {options.Database}.{table} has replicated_deduplication_window_seconds = {seconds}, shorter than Sink:MaxUncommittedAge ({options.MaxUncommittedAge}): " +
                        $"raise the table setting (ALTER TABLE {options.Database}.{table} MODIFY SETTING replicated_deduplication_window_seconds = 3600) or lower Sink:MaxUncommittedAge.");
                }
            }
        }

        return problems;
    }

    [GeneratedRegex(@"\b((?:non_)?replicated_deduplication_window(?:_seconds)?)\s*=\s*(\d+)")]
    private static partial Regex Setting();
}
