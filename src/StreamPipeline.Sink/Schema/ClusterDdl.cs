using System.Text.RegularExpressions;

namespace StreamPipeline.Sink.Schema;

/// <summary>
/// The migrations for a replicated ClickHouse (<c>ClickHouse:Cluster</c>, issue 10 item 6): every DDL statement runs
/// <c>ON CLUSTER</c>, every MergeTree engine becomes its <c>Replicated*</c> twin (Keeper path
/// <see cref="ReplicaPath"/>, replica <c>{replica}</c>), and the deduplication window is the replicated one, in blocks
/// and in seconds, so the sink's replay tokens are remembered on every replica. Statements that only move data
/// (<c>INSERT ... SELECT</c>) are left as they are: they run on one replica and replicate.
/// </summary>
internal static partial class ClusterDdl
{
    /// <summary>Keeper path of every replicated table: the table's UUID (the same on every replica when created ON CLUSTER in an Atomic database) and the shard macro.</summary>
    public const string ReplicaPath = "/clickhouse/tables/{uuid}/{shard}";

    /// <summary><c>replicated_deduplication_window_seconds</c> of every table (ClickHouse's default); the sink checks it against <c>Sink:MaxUncommittedAge</c>.</summary>
    public const int WindowSeconds = 3600;

    /// <summary>A cluster name as <c>remote_servers</c> spells it.</summary>
    public static bool IsValidName(string name) => ClusterName().IsMatch(name);

    /// <summary>The statement for <paramref name="cluster"/>; unchanged when <paramref name="cluster"/> is null or empty.</summary>
    public static string Rewrite(string statement, string? cluster)
    {
        if (string.IsNullOrEmpty(cluster)) return statement;
        var on = $" ON CLUSTER '{cluster}'";
        var target = Target().IsMatch(statement) ? Target() : Exchange();
        var sql = target.Replace(statement, m => m.Value + on, 1);
        sql = Engine().Replace(sql, m =>
        {
            var args = m.Groups[2].Success && m.Groups[2].Value.Trim().Length > 0 ? ", " + m.Groups[2].Value.Trim() : "";
            return $"ENGINE = Replicated{m.Groups[1].Value}('{ReplicaPath}', '{{replica}}'{args})";
        });
        return Window().Replace(sql, m => $"replicated_deduplication_window = {m.Groups[1].Value}, replicated_deduplication_window_seconds = {WindowSeconds}");
    }

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ClusterName();

    /// <summary>The object a DDL statement acts on, up to where ON CLUSTER goes.</summary>
    [GeneratedRegex(@"^\s*(?:CREATE (?:TABLE|MATERIALIZED VIEW|VIEW|DATABASE) IF NOT EXISTS|ALTER TABLE|DROP TABLE(?: IF EXISTS)?|TRUNCATE TABLE(?: IF EXISTS)?) [A-Za-z0-9_.{}]+")]
    private static partial Regex Target();

    [GeneratedRegex(@"^\s*EXCHANGE TABLES [A-Za-z0-9_.{}]+ AND [A-Za-z0-9_.{}]+")]
    private static partial Regex Exchange();

    [GeneratedRegex(@"ENGINE = (MergeTree|AggregatingMergeTree|ReplacingMergeTree|SummingMergeTree|CollapsingMergeTree)\b(?:\(([^)]*)\))?")]
    private static partial Regex Engine();

    [GeneratedRegex(@"\bnon_replicated_deduplication_window\s*=\s*(\d+)")]
    private static partial Regex Window();
}
