using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace StreamPipeline.LocalStack.Tests.Dashboards;

/// <summary>
/// The conventions of grafana-clickhouse-datasource's own dashboards, and ours on top, checked on a dashboard's JSON.
/// Returns every breach, each naming the panel and the fix.
/// </summary>
internal static partial class DashboardLint
{
    private const string Plugin = "grafana-clickhouse-datasource";
    private static readonly HashSet<string> BuiltInDatasources = ["grafana", "-- Grafana --", "-- Dashboard --", "-- Mixed --"];

    /// <summary>Variables whose value is a number and may stand bare in SQL.</summary>
    private static readonly HashSet<string> NumericVariables = ["sample_interval"];

    public static List<string> Check(JsonObject dashboard)
    {
        var errors = new List<string>();
        var title = (string?)dashboard["title"] ?? "(untitled)";
        if (string.IsNullOrEmpty((string?)dashboard["uid"])) errors.Add($"{title}: no uid (links and provisioning need a fixed one).");
        if ((string?)dashboard["id"] is not null) errors.Add($"{title}: id must be null (Grafana assigns it).");

        var inputs = dashboard["__inputs"]?.AsArray() ?? [];
        if (!inputs.Any(i => (string?)i?["type"] == "datasource" && (string?)i?["pluginId"] == Plugin))
            errors.Add($"{title}: __inputs must declare the ClickHouse data source (type datasource, pluginId {Plugin}) so an import asks for it.");
        var requires = dashboard["__requires"]?.AsArray() ?? [];
        if (!requires.Any(r => (string?)r?["type"] == "datasource" && (string?)r?["id"] == Plugin))
            errors.Add($"{title}: __requires must name the {Plugin} plugin.");

        var variables = dashboard["templating"]?["list"]?.AsArray().Select(v => v!.AsObject()).ToList() ?? [];
        var dsVar = variables.FirstOrDefault(v => (string?)v["name"] == "datasource");
        if (dsVar is null || (string?)dsVar["type"] != "datasource" || (string?)dsVar["query"] != Plugin)
            errors.Add($"{title}: needs a 'datasource' variable of type datasource for {Plugin}; every query names ${{datasource}}.");
        if (!variables.Any(v => (string?)v["name"] == "database"))
            errors.Add($"{title}: needs a 'database' variable; every table is written ${{database}}.table.");

        foreach (var uid in DatasourceUids(dashboard))
        {
            if (!uid.StartsWith("${", StringComparison.Ordinal) && !BuiltInDatasources.Contains(uid))
                errors.Add($"{title}: hard-coded datasource uid '{uid}': use ${{datasource}}.");
        }

        foreach (var variable in variables.Where(v => v["query"] is JsonValue && (string?)v["type"] == "query"))
            CheckSql(errors, $"{title} / variable {(string?)variable["name"]}", (string)variable["query"]!, variables, timeSeries: false);

        var ids = new HashSet<int>();
        foreach (var panel in dashboard["panels"]?.AsArray().Select(p => p!.AsObject()) ?? [])
        {
            var where = $"{title} / panel {(int?)panel["id"]} '{(string?)panel["title"]}'";
            if (panel["id"] is null || !ids.Add((int)panel["id"]!)) errors.Add($"{where}: missing or duplicate id (the fleet page finds panels by id).");
            if ((string?)panel["datasource"]?["uid"] != "${datasource}") errors.Add($"{where}: panel datasource must be ${{datasource}}.");
            var targets = panel["targets"]?.AsArray() ?? [];
            if (targets.Count != 1) errors.Add($"{where}: one query per panel (the fleet page runs it), found {targets.Count}.");
            var isTimeSeries = (string?)panel["type"] == "timeseries";
            if (isTimeSeries && string.IsNullOrEmpty((string?)panel["interval"]))
                errors.Add($"{where}: a time series needs a minimum interval ('interval', e.g. 10s) so buckets never get finer than the data.");
            if (isTimeSeries && panel["maxDataPoints"] is null)
                errors.Add($"{where}: set maxDataPoints so the interval is the same in Grafana and in the fleet page.");
            foreach (var target in targets.Select(t => t!.AsObject()))
            {
                if ((string?)target["datasource"]?["uid"] != "${datasource}") errors.Add($"{where}: query datasource must be ${{datasource}}.");
                if ((string?)target["queryType"] != "sql" || (string?)target["editorType"] != "sql")
                    errors.Add($"{where}: queryType and editorType must be 'sql' (raw SQL, not the builder).");
                if (isTimeSeries && (int?)target["format"] != 0) errors.Add($"{where}: a time series query has format 0 (time series).");
                if (string.IsNullOrEmpty((string?)target["refId"])) errors.Add($"{where}: query without refId.");
                var sql = (string?)target["rawSql"];
                if (string.IsNullOrWhiteSpace(sql)) errors.Add($"{where}: no rawSql.");
                else CheckSql(errors, where, sql, variables, isTimeSeries);
            }
        }

        return errors;
    }

