namespace StreamPipeline.LocalStack.FleetPage;

/// <summary>Settings of the fleet page that <c>make run</c> serves (section <c>FleetPage</c>; e.g. <c>--FleetPage:Port=8091</c>).</summary>
internal sealed class FleetPageOptions
{
    /// <summary>Serve the page. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Loopback port of the page. Default 8090; 0 picks a free one (printed in the banner).</summary>
    public int Port { get; set; } = 8090;

    /// <summary>How often the page refreshes itself. Default 5 s.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time limit of one panel query in ClickHouse (<c>max_execution_time</c>). Default 10 s.</summary>
    public TimeSpan QueryTimeLimit { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Folder with uPlot.iife.min.js and uPlot.min.css; when null, <c>STREAMPIPELINE_UPLOT_DIR</c>, then the cache that
    /// <c>build/fetch-uplot.sh</c> (<c>make uplot</c>) fills.
    /// </summary>
    public string? UPlotPath { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Port is < 0 or > 65535) errors.Add($"FleetPage:Port must be 0..65535 (0 for a free port), got {Port}.");
        if (RefreshInterval < TimeSpan.FromSeconds(1)) errors.Add($"FleetPage:RefreshInterval must be at least 00:00:01, got {RefreshInterval}.");
        if (QueryTimeLimit < TimeSpan.FromSeconds(1)) errors.Add($"FleetPage:QueryTimeLimit must be at least 00:00:01, got {QueryTimeLimit}.");
        return errors;
    }

    public string ResolveUPlotPath() =>
        UPlotPath
        ?? Environment.GetEnvironmentVariable("STREAMPIPELINE_UPLOT_DIR")
        ?? Path.Combine(Environment.GetEnvironmentVariable("STREAMPIPELINE_CACHE") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "streampipeline"), "uplot", "1.6.32");
}
