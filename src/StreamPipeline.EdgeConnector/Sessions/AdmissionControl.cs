using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>
/// Decides whether a new agent socket may be opened: not while draining, not beyond
/// <see cref="EdgeConnectorOptions.MaxConnections"/>, not faster than <see cref="EdgeConnectorOptions.AdmissionsPerSecond"/>.
/// Refusing before the WebSocket upgrade keeps a reconnect storm cheap.
/// </summary>
internal sealed class AdmissionControl(IOptions<EdgeConnectorOptions> options)
{
    private readonly EdgeConnectorOptions _options = options.Value;
    private readonly Lock _lock = new();
    private TokenBucket _rate = new(options.Value.AdmissionsPerSecond, options.Value.AdmissionsPerSecond, Stopwatch.GetTimestamp());
    private int _open;

    public bool Draining { get; private set; }
    public int Open => Volatile.Read(ref _open);

    /// <summary>Null when admitted (call <see cref="Release"/> when the socket ends), otherwise the reason it was refused.</summary>
    public string? TryAdmit()
    {
        lock (_lock)
        {
            if (Draining) return "draining";
            if (_open >= _options.MaxConnections) return "max_connections";
            if (!_rate.TryTake(Stopwatch.GetTimestamp(), Stopwatch.Frequency)) return "admission_rate";
            _open++;
            return null;
        }
    }

    public void Release()
    {
        lock (_lock) _open--;
    }

    public void StartDraining()
    {
        lock (_lock) Draining = true;
    }
}
