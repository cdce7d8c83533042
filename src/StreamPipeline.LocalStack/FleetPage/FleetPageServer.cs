using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace StreamPipeline.LocalStack.FleetPage;

/// <summary>
/// The read-only fleet page of <c>make run</c>, on loopback: static HTML/JS, uPlot, and one JSON endpoint that runs a
/// dashboard panel's SQL (from infra/grafana/dashboards, the same text Grafana runs) for a range and an agent. The page
/// cannot send SQL of its own: it names a panel, a range from a fixed list and an agent id.
/// </summary>
internal sealed partial class FleetPageServer : IAsyncDisposable
{
    /// <summary>Ranges the page offers, as Grafana's time picker names them.</summary>
    private static readonly Dictionary<string, TimeSpan> Ranges = new(StringComparer.Ordinal)
    {
        ["15m"] = TimeSpan.FromMinutes(15),
        ["1h"] = TimeSpan.FromHours(1),
        ["6h"] = TimeSpan.FromHours(6),
        ["24h"] = TimeSpan.FromHours(24),
        ["3d"] = TimeSpan.FromDays(3),
        ["7d"] = TimeSpan.FromDays(7),
        ["30d"] = TimeSpan.FromDays(30),
    };

    private static readonly Meter Meter = new("StreamPipeline.LocalStack.FleetPage");
    private static readonly Counter<long> Queries = Meter.CreateCounter<long>("fleet_page_queries_total", description: "Panel queries the fleet page ran, by outcome (ok, error, rejected).");

    private readonly WebApplication _app;
    private readonly DashboardCatalog _catalog;
    private readonly ClickHouseQueries _clickHouse;
    private readonly HttpClient _http;
    private readonly FleetPageOptions _options;
    private readonly string _database;
    private readonly string _sampleInterval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    private FleetPageServer(WebApplication app, DashboardCatalog catalog, HttpClient http, FleetPageOptions options, string database, TimeSpan sampleInterval, TimeProvider time, ILogger logger)
    {
        _app = app;
        _catalog = catalog;
        _http = http;
        _options = options;
        _database = database;
        _sampleInterval = Math.Max(1, (int)Math.Ceiling(sampleInterval.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        _time = time;
        _logger = logger;
        _clickHouse = new ClickHouseQueries(http, "default", "", options.QueryTimeLimit);
    }

    public Uri Url { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Starts the page; returns null (with a warning) when it is disabled or cannot listen, so <c>make run</c> goes on without it.</summary>
    public static async Task<FleetPageServer?> TryStartAsync(FleetPageOptions options, Uri clickHouse, string database, TimeSpan sampleInterval, ILoggerFactory loggerFactory, CancellationToken ct)
    {
        var logger = loggerFactory.CreateLogger("StreamPipeline.LocalStack.FleetPage");
        if (!options.Enabled) return null;
        var errors = options.Validate();
        if (errors.Count > 0)
        {
            LogInvalid(logger, string.Join(" ", errors));
            return null;
        }

        var root = Path.Combine(AppContext.BaseDirectory, "FleetPage");
        var catalog = DashboardCatalog.Load(Path.Combine(root, "dashboards"));
        var uplot = options.ResolveUPlotPath();
        if (!File.Exists(Path.Combine(uplot, "uPlot.iife.min.js"))) LogNoUPlot(logger, uplot);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(FleetPageServer).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, options.Port);
        });
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        var http = new HttpClient { BaseAddress = clickHouse, Timeout = options.QueryTimeLimit + TimeSpan.FromSeconds(5) };
        var server = new FleetPageServer(app, catalog, http, options, database, sampleInterval, TimeProvider.System, logger);
        app.UseRouting();
        app.MapGet("/", (HttpContext c) => SendFile(c, Path.Combine(root, "site", "index.html"), "text/html; charset=utf-8"));
        app.MapGet("/fleet.js", (HttpContext c) => SendFile(c, Path.Combine(root, "site", "fleet.js"), "text/javascript; charset=utf-8"));
        app.MapGet("/fleet.css", (HttpContext c) => SendFile(c, Path.Combine(root, "site", "fleet.css"), "text/css; charset=utf-8"));
        app.MapGet("/vendor/uPlot.iife.min.js", (HttpContext c) => SendFile(c, Path.Combine(uplot, "uPlot.iife.min.js"), "text/javascript; charset=utf-8"));
        app.MapGet("/vendor/uPlot.min.css", (HttpContext c) => SendFile(c, Path.Combine(uplot, "uPlot.min.css"), "text/css; charset=utf-8"));
        app.MapGet("/api/config", server.ConfigAsync);
        app.MapGet("/api/panel/{dashboard}/{id:int}", server.PanelAsync);
        try
        {
            await app.StartAsync(ct);
        }
        catch (IOException e)
        {
            LogCannotListen(logger, options.Port, e.Message);
            await app.DisposeAsync();
            http.Dispose();
            return null;
        }

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri($"http://127.0.0.1:{new Uri(bound).Port}/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _http.Dispose();
    }

    private static async Task SendFile(HttpContext context, string path, string contentType)
    {
        if (!File.Exists(path))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.WriteAsync($"{Path.GetFileName(path)} is missing: run 'make uplot' (or build/fetch-uplot.sh) and restart.");
            return;
        }

        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.SendFileAsync(path);
    }

