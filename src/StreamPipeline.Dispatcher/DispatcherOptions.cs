using StreamPipeline.Dispatcher.Commands;
using StreamPipeline.Kafka.Topics;
using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher;

/// <summary>Settings of the command dispatcher (configuration section <c>Dispatcher</c>). Defaults are production-sane.</summary>
public sealed class DispatcherOptions
{
    public const string Section = "Dispatcher";

    /// <summary>This instance's id, in logs and as the Kafka client id. Default: host name and process id.</summary>
    public string DispatcherId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Consumer group shared by every dispatcher. Default <c>stream-pipeline-dispatchers</c>.</summary>
    public string GroupId { get; set; } = "stream-pipeline-dispatchers";

    /// <summary>
    /// High 4 bits of every request id, 0..15. Raise it (and restart every dispatcher) whenever the commands topic is
    /// recreated: its offsets start again at 0, and without a new epoch ids of old commands would be reused. Default 0.
    /// </summary>
    public int RequestIdEpoch { get; set; }

    /// <summary>Deadline of a command that has none: its created time plus this. Default 5 minutes.</summary>
    public TimeSpan DefaultDeadline { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Longest deadline accepted after the created time; later ones are capped. Default 1 hour.</summary>
    public TimeSpan MaxDeadline { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long the agent has to answer each action once the request is sent. Defaults: see <see cref="DefaultActionTimeouts"/>.</summary>
    public Dictionary<string, TimeSpan> ActionTimeouts { get; set; } = new(DefaultActionTimeouts, StringComparer.Ordinal);

    /// <summary>Commands held (waiting or in flight) per commands partition; at the bound the partition is paused, not dropped. Default 10,000.</summary>
    public int MaxPendingPerPartition { get; set; } = 10_000;

    /// <summary>Command ids remembered as completed (duplicate records are not run again). Default 100,000.</summary>
    public int CompletedCacheSize { get; set; } = 100_000;

    /// <summary>
    /// Records read from the end of each results partition at assignment to seed the completed ids: only for duplicate
    /// records of one command (a producer's retry), never for knowing which records were decided (that is the state
    /// topic's job). Default 10,000.
    /// </summary>
    public int ResultsTailRecords { get; set; } = 10_000;

    /// <summary>
    /// Re-sends allowed of a read-only request that was written to the agent and whose connection closed before it
    /// answered (an agent that lost its cache runs it again each time); then the result is OUTCOME_UNKNOWN. Side-effecting
    /// actions are never re-sent once written. 0..100, default 3.
    /// </summary>
    public int MaxResends { get; set; } = 3;

    /// <summary>
    /// How long an in-flight command waits for its connector's report once the agent's session ended or a newer one
    /// appeared; silence that long means the connector died with the session. Default 3 s.
    /// </summary>
    public TimeSpan SessionEndedGrace { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// The consume loop silent this long fences the dispatcher: nothing is decided or sent until it polled steadily for
    /// <see cref="StallSettle"/>. Must stay below the consumer's session.timeout.ms and max.poll.interval.ms (checked at
    /// start), so a dispatcher stops acting before the group can give its partitions away. Default 5 s.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Steady polling needed after a stall before the fence is lifted (the consumer learns of lost partitions meanwhile). Default 3 s.</summary>
    public TimeSpan StallSettle { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A partition's snapshot is written to the state topic when it changed (every <see cref="CommitInterval"/> at most) and at least this often. Default 10 s.</summary>
    public TimeSpan StateRefreshInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often deadlines and timeouts are checked. Default 100 ms.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>On SIGTERM, how long in-flight commands may finish before the rest is left uncommitted for another dispatcher. Default 10 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the offsets of finished commands are committed in the background (also on rebalance and stop). Default 500 ms.</summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Producer linger: a few ms more batching, a few ms more latency. Default 1 ms.</summary>
    public int ProducerLingerMs { get; set; } = 1;

    /// <summary>Address and plain-HTTP port of /healthz, /readyz and /metrics. Defaults 0.0.0.0 and 8080 (0 picks a free port).</summary>
    public string ListenAddress { get; set; } = "0.0.0.0";
    public int OpsPort { get; set; } = 8080;

    /// <summary>Topic names.</summary>
    public string CommandsTopic { get; set; } = PipelineTopics.Commands;
    public string ResultsTopic { get; set; } = PipelineTopics.CommandResults;
    public string ConnectorRequestsTopic { get; set; } = PipelineTopics.ConnectorRequests;
    public string ConnectorResponsesTopic { get; set; } = PipelineTopics.ConnectorResponses;
    public string LateResponsesTopic { get; set; } = PipelineTopics.LateResponses;
    public string PresenceTopic { get; set; } = PipelineTopics.Presence;

    /// <summary>The dispatchers' own state (a snapshot per commands partition): same partition count as the commands topic.</summary>
    public string StateTopic { get; set; } = PipelineTopics.DispatcherState;

    /// <summary>Per-action timeouts used unless configured: a restart or a 1000-line log takes longer than server info.</summary>
    public static IReadOnlyDictionary<string, TimeSpan> DefaultActionTimeouts => CommandActions.DefaultTimeouts;

    /// <summary>The timeout of an action (a known one: commands are validated first).</summary>
    public TimeSpan TimeoutFor(string action) =>
        ActionTimeouts.TryGetValue(action, out var t) ? t : DefaultActionTimeouts.GetValueOrDefault(action, TimeSpan.FromSeconds(30));

    /// <summary>Every problem at once, each naming the setting and what to do.</summary>
    public IReadOnlyList<string> Validate()
    {
        var e = new List<string>();
        if (string.IsNullOrWhiteSpace(DispatcherId)) e.Add("Dispatcher:DispatcherId must not be empty.");
        if (string.IsNullOrWhiteSpace(GroupId)) e.Add("Dispatcher:GroupId must not be empty (every dispatcher shares one group, e.g. 'stream-pipeline-dispatchers').");
        if (RequestIdEpoch is < 0 or > RequestIds.MaxEpoch) e.Add($"Dispatcher:RequestIdEpoch must be 0..{RequestIds.MaxEpoch}, got {RequestIdEpoch}.");
        if (DefaultDeadline <= TimeSpan.Zero) e.Add($"Dispatcher:DefaultDeadline must be positive, got {DefaultDeadline}.");
        if (MaxDeadline <= TimeSpan.Zero || MaxDeadline > TimeSpan.FromDays(7)) e.Add($"Dispatcher:MaxDeadline must be between 0 and 7 days, got {MaxDeadline}.");
        if (DefaultDeadline > MaxDeadline) e.Add($"Dispatcher:DefaultDeadline ({DefaultDeadline}) must not exceed Dispatcher:MaxDeadline ({MaxDeadline}).");
        foreach (var (action, timeout) in ActionTimeouts)
        {
            if (!DefaultActionTimeouts.ContainsKey(action))
                e.Add($"Dispatcher:ActionTimeouts:{action} names no action; known: {string.Join(", ", CommandActions.All)}.");
            else if (timeout <= TimeSpan.Zero || timeout > TimeSpan.FromHours(1))
                e.Add($"Dispatcher:ActionTimeouts:{action} must be between 0 and 1 hour, got {timeout}.");
        }

        if (MaxPendingPerPartition < 1) e.Add($"Dispatcher:MaxPendingPerPartition must be at least 1, got {MaxPendingPerPartition}.");
        if (CompletedCacheSize < 1_000) e.Add($"Dispatcher:CompletedCacheSize must be at least 1,000, got {CompletedCacheSize}.");
        if (ResultsTailRecords < 0) e.Add($"Dispatcher:ResultsTailRecords must not be negative, got {ResultsTailRecords}.");
        if (MaxResends is < 0 or > 100) e.Add($"Dispatcher:MaxResends must be 0..100, got {MaxResends}.");
        if (SessionEndedGrace < TimeSpan.Zero || SessionEndedGrace > TimeSpan.FromMinutes(5)) e.Add($"Dispatcher:SessionEndedGrace must be 0..5 minutes, got {SessionEndedGrace}.");
        if (StallTimeout < TimeSpan.FromMilliseconds(500) || StallTimeout > TimeSpan.FromMinutes(5)) e.Add($"Dispatcher:StallTimeout must be 500 ms..5 minutes, got {StallTimeout}.");
        if (StallSettle < TimeSpan.Zero || StallSettle > TimeSpan.FromMinutes(5)) e.Add($"Dispatcher:StallSettle must be 0..5 minutes, got {StallSettle}.");
        if (StateRefreshInterval < TimeSpan.FromSeconds(1) || StateRefreshInterval > TimeSpan.FromHours(1)) e.Add($"Dispatcher:StateRefreshInterval must be 1 s..1 hour, got {StateRefreshInterval}.");
        if (TickInterval < TimeSpan.FromMilliseconds(1) || TickInterval > TimeSpan.FromSeconds(10)) e.Add($"Dispatcher:TickInterval must be 1 ms..10 s, got {TickInterval}.");
        if (DrainTimeout < TimeSpan.Zero || DrainTimeout > TimeSpan.FromMinutes(10)) e.Add($"Dispatcher:DrainTimeout must be 0..10 minutes, got {DrainTimeout}.");
        if (CommitInterval < TimeSpan.FromMilliseconds(10) || CommitInterval > TimeSpan.FromMinutes(10)) e.Add($"Dispatcher:CommitInterval must be 10 ms..10 minutes, got {CommitInterval}.");
        if (ProducerLingerMs is < 0 or > 1000) e.Add($"Dispatcher:ProducerLingerMs must be 0..1000, got {ProducerLingerMs}.");
        if (!System.Net.IPAddress.TryParse(ListenAddress, out _)) e.Add($"Dispatcher:ListenAddress must be an IP address, got '{ListenAddress}'.");
        if (OpsPort is < 0 or > 65535) e.Add($"Dispatcher:OpsPort must be 0..65535, got {OpsPort}.");
        foreach (var (name, value) in new[]
                 {
                     ("CommandsTopic", CommandsTopic), ("ResultsTopic", ResultsTopic), ("ConnectorRequestsTopic", ConnectorRequestsTopic),
                     ("ConnectorResponsesTopic", ConnectorResponsesTopic), ("LateResponsesTopic", LateResponsesTopic), ("PresenceTopic", PresenceTopic),
                     ("StateTopic", StateTopic),
                 })
        {
            if (string.IsNullOrWhiteSpace(value)) e.Add($"Dispatcher:{name} must not be empty.");
        }

        return e;
    }
}
