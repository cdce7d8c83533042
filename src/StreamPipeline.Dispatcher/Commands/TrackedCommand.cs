using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Dispatcher.Commands;

internal enum CommandState
{
    /// <summary>Just read, or dropped (partition revoked): counted nowhere.</summary>
    None,
    /// <summary>Waiting for its agent to come online (or come back on a newer session).</summary>
    Waiting,
    /// <summary>Sent to a connector, waiting for the answer (or, once the session went away, for the connector's report).</summary>
    InFlight,
    /// <summary>Decided; its result is being published.</summary>
    Completing,
}

/// <summary>A command this dispatcher owns, from the record being read to its result being acknowledged.</summary>
internal sealed class TrackedCommand(AgentCommand command, OffsetWatermark partition, long offset, long requestId, DateTimeOffset consumedAt)
{
    public AgentCommand Command { get; } = command;
    public OffsetWatermark Partition { get; } = partition;
    public long Offset { get; } = offset;
    public long RequestId { get; } = requestId;
    public DateTimeOffset ConsumedAt { get; } = consumedAt;
    public string? Payload { get; set; }
    public DateTimeOffset Deadline { get; set; }
    public TimeSpan Timeout { get; set; }
    public CommandState State { get; set; }
    public bool SideEffecting { get; set; }

    /// <summary>Connector and session (its position in the presence topic) of the last send.</summary>
    public string? ConnectorId { get; set; }
    public long OwnerPosition { get; set; } = -1;

    /// <summary>Lowest session position the next send may go to: above the one that reported the agent gone.</summary>
    public long MinPosition { get; set; } = long.MinValue;

    /// <summary>
    /// The session the request was written to and that ended before the agent answered (it may have run there); -1 when
    /// none. A read-only request is re-sent from there at most <see cref="DispatcherOptions.MaxResends"/> times.
    /// </summary>
    public long MaybeRanOn { get; set; } = -1;

    /// <summary>True when the session it may have run on went silent with its connector (no report): no overlap to check.</summary>
    public bool MaybeRanOnSilentConnector { get; set; }

    /// <summary>Why it last went back to waiting (the reason its next send is counted under).</summary>
    public string? WaitReason { get; set; }

    /// <summary>Re-sends of a request that may have reached the agent.</summary>
    public int Resends { get; set; }

    /// <summary>Set while in flight once its session ended or was superseded: the connector's report is awaited until then.</summary>
    public DateTimeOffset? ReportDueAt { get; set; }

    public DateTimeOffset? DispatchedTime { get; set; }
    public DateTimeOffset SentTime { get; set; }

    /// <summary>Invalidates older entries of the due-time queue.</summary>
    public int DueVersion { get; set; }

    /// <summary>What a snapshot of its partition records about it, for the next owner.</summary>
    public UndecidedCommand ToUndecided() => new(
        Offset,
        State == CommandState.InFlight ? OwnerPosition : -1,
        State == CommandState.InFlight ? ConnectorId : null,
        MaybeRanOn,
        Resends);
}
