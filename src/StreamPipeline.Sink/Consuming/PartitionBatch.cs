using System.Globalization;
using Confluent.Kafka;
using StreamPipeline.Sink.DeadLetters;
using StreamPipeline.Sink.Decoding;

namespace StreamPipeline.Sink.Consuming;

/// <summary>
/// The records of ONE partition with a contiguous offset range [<see cref="First"/>, <see cref="Last"/>], decoded into
/// RowBinary per table. Its deduplication token is derived from the range, so the same range always inserts the same
/// blocks under the same token.
/// </summary>
internal sealed class PartitionBatch : IDisposable
{
    public PartitionBatch(TopicPartition topicPartition, RecordKind kind, long startedAt, (long First, long Last)? replay)
    {
        TopicPartition = topicPartition;
        Kind = kind;
        StartedAt = startedAt;
        Replay = replay;
        Tables = kind.Tables;
        Rows = kind.NewRows();
    }

    private long _deadLetterBytes;

    public TopicPartition TopicPartition { get; }

    public RecordKind Kind { get; }

    public SinkTable[] Tables { get; }

    /// <summary>Rows per table, same index as <see cref="Tables"/>.</summary>
    public RowBinaryBuffer[] Rows { get; }

    /// <summary>Stopwatch timestamp of the first record.</summary>
    public long StartedAt { get; }

    /// <summary>When set, the batch re-reads exactly this recorded range (after a crash or rebalance) and closes at its end.</summary>
    public (long First, long Last)? Replay { get; }

    public long First { get; private set; } = -1;

    public long Last { get; private set; } = -1;

    public int Records { get; private set; }

    /// <summary>No more records are added; it waits to be inserted.</summary>
    public bool Closed { get; set; }

    public List<DeadLetter>? DeadLetters { get; private set; }

    /// <summary>
    /// <c>dead_letters</c> rows of <see cref="DeadLetters"/>, built once they are published (the rows say where the
    /// copies landed) and inserted after every other table, with <see cref="Token"/> + <c>/dead_letters</c>: a replay
    /// stores them once.
    /// </summary>
    public RowBinaryBuffer DeadLetterRows { get; } = new();

    /// <summary>Set when this batch re-reads a range ClickHouse refused: its records are dead-lettered with this reason, nothing is inserted.</summary>
    public string? Rejection { get; init; }

    /// <summary>The range the token and <c>sink_batches</c> use: the recorded one for a replay, else the records seen.</summary>
    public (long First, long Last) Range => Replay ?? (First, Last);

    /// <summary><c>{topic}:{partition}:{first}-{last}</c>, the <c>insert_deduplication_token</c> of every table of the batch.</summary>
    public string Token => string.Create(CultureInfo.InvariantCulture, $"{TopicPartition.Topic}:{TopicPartition.Partition.Value}:{Range.First}-{Range.Last}");

    public void Added(long offset)
    {
        if (First < 0) First = offset;
        Last = offset;
        Records++;
    }

    public void AddDeadLetter(DeadLetter letter)
    {
        (DeadLetters ??= []).Add(letter);
        _deadLetterBytes += (letter.Value?.Length ?? 0) + (letter.Key?.Length ?? 0);
    }

    /// <summary>Memory the batch holds: its rows in every table and the dead letters' raw records.</summary>
    public long Bytes
    {
        get
        {
            long bytes = _deadLetterBytes;
            foreach (var rows in Rows) bytes += rows.Length;
            return bytes;
        }
    }

    public void Dispose()
    {
        foreach (var rows in Rows) rows.Dispose();
        DeadLetterRows.Dispose();
    }
}
