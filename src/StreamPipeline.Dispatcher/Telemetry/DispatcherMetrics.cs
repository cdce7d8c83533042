using System.Diagnostics.Metrics;
using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Dispatcher.Telemetry;

/// <summary>The dispatcher's counters and histograms (meter <c>StreamPipeline.Dispatcher</c>, exported at /metrics).</summary>
internal sealed class DispatcherMetrics
{
    public const string MeterName = "StreamPipeline.Dispatcher";
    private static readonly KeyValuePair<string, object?>[][] StatusTags =
        [.. Enum.GetValues<CommandStatus>().Select(s => new[] { new KeyValuePair<string, object?>("status", s.ToString().ToLowerInvariant()) })];

    private readonly Counter<long> _commands;
    private readonly Counter<long> _resends;
    private readonly Counter<long> _lateResponses;
    private readonly Counter<long> _ignored;
    private readonly Counter<long> _fenced;
    private readonly Counter<long> _resultFallbacks;

    public DispatcherMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _commands = meter.CreateCounter<long>("dispatcher_commands_total", description: "Commands decided, by terminal status.");
        _resends = meter.CreateCounter<long>("dispatcher_resends_total", description: "Requests sent again with the same request id, by reason (agent_not_connected, agent_disconnected, owner_changed, takeover, agent_connected).");
        _lateResponses = meter.CreateCounter<long>("dispatcher_late_responses_total", description: "Agent responses for commands already decided (late or duplicate) or unknown, recorded on the late topic.");
        _ignored = meter.CreateCounter<long>("dispatcher_records_ignored_total", description: "Records not acted on, by reason (duplicate command, already decided, stale connector report, undecodable).");
        _fenced = meter.CreateCounter<long>("dispatcher_fenced_total", description: "Times the consume loop stalled (or lost the group) and the dispatcher stopped deciding and sending until it polled steadily again.");
        _resultFallbacks = meter.CreateCounter<long>("dispatcher_result_fallbacks_total", description: "Results Kafka refused (e.g. too large) and replaced by an ERROR result that says why.");
        DispatchLatency = meter.CreateHistogram<double>("dispatcher_dispatch_latency", "ms", "Command record consumed to request first sent to a connector.");
        EndToEndLatency = meter.CreateHistogram<double>("dispatcher_end_to_end_latency", "ms", "Command created_time to its result decided.");
        meter.CreateObservableGauge("dispatcher_commands_in_flight", () => InFlight?.Invoke() ?? 0, description: "Commands sent to a connector and not answered yet.");
        meter.CreateObservableGauge("dispatcher_commands_waiting_for_agent", () => Waiting?.Invoke() ?? 0, description: "Commands waiting for their agent to come online.");
    }

    public Histogram<double> DispatchLatency { get; }
    public Histogram<double> EndToEndLatency { get; }

    /// <summary>Set by the engine: observed by the gauges.</summary>
    public Func<int>? InFlight { get; set; }
    public Func<int>? Waiting { get; set; }

    public void Decided(CommandStatus status) => _commands.Add(1, StatusTags[(int)status]);
    public void Resent(string reason) => _resends.Add(1, new KeyValuePair<string, object?>("reason", reason));
    public void LateResponse(string kind) => _lateResponses.Add(1, new KeyValuePair<string, object?>("kind", kind));
    public void Ignored(string reason) => _ignored.Add(1, new KeyValuePair<string, object?>("reason", reason));
    public void Fenced() => _fenced.Add(1);
    public void ResultFallback() => _resultFallbacks.Add(1);
}
