using System.Text.Json;

namespace StreamPipeline.LocalStack.FleetPage;

/// <summary>One Grafana panel and the SQL of its (single) query, as the dashboard JSON has them.</summary>
internal sealed record DashboardPanel(string DashboardUid, int Id, string Title, string Type, string RawSql, int Format, TimeSpan MinInterval, int MaxDataPoints)
{
    /// <summary>Grafana's default when a panel sets no <c>maxDataPoints</c>: about one point per pixel of a wide panel.</summary>
    public const int DefaultMaxDataPoints = 1000;

    /// <summary>The SQL Grafana would send for this panel: variables interpolated, then the plugin's macros expanded.</summary>
    public string Sql(DateTimeOffset from, DateTimeOffset to, IReadOnlyDictionary<string, string> variables)
    {
        var interval = GrafanaMacros.PanelInterval(from, to, MaxDataPoints, MinInterval);
        return GrafanaMacros.Expand(GrafanaVariables.Interpolate(RawSql, variables), new QueryTime(from, to, interval));
    }
}

/// <summary>
/// The dashboards of <c>infra/grafana/dashboards</c>: the one set of panel queries that Grafana and the fleet page share.
/// </summary>
internal sealed class DashboardCatalog
{
    private readonly Dictionary<(string Uid, int Id), DashboardPanel> _panels = [];
    private readonly Dictionary<string, Dictionary<string, string>> _defaults = [];

    public IReadOnlyCollection<DashboardPanel> Panels => _panels.Values;

    /// <summary>Reads every <c>*.json</c> dashboard of a folder.</summary>
    /// <exception cref="InvalidOperationException">A dashboard without uid, a panel without SQL, a duplicate panel id.</exception>
    public static DashboardCatalog Load(string folder)
    {
        if (!Directory.Exists(folder))
            throw new InvalidOperationException($"Dashboard folder '{folder}' does not exist: it ships with the LocalStack build (infra/grafana/dashboards).");
        var catalog = new DashboardCatalog();
        foreach (var file in Directory.GetFiles(folder, "*.json").Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            catalog.Add(doc.RootElement, Path.GetFileName(file));
        }

        return catalog;
    }

    public DashboardPanel Panel(string dashboardUid, int id) =>
        _panels.TryGetValue((dashboardUid, id), out var panel)
            ? panel
            : throw new KeyNotFoundException($"Dashboard '{dashboardUid}' has no panel {id}.");

    public bool TryGetPanel(string dashboardUid, int id, out DashboardPanel panel) => _panels.TryGetValue((dashboardUid, id), out panel!);

    /// <summary>The default value of every variable of a dashboard (its <c>current</c> value), for a query run outside Grafana.</summary>
    public IReadOnlyDictionary<string, string> Defaults(string dashboardUid) => _defaults[dashboardUid];

    private void Add(JsonElement dashboard, string file)
    {
        var uid = dashboard.TryGetProperty("uid", out var u) ? u.GetString() : null;
        if (string.IsNullOrEmpty(uid)) throw new InvalidOperationException($"Dashboard {file} has no uid.");
        var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
        if (dashboard.TryGetProperty("templating", out var templating))
        {
            foreach (var variable in templating.GetProperty("list").EnumerateArray())
            {
                if (variable.TryGetProperty("current", out var current) && current.ValueKind == JsonValueKind.Object &&
                    current.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.String)
                {
                    defaults[variable.GetProperty("name").GetString()!] = value.GetString()!;
                }
            }
        }

        _defaults[uid] = defaults;
        foreach (var panel in dashboard.GetProperty("panels").EnumerateArray())
        {
            if (!panel.TryGetProperty("targets", out var targets) || targets.GetArrayLength() == 0) continue;
            var id = panel.GetProperty("id").GetInt32();
            var target = targets[0];
            var sql = target.TryGetProperty("rawSql", out var raw) ? raw.GetString() : null;
            if (string.IsNullOrWhiteSpace(sql)) throw new InvalidOperationException($"Panel {id} of {file} has no rawSql.");
            var minInterval = panel.TryGetProperty("interval", out var interval) && interval.GetString() is { Length: > 0 } text
                ? GrafanaMacros.ParseInterval(text)
                : TimeSpan.FromMilliseconds(1);
            var maxDataPoints = panel.TryGetProperty("maxDataPoints", out var points) ? points.GetInt32() : DashboardPanel.DefaultMaxDataPoints;
            var format = target.TryGetProperty("format", out var f) ? f.GetInt32() : 1;
            if (!_panels.TryAdd((uid, id), new DashboardPanel(uid, id, panel.GetProperty("title").GetString() ?? "", panel.GetProperty("type").GetString() ?? "", sql, format, minInterval, maxDataPoints)))
                throw new InvalidOperationException($"Dashboard {file} has two panels with id {id}.");
        }
    }
}
