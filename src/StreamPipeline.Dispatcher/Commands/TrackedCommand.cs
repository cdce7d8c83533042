using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.Dispatcher.Commands;

internal enum CommandState
{
    /// <summary>Just read, or dropped (partition revoked): counted nowhere.</summary>
    None,
    /// <summary>Waiting for its agent to come online (or come back on a newer session).</summary>
    Waiting,
    /// <summary>Sent to a connector, waiting for the answer.</summary>
    InFlight,
    /// <summary>Decided; its result is being published.</summary>
    Completing,
}

/// <summary>The offsets of one commands partition this dispatcher owns, and how many of its commands it holds.</summary>
internal sealed class PartitionState(int partition)
{
    public int Partition { get; } = partition;

    /// <summary>Offsets of commands whose result is not acknowledged yet: the commit stops below the lowest.</summary>
    public SortedSet<long> Pending { get; } = [];

    /// <summary>The offset after the last record read; -1 before the first.</summary>
    public long Next { get; set; } = -1;

    /// <summary>The offset last handed to the consumer to commit.</summary>
    public long Stored { get; set; } = -1;

    /// <summary>Commands held (waiting, in flight or completing).</summary>
    public int Held { get; set; }

    public bool Paused { get; set; }

    /// <summary>What may be committed: everything below the lowest pending offset (Wolverine-style watermark).</summary>
    public long Watermark => Pending.Count > 0 ? Pending.Min : Next;
}

/// <summary>A command this dispatcher owns, from the record being read to its result being acknowledged.</summary>
internal sealed class TrackedCommand(AgentCommand command, PartitionState partition, long offset, long requestId, DateTimeOffset consumedAt)
{
    public AgentCommand Command { get; } = command;
    public PartitionState Partition { get; } = partition;
    public long Offset { get; } = offset;
    public long RequestId { get; } = requestId;
    public DateTimeOffset ConsumedAt { get; } = consumedAt;
    public string? Payload { get; set; }
    public DateTimeOffset Deadline { get; set; }
    public TimeSpan Timeout { get; set; }
    public CommandState State { get; set; }

    /// <summary>Connector and session epoch of the last send.</summary>
    public string? ConnectorId { get; set; }
    public long OwnerEpoch { get; set; }

    /// <summary>Lowest session epoch the next send may go to: above the one that reported the agent gone.</summary>
    public long MinEpoch { get; set; } = long.MinValue;

    public DateTimeOffset? DispatchedTime { get; set; }
    public DateTimeOffset SentTime { get; set; }

    /// <summary>Invalidates older entries of the due-time queue.</summary>
    public int DueVersion { get; set; }
}
