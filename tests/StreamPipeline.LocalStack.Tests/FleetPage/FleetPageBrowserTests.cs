using System.Text;
using System.Text.Json;
using StreamPipeline.Testing;
using Xunit.Abstractions;

namespace StreamPipeline.LocalStack.Tests.FleetPage;

/// <summary>
/// <c>make run</c> (a child process: embedded Kafka, Schema Registry, ClickHouse, the services, simulated agents) and
/// Debian's chromium, headless: the page shows the fleet within a minute of start, its numbers equal what ClickHouse
/// says when asked directly, and every chart drew lines on its canvas.
/// </summary>
public sealed class FleetPageBrowserTests(ITestOutputHelper output)
{
    private const int Agents = 4;

    /// <summary>What the page shows, read from its DOM and canvases.</summary>
    private const string Snapshot = """
        (() => {
          // Still loading (or about:blank): nothing to read yet.
          if (!document.getElementById('fleet-table') || !document.getElementById('errors')) {
            return { online: '-', offline: '-', stale: '-', agent: '-', rows: [], charts: [], commands: 0, refreshed: 0, errors: '' };
          }
          const text = id => document.getElementById(id).textContent;
          const table = document.getElementById('fleet-table');
          const head = [...table.querySelectorAll('thead th')].map(th => th.textContent);
          const rows = [...table.querySelectorAll('tbody tr')].map(tr => Object.fromEntries([...tr.cells].map((td, i) => [head[i], td.textContent])));
          const charts = [...document.querySelectorAll('.chart')].map(el => {
            const canvas = el.querySelector('canvas');
            let colored = 0;
            if (canvas) {
              const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
              for (let i = 0; i < px.length; i += 4) {
                if (px[i + 3] > 0 && Math.max(px[i], px[i + 1], px[i + 2]) - Math.min(px[i], px[i + 1], px[i + 2]) > 60) colored++;
              }
            }
            return { id: el.id, points: Number(el.dataset.points || 0), series: Number(el.dataset.series || 0), drawn: Number(el.dataset.drawn || 0), colored };
          });
          return { online: text('count-online'), offline: text('count-offline'), stale: text('count-stale'),
                   agent: text('agent-name'), rows, charts, commands: Number(document.getElementById('commands-table').dataset.rows || 0),
                   refreshed: Number(document.body.dataset.refreshedAt || 0), errors: text('errors') };
        })()
        """;

    [Fact]
    public async Task FleetPage_RunningPipeline_ShowsClickHousesNumbersAndDrawsCharts()
    {
        await using var pipeline = LocalStackProcess.Start(Agents, TimeSpan.FromSeconds(3));
        var page = await pipeline.FleetPageAsync(TimeSpan.FromSeconds(120));
        output.WriteLine($"fleet page {page} after {pipeline.SinceStart.Elapsed.TotalSeconds:0.0} s");
        await using var browser = await HeadlessChromium.StartAsync(1400, 1800, TimeSpan.FromSeconds(30));
        using var clickHouse = new HttpClient { BaseAddress = pipeline.ClickHouse, Timeout = TimeSpan.FromSeconds(10) };
        await browser.NavigateAsync(new Uri(page, "?range=15m&refresh=2"));

        // The fleet appears: every simulated agent in the table.
        var shown = await Eventually.ReturnsAsync(() => SnapshotAsync(browser), s => s.Rows.GetArrayLength() == Agents, TimeSpan.FromSeconds(90), "all agents in the fleet table");
        var fleetAfter = pipeline.SinceStart.Elapsed;
        output.WriteLine($"fleet shown {fleetAfter.TotalSeconds:0.0} s after start");
        Assert.True(fleetAfter < TimeSpan.FromMinutes(1), $"the fleet showed {fleetAfter.TotalSeconds:0} s after start (issue: within a minute)");

        // The page's numbers equal ClickHouse's, asked directly with SQL of its own (the data moves: wait for a match).
        await Eventually.ReturnsAsync(async () =>
        {
            var s = await SnapshotAsync(browser);
            var truth = await QueryAsync(clickHouse, "SELECT agent_id, online, round(cpu_usage_percent, 1), round(ram_usage_percent, 1), connector_id FROM streampipeline.agent_current ORDER BY agent_id");
            var online = truth.Count(r => r[1] == "1");
            var mismatches = new List<string>();
            if (int.Parse(s.Online, System.Globalization.CultureInfo.InvariantCulture) + int.Parse(s.Stale, System.Globalization.CultureInfo.InvariantCulture) != online) mismatches.Add($"online+stale {s.Online}+{s.Stale} vs {online}");
            if (s.Offline != (truth.Count - online).ToString(System.Globalization.CultureInfo.InvariantCulture)) mismatches.Add($"offline {s.Offline} vs {truth.Count - online}");
            foreach (var want in truth)
            {
                var row = s.Rows.EnumerateArray().FirstOrDefault(r => r.GetProperty("agent").GetString() == want[0]);
                if (row.ValueKind != JsonValueKind.Object) { mismatches.Add($"{want[0]} missing"); continue; }
                if (row.GetProperty("cpu_percent").GetString() != want[2]) mismatches.Add($"{want[0]} cpu {row.GetProperty("cpu_percent")} vs {want[2]}");
                if (row.GetProperty("ram_percent").GetString() != want[3]) mismatches.Add($"{want[0]} ram {row.GetProperty("ram_percent")} vs {want[3]}");
                if (row.GetProperty("connector").GetString() != want[4]) mismatches.Add($"{want[0]} connector {row.GetProperty("connector")} vs {want[4]}");
            }

            // The selected agent's CPU chart has one point per 10 s bucket with samples in the last 15 minutes.
            var buckets = await QueryAsync(clickHouse, $"SELECT uniqExact(toStartOfInterval(agent_time, INTERVAL 10 SECOND)) FROM streampipeline.metrics_samples WHERE agent_id = '{s.Agent}' AND agent_time >= now() - INTERVAL 15 MINUTE");
            var cpu = s.Charts.EnumerateArray().Single(c => c.GetProperty("id").GetString() == "chart-cpu");
            if (cpu.GetProperty("points").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) != buckets[0][0]) mismatches.Add($"cpu chart points {cpu.GetProperty("points")} vs {buckets[0][0]} buckets");
            return string.Join("; ", mismatches);
        }, mismatches => mismatches.Length == 0, TimeSpan.FromSeconds(60), "the page's numbers to equal ClickHouse's (the value below lists the mismatches)");