    private static void CheckSql(List<string> errors, string where, string sql, List<JsonObject> variables, bool timeSeries)
    {
        foreach (Match m in TableReference().Matches(sql))
        {
            var target = m.Groups[2].Value;
            if (!target.StartsWith('(') && !target.StartsWith("${database}.", StringComparison.Ordinal))
                errors.Add($"{where}: '{m.Value.Trim()}' must name its table as ${{database}}.table.");
        }

        foreach (Match m in VariableReference().Matches(sql))
        {
            var name = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[3].Value;
            var format = m.Groups[2].Success ? m.Groups[2].Value : null;
            if (!variables.Any(v => (string?)v["name"] == name)) errors.Add($"{where}: ${name} is not a variable of the dashboard.");
            if (name == "database")
            {
                if (m.Value != "${database}" || sql.Length <= m.Index + m.Length || sql[m.Index + m.Length] != '.')
                    errors.Add($"{where}: the database variable is only used as ${{database}}.table.");
            }
            else if (!NumericVariables.Contains(name) && format != "singlequote")
            {
                errors.Add($"{where}: ${name} is a string: write ${{{name}:singlequote}} so Grafana quotes and escapes it.");
            }
        }

        if (sql.Contains("'$", StringComparison.Ordinal)) errors.Add($"{where}: a variable inside quotes: use ${{name:singlequote}} instead.");
        if (StreampipelineLiteral().IsMatch(sql)) errors.Add($"{where}: the database is hard-coded: use ${{database}}.");
        if (!timeSeries) return;

        if (!sql.Contains("$__timeFilter(", StringComparison.Ordinal)) errors.Add($"{where}: a time series filters its range with $__timeFilter(column).");
        var branches = sql.Split("UNION ALL");
        foreach (var branch in branches)
        {
            var table = TableReference().Matches(branch).Select(m => m.Groups[2].Value).FirstOrDefault(t => t.StartsWith("${database}.", StringComparison.Ordinal))?["${database}.".Length..];
            if (table is null) continue;
            if (table.EndsWith("_1m", StringComparison.Ordinal))
            {
                Require(errors, where, branch, "greatest($__interval_s, 60)", $"the {table} branch buckets by at least a minute");
                Require(errors, where, branch, "> 21600 AND dateDiff('second', $__fromTime, $__toTime) <= 604800", $"the {table} branch runs only for ranges over 6 h up to 7 days");
            }
            else if (table.EndsWith("_1h", StringComparison.Ordinal))
            {
                Require(errors, where, branch, "greatest($__interval_s, 3600)", $"the {table} branch buckets by at least an hour");
                Require(errors, where, branch, "dateDiff('second', $__fromTime, $__toTime) > 604800", $"the {table} branch runs only for ranges over 7 days");
            }
            else if (branches.Length > 1)
            {
                Require(errors, where, branch, "$__timeInterval(", $"the raw {table} branch buckets with $__timeInterval");
                Require(errors, where, branch, "dateDiff('second', $__fromTime, $__toTime) <= 21600", $"the raw {table} branch runs only for ranges up to 6 h");
            }
            else if (RawTables.Contains(table))
            {
                errors.Add($"{where}: reads raw {table} for every range: add the _1m and _1h branches (UNION ALL, gated on the range).");
            }
        }
    }

    /// <summary>Raw tables that have rollups: a time series over them must switch tables with the range.</summary>
    private static readonly HashSet<string> RawTables = ["metrics_samples", "metrics_disks", "metrics_interfaces"];

    private static void Require(List<string> errors, string where, string branch, string text, string why)
    {
        if (!branch.Contains(text, StringComparison.Ordinal)) errors.Add($"{where}: {why} (expected '{text}').");
    }

    private static IEnumerable<string> DatasourceUids(JsonNode? node)
    {
        switch (node)
        {
            case JsonArray array:
                foreach (var uid in array.SelectMany(DatasourceUids)) yield return uid;
                break;
            case JsonObject obj:
                if (obj["datasource"] is JsonObject ds && ds["uid"] is JsonValue uidValue) yield return (string)uidValue!;
                if (obj["datasource"] is JsonValue legacy && legacy.TryGetValue<string>(out var name)) yield return name;
                foreach (var (_, child) in obj)
                {
                    foreach (var uid in DatasourceUids(child)) yield return uid;
                }

                break;
        }
    }

    [GeneratedRegex(@"\b(FROM|JOIN)\s+(\(|[^\s,()]+)", RegexOptions.IgnoreCase)]
    private static partial Regex TableReference();

    [GeneratedRegex(@"\$\{(?!__)(\w+)(?::(\w+))?\}|\$(?!__)([A-Za-z]\w*)")]
    private static partial Regex VariableReference();

    [GeneratedRegex(@"\bstreampipeline\.", RegexOptions.IgnoreCase)]
    private static partial Regex StreampipelineLiteral();
}
