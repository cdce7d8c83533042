using System.Diagnostics.Metrics;

namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>The fleet's counters as <see cref="System.Diagnostics.Metrics"/> instruments (meter <c>StreamPipeline.AgentSimulator</c>).</summary>
internal sealed class FleetMeter : IDisposable
{
    public const string MeterName = "StreamPipeline.AgentSimulator";

    private readonly Meter _meter = new(MeterName);

    public FleetMeter(SimulatedFleet fleet)
    {
        _meter.CreateObservableUpDownCounter("simulator.agents.connected", () => fleet.Stats.Connected, "{connection}", "Open agent WebSockets");
        _meter.CreateObservableUpDownCounter("simulator.agents.authenticated", () => fleet.Stats.Authenticated, "{session}", "Authenticated agent sessions");
        _meter.CreateObservableCounter("simulator.connects", () => fleet.Stats.Connects, "{connection}", "WebSockets opened");
        _meter.CreateObservableCounter("simulator.connect_failures", () => fleet.Stats.ConnectFailures, "{attempt}", "Connection attempts that failed");
        _meter.CreateObservableCounter("simulator.auth_failures", () => fleet.Stats.AuthFailures, "{attempt}", "Refused authentications");
        _meter.CreateObservableCounter("simulator.metrics_sent", () => fleet.Stats.MetricsSent, "{frame}", "Metrics frames sent");
        _meter.CreateObservableCounter("simulator.requests", () => fleet.Stats.RequestsReceived, "{request}", "Requests received");
        _meter.CreateObservableCounter("simulator.executions", () => fleet.Stats.Executions, "{request}", "Requests really executed");
        _meter.CreateObservableCounter("simulator.cached_replies", () => fleet.Stats.CachedReplies, "{request}", "Requests answered from the cache");
        _meter.CreateObservableCounter("simulator.reconnects", () => fleet.Stats.Reconnects, "{attempt}", "Reconnect attempts");
        _meter.CreateObservableCounter("simulator.replaced_sessions", () => fleet.Stats.ReplacedSessions, "{session}", "Sessions replaced by a newer one");
    }

    public void Dispose() => _meter.Dispose();
}