        // Every chart drew: data points, and coloured series pixels on its canvas (axes and grid are grey).
        var charts = await Eventually.ReturnsAsync(() => SnapshotAsync(browser),
            s => s.Charts.EnumerateArray().All(c => c.GetProperty("id").GetString() is "chart-results" or "chart-dead-letters" || (c.GetProperty("points").GetInt32() >= 3 && c.GetProperty("colored").GetInt32() > 50)),
            TimeSpan.FromSeconds(90), "every chart to draw its series over at least three buckets");
        foreach (var chart in charts.Charts.EnumerateArray())
        {
            output.WriteLine(chart.ToString());
            // One command result: a point, not a line. Dead letters: none in a healthy run (DeadLetterPanelTests has some).
            if (chart.GetProperty("id").GetString() is "chart-results" or "chart-dead-letters") continue;
            Assert.True(chart.GetProperty("points").GetInt32() >= 3, chart.ToString());
            Assert.True(chart.GetProperty("colored").GetInt32() > 50, chart.ToString());
            Assert.True(chart.GetProperty("drawn").GetInt32() > 0, chart.ToString());
        }

        Assert.Equal("", charts.Errors);
        Assert.True(charts.Commands >= 1, "the command demo's result is listed");
        var png = await browser.ScreenshotAsync();
        var file = Path.Combine(AppContext.BaseDirectory, "fleet-page.png");
        await File.WriteAllBytesAsync(file, png);
        output.WriteLine($"screenshot {file} ({png.Length} bytes)");
    }

    private static async Task<PageSnapshot> SnapshotAsync(HeadlessChromium browser)
    {
        var v = await browser.EvaluateAsync(Snapshot);
        return new PageSnapshot(v.GetProperty("online").GetString()!, v.GetProperty("offline").GetString()!, v.GetProperty("stale").GetString()!,
            v.GetProperty("agent").GetString()!, v.GetProperty("rows").Clone(), v.GetProperty("charts").Clone(), v.GetProperty("commands").GetInt32(), v.GetProperty("errors").GetString()!);
    }

    private static async Task<List<string[]>> QueryAsync(HttpClient clickHouse, string sql)
    {
        using var body = new StringContent(sql + " FORMAT TabSeparated", Encoding.UTF8);
        using var response = await clickHouse.PostAsync("", body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t')).ToList();
    }

    private sealed record PageSnapshot(string Online, string Offline, string Stale, string Agent, JsonElement Rows, JsonElement Charts, int Commands, string Errors)
    {
        public override string ToString() => $"online {Online} offline {Offline} stale {Stale} rows {Rows.GetArrayLength()} errors '{Errors}'";
    }
}
