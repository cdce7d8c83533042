using System.Net.WebSockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StreamPipeline.EdgeConnector.Publishing;
using StreamPipeline.EdgeConnector.Sessions;

namespace StreamPipeline.EdgeConnector.Hosting;

/// <summary>
/// Graceful shutdown on SIGTERM: stop admitting sockets, close agents with "going away" spread over the drain
/// window (so they do not all reconnect to the other connectors at once), then flush the producer so the
/// disconnect presence events and every accepted metric reach Kafka.
/// </summary>
internal sealed partial class DrainCoordinator(
    IOptions<EdgeConnectorOptions> options, AdmissionControl admission, SessionRegistry sessions, KafkaPublisher publisher,
    IHostApplicationLifetime lifetime, TimeProvider time, ILogger<DrainCoordinator> logger) : IHostedService
{
    private readonly CancellationTokenSource _hardStop = new();
    private Task _drain = Task.CompletedTask;

    /// <summary>Cancelled when the drain window is over: sessions still open are cut then.</summary>
    public CancellationToken HardStop => _hardStop.Token;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(() => _drain = Task.Run(DrainAsync));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _drain.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task DrainAsync()
    {
        var window = options.Value.DrainWindow;
        admission.StartDraining();
        var open = sessions.Snapshot();
        LogDraining(logger, open.Count, window.TotalSeconds);
        var start = time.GetTimestamp();
        var i = 0;
        foreach (var session in open)
        {
            var due = open.Count <= 1 ? TimeSpan.Zero : window * ((double)i / open.Count);
            var wait = due - time.GetElapsedTime(start);
            if (wait > TimeSpan.Zero) await Task.Delay(wait, time);
            session.RequestClose(WebSocketCloseStatus.EndpointUnavailable, "connector draining; reconnect");
            i++;
        }

        var deadline = window + TimeSpan.FromSeconds(5);
        while (admission.Open > 0 && time.GetElapsedTime(start) < deadline) await Task.Delay(TimeSpan.FromMilliseconds(50), time);
        await _hardStop.CancelAsync();
        var left = publisher.Flush(TimeSpan.FromSeconds(10));
        LogDrained(logger, admission.Open, left);
    }

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Draining: closing {Count} agent sessions over {Seconds:F0} s")]
    private static partial void LogDraining(ILogger logger, int count, double seconds);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Information, Message = "Drained: {Open} sockets still open, {Unacknowledged} records not acknowledged by Kafka")]
    private static partial void LogDrained(ILogger logger, int open, int unacknowledged);
}
