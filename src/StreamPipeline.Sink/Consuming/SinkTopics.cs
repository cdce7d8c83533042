using StreamPipeline.Sink.Decoding;

namespace StreamPipeline.Sink.Consuming;

/// <summary>A topic the sink consumes and what it carries.</summary>
internal sealed record SinkTopic(string Name, RecordKind Kind);

/// <summary>
/// The topics the sink consumes, built once from <see cref="SinkOptions"/>: the one place that says which topic holds
/// which <see cref="RecordKind"/> (the consumer subscribes to <see cref="All"/>; a partition and a dead letter's
/// <c>source_topic</c> are looked up with <see cref="Find"/>).
/// </summary>
internal sealed class SinkTopics
{
    private readonly Dictionary<string, SinkTopic> _byName = new(StringComparer.Ordinal);

    private SinkTopics(List<SinkTopic> all, SinkTopic[] precedence)
    {
        All = all;
        foreach (var topic in precedence) _byName.TryAdd(topic.Name, topic);
    }

    /// <summary>In subscription order: metrics, presence, then the optional command results, connector dead letters and credential audit events.</summary>
    public IReadOnlyList<SinkTopic> All { get; }

    public static SinkTopics From(SinkOptions options)
    {
        var metrics = new SinkTopic(options.MetricsTopic, RecordKind.Metrics);
        var presence = new SinkTopic(options.PresenceTopic, RecordKind.Presence);
        var commands = string.IsNullOrWhiteSpace(options.CommandResultsTopic) ? null : new SinkTopic(options.CommandResultsTopic, RecordKind.CommandResult);
        var connector = string.IsNullOrWhiteSpace(options.ConnectorDeadLetterTopic) ? null : new SinkTopic(options.ConnectorDeadLetterTopic, RecordKind.ConnectorDeadLetter);
        var audit = string.IsNullOrWhiteSpace(options.CredentialAuditTopic) ? null : new SinkTopic(options.CredentialAuditTopic, RecordKind.CredentialAudit);
        List<SinkTopic> all = [metrics, presence];
        if (commands is not null) all.Add(commands);
        if (connector is not null) all.Add(connector);
        if (audit is not null) all.Add(audit);
        List<SinkTopic> precedence = [metrics, presence];
        if (connector is not null) precedence.Add(connector);
        if (commands is not null) precedence.Add(commands);
        if (audit is not null) precedence.Add(audit);
        return new SinkTopics(all, [.. precedence]);
    }

    /// <summary>The topic of that name, or null when the sink does not consume it.</summary>
    public SinkTopic? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Names to subscribe to.</summary>
    public List<string> Names()
    {
        var names = new List<string>(All.Count);
        foreach (var topic in All) names.Add(topic.Name);
        return names;
    }
}
