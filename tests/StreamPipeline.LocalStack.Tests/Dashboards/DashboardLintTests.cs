using System.Text.Json.Nodes;

namespace StreamPipeline.LocalStack.Tests.Dashboards;

/// <summary>The shipped dashboards follow the plugin's conventions; each rule is shown to catch its breach.</summary>
public sealed class DashboardLintTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "FleetPage", "dashboards");

    public static TheoryData<string> Dashboards => new(Files());

    [Fact]
    public void ShippedDashboards_Folder_AreTheThreeOfTheIssue()
    {
        Assert.Equal(["agent-detail.json", "fleet-overview.json", "pipeline-health.json"], Files());
        var uids = Directory.GetFiles(Folder, "*.json").Select(f => (string?)Load(Path.GetFileName(f))["uid"]).ToList();
        Assert.Equal(uids.Count, uids.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void Check_ShippedDashboard_FollowsTheConventions(string file)
    {
        var errors = DashboardLint.Check(Load(file));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Theory]
    [InlineData("hard-coded datasource", "hard-coded datasource uid")]
    [InlineData("no inputs", "__inputs must declare")]
    [InlineData("bare table", "must name its table as ${database}.table")]
    [InlineData("hard-coded database", "the database is hard-coded")]
    [InlineData("unquoted agent", "write ${agent:singlequote}")]
    [InlineData("quoted agent", "a variable inside quotes")]
    [InlineData("no min interval", "needs a minimum interval")]
    [InlineData("rollup without floor", "buckets by at least a minute")]
    [InlineData("raw for every range", "reads raw metrics_samples for every range")]
    [InlineData("no time filter", "filters its range with $__timeFilter")]
    public void Check_BrokenDashboard_ReportsTheBreach(string breach, string expected)
    {
        var dashboard = Load("agent-detail.json");
        var cpu = dashboard["panels"]!.AsArray().Select(p => p!.AsObject()).Single(p => (int)p["id"]! == 1);
        var target = cpu["targets"]![0]!.AsObject();
        var sql = (string)target["rawSql"]!;
        switch (breach)
        {
            case "hard-coded datasource": target["datasource"] = new JsonObject { ["type"] = "grafana-clickhouse-datasource", ["uid"] = "P1234" }; break;
            case "no inputs": dashboard["__inputs"] = new JsonArray(); break;
            case "bare table": target["rawSql"] = sql.Replace("${database}.metrics_1h", "metrics_1h", StringComparison.Ordinal); break;
            case "hard-coded database": target["rawSql"] = sql.Replace("${database}.metrics_1h", "${database}.metrics_1h AS x JOIN streampipeline.metrics_1h AS y ON 1", StringComparison.Ordinal); break;
            case "unquoted agent": target["rawSql"] = sql.Replace("${agent:singlequote}", "$agent", StringComparison.Ordinal); break;
            case "quoted agent": target["rawSql"] = sql.Replace("${agent:singlequote}", "'${agent:singlequote}'", StringComparison.Ordinal); break;
            case "no min interval": cpu.Remove("interval"); break;
            case "rollup without floor": target["rawSql"] = sql.Replace("greatest($__interval_s, 60)", "$__interval_s", StringComparison.Ordinal); break;
            case "raw for every range": target["rawSql"] = sql[..sql.IndexOf("    UNION ALL", StringComparison.Ordinal)].Replace("FROM\n(", "FROM (", StringComparison.Ordinal).Replace("FROM (\n", "FROM\n", StringComparison.Ordinal) + ")"; break;
            case "no time filter": target["rawSql"] = sql.Replace("$__timeFilter(", "identity(", StringComparison.Ordinal); break;
        }

        var errors = DashboardLint.Check(dashboard);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    private static string[] Files() => Directory.GetFiles(Folder, "*.json").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToArray();

    private static JsonObject Load(string file) => JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, file)))!.AsObject();
}
