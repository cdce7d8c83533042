using Confluent.Kafka;
using StreamPipeline.Sink.Decoding;

namespace StreamPipeline.Sink.Consuming;

/// <summary>What the consumer thread knows about one assigned partition. Touched by the consumer thread only.</summary>
internal sealed class PartitionState(TopicPartition topicPartition, RecordKind kind, ReplayPlan replay)
{
    public TopicPartition TopicPartition { get; } = topicPartition;

    public RecordKind Kind { get; } = kind;

    /// <summary>Recorded ranges still to re-insert, oldest first; records are batched along them before anything new.</summary>
    public ReplayPlan Replay { get; } = replay;

    /// <summary>The batch being filled.</summary>
    public PartitionBatch? Current { get; set; }

    /// <summary>The batch being inserted (at most one per partition, so ranges are recorded and committed in order).</summary>
    public PartitionBatch? InFlightBatch { get; set; }

    /// <summary>The insert of <see cref="InFlightBatch"/>: null when done, else why ClickHouse refused the rows.</summary>
    public Task<string?>? InFlight { get; set; }

    /// <summary>A range ClickHouse refused: re-read from Kafka and dead-lettered whole, then committed.</summary>
    public (long First, long Last, string Error)? Rejected { get; set; }

    /// <summary>Cancels the in-flight insert when the partition is lost or the drain time is over.</summary>
    public CancellationTokenSource Cancel { get; } = new();

    /// <summary>Offset to commit (last + 1 of the newest inserted batch) not committed yet.</summary>
    public long? PendingCommit { get; set; }

    /// <summary>The first inserted batch not committed yet: its number among this worker's inserted batches, and when.</summary>
    public (long Sequence, long Timestamp)? OldestUncommitted { get; set; }

    public bool Paused { get; set; }
}
