using Microsoft.Extensions.Logging;
using StreamPipeline.AgentSimulator.Scheduling;
using StreamPipeline.AgentSimulator.Transport;

namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>What every agent of one fleet shares.</summary>
internal sealed class FleetContext(SimulatorOptions options, ILogger agentLogger) : IDisposable
{
    private readonly CancellationTokenSource _stopRequested = new();
    private readonly CancellationTokenSource _abort = new();
    private byte[]? _padding;

    public SimulatorOptions Options { get; } = options;

    public TimeProvider Clock { get; } = options.TimeProvider;

    public ILogger AgentLogger { get; } = agentLogger;

    public FleetCounters Counters { get; } = new();

    public WebSocketConnector Connector { get; } = new(options);

    public ConnectRamp Ramp { get; } = new(options.ConnectRatePerSecond, options.TimeProvider);

    public SendScheduler Scheduler { get; } = new(options.TimeProvider, TimeSpan.FromMilliseconds(10));

    /// <summary>Cancelled when the fleet starts stopping: no new connection, no reconnect.</summary>
    public CancellationToken StopRequested => _stopRequested.Token;

    /// <summary>Cancelled when the stop budget is spent: every socket operation aborts.</summary>
    public CancellationToken Abort => _abort.Token;

    /// <summary>The 'x' run that pads oversized frames; built once, on first use.</summary>
    public ReadOnlySpan<byte> Padding
    {
        get
        {
            var padding = Volatile.Read(ref _padding);
            if (padding is null)
            {
                padding = new byte[Options.OversizedFrameBytes];
                padding.AsSpan().Fill((byte)'x');
                Volatile.Write(ref _padding, padding);
            }

            return padding;
        }
    }

    public void RequestStop() => _stopRequested.Cancel();

    public void AbortAll() => _abort.Cancel();

    public void Dispose()
    {
        Connector.Dispose();
        _stopRequested.Dispose();
        _abort.Dispose();
    }
}
