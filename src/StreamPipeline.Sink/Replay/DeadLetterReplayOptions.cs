namespace StreamPipeline.Sink.Replay;

/// <summary>
/// What <c>replay-dead-letters</c> replays (configuration section <c>Replay</c>, e.g. <c>--Replay:FromOffset=120</c>):
/// a range of one dead-letter topic, by offset, by record time, or both (the records in both).
/// </summary>
public sealed class DeadLetterReplayOptions
{
    public const string Section = "Replay";

    /// <summary>The dead-letter topic: the sink's (<c>agent-metrics-sink-dlq</c>, the default) or the connector's (<c>agent-metrics-dlq</c>).</summary>
    public string Topic { get; set; } = Kafka.Topics.PipelineTopics.SinkDeadLetter;

    /// <summary>One partition of it; unset for every partition.</summary>
    public int? Partition { get; set; }

    /// <summary>First offset to replay (inclusive); unset for the oldest kept.</summary>
    public long? FromOffset { get; set; }

    /// <summary>Last offset to replay (inclusive); unset for the newest.</summary>
    public long? ToOffset { get; set; }

    /// <summary>Only records whose Kafka timestamp (when they were dead-lettered) is at or after this, e.g. <c>2026-12-01T10:00:00Z</c>.</summary>
    public DateTimeOffset? FromTime { get; set; }

    /// <summary>Only records whose Kafka timestamp is at or before this.</summary>
    public DateTimeOffset? ToTime { get; set; }

    /// <summary>Report what would be replayed; write nothing.</summary>
    public bool DryRun { get; set; }

    /// <summary>Records per insert (one deduplication token each). Default 10,000.</summary>
    public int ChunkRecords { get; set; } = 10_000;

    /// <summary>Records one run may hold (they are read before anything is written). Default 1,000,000: narrow the range beyond.</summary>
    public int MaxRecords { get; set; } = 1_000_000;

    /// <summary>Every problem at once, each naming the setting.</summary>
    public IReadOnlyList<string> Validate()
    {
        var e = new List<string>();
        if (string.IsNullOrWhiteSpace(Topic)) e.Add("Replay:Topic must name a dead-letter topic (agent-metrics-sink-dlq or agent-metrics-dlq).");
        if (Partition is < 0) e.Add($"Replay:Partition must be 0 or more, got {Partition}.");
        if (FromOffset is < 0) e.Add($"Replay:FromOffset must be 0 or more, got {FromOffset}.");
        if (ToOffset is < 0) e.Add($"Replay:ToOffset must be 0 or more, got {ToOffset}.");
        if (FromOffset is { } f && ToOffset is { } t && f > t) e.Add($"Replay:FromOffset ({f}) must not be after Replay:ToOffset ({t}).");
        if (FromTime is { } a && ToTime is { } b && a > b) e.Add($"Replay:FromTime ({a:O}) must not be after Replay:ToTime ({b:O}).");
        if (ChunkRecords is < 1 or > 1_000_000) e.Add($"Replay:ChunkRecords must be 1..1,000,000, got {ChunkRecords}.");
        if (MaxRecords is < 1 or > 50_000_000) e.Add($"Replay:MaxRecords must be 1..50,000,000, got {MaxRecords}.");
        return e;
    }
}
