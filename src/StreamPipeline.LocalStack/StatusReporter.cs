using System.Diagnostics.Metrics;

namespace StreamPipeline.LocalStack;

/// <summary>Prints one line every 10 s so a newcomer sees data flowing.</summary>
internal static class StatusReporter
{
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

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss} agents online {Interlocked.Read(ref sessions)}, metrics in Kafka {Interlocked.Read(ref published)}");
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
