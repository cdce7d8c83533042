using Microsoft.Extensions.Options;

namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>Why a new agent socket was refused before the WebSocket upgrade.</summary>
internal enum AdmissionRefusal
{
    /// <summary>Admitted.</summary>
    None,
    /// <summary>The connector is draining (shutting down).</summary>
    Draining,
    /// <summary><see cref="EdgeConnectorOptions.MaxConnections"/> sockets are open.</summary>
    MaxConnections,
    /// <summary>More than <see cref="EdgeConnectorOptions.AdmissionsPerSecond"/> new sockets this second.</summary>
    AdmissionRate,
    /// <summary>Not ready: the schemas are not registered yet, or the command relay or presence watch are not reading yet.</summary>
    NotReady,
}

/// <summary>
/// Decides whether a new agent socket may be opened: not before the connector is ready, not while draining, not beyond
/// <see cref="EdgeConnectorOptions.MaxConnections"/>, not faster than <see cref="EdgeConnectorOptions.AdmissionsPerSecond"/>.
/// Refusing before the WebSocket upgrade keeps a reconnect storm cheap.
/// </summary>
internal sealed class AdmissionControl(IOptions<EdgeConnectorOptions> options, TimeProvider time)
{
    private readonly EdgeConnectorOptions _options = options.Value;
    private readonly Lock _lock = new();
    private TokenBucket _rate = new(options.Value.AdmissionsPerSecond, options.Value.AdmissionsPerSecond, time);
    private int _open;

    public bool Draining { get; private set; }
    public int Open => Volatile.Read(ref _open);

    /// <summary><see cref="AdmissionRefusal.None"/> when admitted (call <see cref="Release"/> when the socket ends), otherwise why not.</summary>
    public AdmissionRefusal TryAdmit(bool ready)
    {
        lock (_lock)
        {
            if (Draining) return AdmissionRefusal.Draining;
            if (!ready) return AdmissionRefusal.NotReady;
            if (_open >= _options.MaxConnections) return AdmissionRefusal.MaxConnections;
            if (!_rate.TryTake(time)) return AdmissionRefusal.AdmissionRate;
            _open++;
            return AdmissionRefusal.None;
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

    /// <summary>The metric label of a refusal (<c>edge_connections_rejected_total{reason}</c>).</summary>
    public static string Label(AdmissionRefusal refusal) => refusal switch
    {
        AdmissionRefusal.Draining => "draining",
        AdmissionRefusal.MaxConnections => "max_connections",
        AdmissionRefusal.AdmissionRate => "admission_rate",
        AdmissionRefusal.NotReady => "not_ready",
        _ => "none",
    };

    /// <summary>What the refused client reads in the 503 body.</summary>
    public static string Explain(AdmissionRefusal refusal) => refusal switch
    {
        AdmissionRefusal.Draining => "connector draining; connect to another one",
        AdmissionRefusal.MaxConnections => "connector full (EdgeConnector:MaxConnections)",
        AdmissionRefusal.AdmissionRate => "too many new connections per second (EdgeConnector:AdmissionsPerSecond)",
        AdmissionRefusal.NotReady => "connector not ready (registering schemas, reading its credential store)",
        _ => "",
    };
}