    private Task ConfigAsync(HttpContext context)
    {
        var panels = string.Join(",", _catalog.Panels.Select(p => $$"""{"dashboard":"{{p.DashboardUid}}","id":{{p.Id}},"title":{{System.Text.Json.JsonSerializer.Serialize(p.Title)}},"type":"{{p.Type}}"}"""));
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync($$"""{"refreshSeconds":{{(int)_options.RefreshInterval.TotalSeconds}},"database":"{{_database}}","sampleIntervalSeconds":{{_sampleInterval}},"ranges":["15m","1h","6h","24h","3d","7d","30d"],"panels":[{{panels}}]}""");
    }

    private async Task PanelAsync(HttpContext context, string dashboard, int id)
    {
        var range = context.Request.Query["range"].ToString();
        var agent = context.Request.Query["agent"].ToString();
        if (!_catalog.TryGetPanel(dashboard, id, out var panel) || !Ranges.TryGetValue(range.Length == 0 ? "1h" : range, out var span) || (agent.Length > 0 && !AgentId().IsMatch(agent)))
        {
            Queries.Add(1, new KeyValuePair<string, object?>("outcome", "rejected"));
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync($"Unknown panel {dashboard}/{id}, range '{range}' (use one of {string.Join(", ", Ranges.Keys)}) or agent id '{agent}'.");
            return;
        }

        var to = DateTimeOffset.FromUnixTimeSeconds(_time.GetUtcNow().ToUnixTimeSeconds());
        var from = to - span;
        var variables = new Dictionary<string, string>(_catalog.Defaults(dashboard), StringComparer.Ordinal)
        {
            ["database"] = _database,
            ["sample_interval"] = _sampleInterval,
        };
        if (agent.Length > 0) variables["agent"] = agent;
        try
        {
            var result = await _clickHouse.QueryAsync(panel.Sql(from, to, variables), context.RequestAborted);
            Queries.Add(1, new KeyValuePair<string, object?>("outcome", "ok"));
            context.Response.ContentType = "application/json";
            var interval = (long)GrafanaMacros.PanelInterval(from, to, panel.MaxDataPoints, panel.MinInterval).TotalSeconds;
            await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture,
                $$"""{"from":{{from.ToUnixTimeMilliseconds()}},"to":{{to.ToUnixTimeMilliseconds()}},"intervalSeconds":{{interval}},"title":{{System.Text.Json.JsonSerializer.Serialize(panel.Title)}},"result":{{result.Json}}}"""), Encoding.UTF8);
        }
        catch (Exception e) when (e is ClickHouseQueryException or HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            Queries.Add(1, new KeyValuePair<string, object?>("outcome", "error"));
            LogQueryFailed(_logger, dashboard, id, e.Message);
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            await context.Response.WriteAsync($"Panel {dashboard}/{id} '{panel.Title}' failed in ClickHouse: {e.Message}");
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9._:\-]{1,128}$")]
    private static partial Regex AgentId();

    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Fleet page not started: {Errors}")]
    private static partial void LogInvalid(ILogger logger, string errors);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Fleet page: uPlot not found in {Path}; the page shows no charts. Run 'make uplot' (build/fetch-uplot.sh) and restart.")]
    private static partial void LogNoUPlot(ILogger logger, string path);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Fleet page not started: cannot listen on 127.0.0.1:{Port} ({Error}). Set --FleetPage:Port to a free port, or 0.")]
    private static partial void LogCannotListen(ILogger logger, int port, string error);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Fleet page: panel {Dashboard}/{Id} failed: {Error}")]
    private static partial void LogQueryFailed(ILogger logger, string dashboard, int id, string error);
}
