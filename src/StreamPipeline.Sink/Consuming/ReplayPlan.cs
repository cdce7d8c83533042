namespace StreamPipeline.Sink.Consuming;

/// <summary>
/// What a newly assigned partition re-reads before anything new: the offset ranges the ledger (<c>sink_batches</c>)
/// recorded at or after the committed offset but that were never committed, oldest first, each to be batched along
/// exactly its recorded bounds (so it inserts under its recorded token, which ClickHouse drops if the rows are in).
/// Pure: built from the ledger's answer and the partition's offsets, then consumed as records arrive, on the consumer
/// thread only. See docs/sink-exactly-once.md, "Crash recovery".
/// </summary>
internal sealed class ReplayPlan
{
    private readonly LinkedList<(long First, long Last)> _ranges = new();

    private ReplayPlan()
    {
    }

    /// <summary>Nothing to replay: batch by size and time from the committed offset.</summary>
    public static ReplayPlan None => new();

    /// <summary>
    /// The plan for a partition committed at <paramref name="committed"/> (null: nothing committed) whose ledger
    /// recorded <paramref name="recorded"/> (ordered by first offset, as <c>ClickHouseLoader.RecordedRangesAsync</c>
    /// returns them). Records between the commit and the first recorded range were never recorded: they are replayed as
    /// a range of their own. A range starting inside one already planned is skipped (its records are in that one).
    /// </summary>
    public static ReplayPlan Build(long? committed, IReadOnlyList<(long First, long Last)> recorded)
    {
        var plan = new ReplayPlan();
        var previousLast = -1L;
        if (recorded.Count > 0 && committed is { } c && c < recorded[0].First)
        {
            plan._ranges.AddLast((c, recorded[0].First - 1));
            previousLast = recorded[0].First - 1;
        }

        foreach (var range in recorded)
        {
            if (range.First <= previousLast) continue;
            plan._ranges.AddLast(range);
            previousLast = range.Last;
        }

        return plan;
    }

    /// <summary>Ranges still to replay.</summary>
    public int Count => _ranges.Count;

    /// <summary>The offset to start reading at; null when there is nothing to replay.</summary>
    public long? StartOffset => _ranges.First?.Value.First;

    /// <summary>The last offset of the last range to replay (-1 when none).</summary>
    public long LastOffset => _ranges.Last?.Value.Last ?? -1;

    /// <summary>The range the next batch is built along, or null: batch by size and time.</summary>
    public (long First, long Last)? Next => _ranges.First?.Value;

    /// <summary>The planned ranges, oldest first.</summary>
    public IEnumerable<(long First, long Last)> Ranges => _ranges;

    /// <summary>
    /// Drops the next range when it ends before <paramref name="offset"/> (the first record Kafka still has): nothing
    /// of it is left (retention). Call until false before starting a batch at <paramref name="offset"/>.
    /// </summary>
    public bool TryDropPassed(long offset, out (long First, long Last) gone)
    {
        if (_ranges.First is { } head && offset > head.Value.Last)
        {
            gone = head.Value;
            _ranges.RemoveFirst();
            return true;
        }

        gone = default;
        return false;
    }

    /// <summary>The batch along <see cref="Next"/> is closed: the next batch follows the next range.</summary>
    public void Completed()
    {
        if (_ranges.Count > 0) _ranges.RemoveFirst();
    }

    /// <summary>A closed range must be read again along its recorded bounds (ClickHouse refused the batch before it): it is next again.</summary>
    public void PutBack((long First, long Last) range) => _ranges.AddFirst(range);
}
