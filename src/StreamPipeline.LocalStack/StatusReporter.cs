using System.Diagnostics.Metrics;

namespace StreamPipeline.LocalStack;

/// <summary>Prints one line every 10 s so a newcomer sees data flowing.</summary>
internal static class StatusReporter
{
    private static async Task<string> CountAsync(HttpClient http, string sql, CancellationToken ct)
    {
        try
        {
            using var body = new StringContent(sql);
            using var response = await http.PostAsync("", body, ct);
            return response.IsSuccessStatusCode ? (await response.Content.ReadAsStringAsync(ct)).Trim() : "?";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return "?";
        }
    }

    public static async Task RunAsync(EmbeddedInfrastructure infra, PipelineServices services, CancellationToken stop)
    {
        using var listener = new MeterListener();
        long published = 0, sessions = 0;
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name is "edge_metrics_published_total" or "edge_sessions") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "edge_metrics_published_total") Interlocked.Add(ref published, value);
            else Interlocked.Add(ref sessions, value);
        });
        listener.Start();

        using var http = new HttpClient { BaseAddress = infra.ClickHouse.Url, Timeout = TimeSpan.FromSeconds(5) };
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                var rows = await CountAsync(http, "SELECT count() FROM streampipeline.metrics_samples", stop);
                var results = await CountAsync(http, "SELECT count() FROM streampipeline.command_log", stop);
                Console.WriteLine($"{TimeProvider.System.GetUtcNow().UtcDateTime:HH:mm:ss} agents online {Interlocked.Read(ref sessions)}, metrics in Kafka {Interlocked.Read(ref published)}, " +
                                  $"rows in ClickHouse metrics_samples {rows}, command_log {results}");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
