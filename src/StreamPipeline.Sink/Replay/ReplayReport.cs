using System.Globalization;
using System.Text;

namespace StreamPipeline.Sink.Replay;

/// <summary>What one replay run did, record by record of the dead-letter range it read.</summary>
internal sealed class ReplayReport
{
    /// <summary>Dead letters read in the range (after the time filter).</summary>
    public int Read { get; set; }

    /// <summary>Second copies of a record read in the same run (the sink's topic is at-least-once).</summary>
    public int Duplicates { get; set; }

    /// <summary>Records loaded by this run.</summary>
    public int Replayed { get; set; }

    /// <summary>Records a run before already loaded (skipped).</summary>
    public int AlreadyReplayed { get; set; }

    /// <summary>Records left from a run that stopped half-way, inserted again under their recorded token.</summary>
    public int Completed { get; set; }

    /// <summary>Frames of the connector's topic that are not metrics events (nothing to load), e.g. a refused response.</summary>
    public int Skipped { get; set; }

    /// <summary>Records that still cannot be loaded, by reason; they stay in the topic.</summary>
    public SortedDictionary<string, int> StillFailing { get; } = new(StringComparer.Ordinal);

    /// <summary>Rows inserted per table (before ClickHouse's deduplication).</summary>
    public SortedDictionary<string, long> Rows { get; } = new(StringComparer.Ordinal);

    public int Failing => StillFailing.Values.Sum();

    public void Fail(string reason) => StillFailing[reason] = StillFailing.GetValueOrDefault(reason) + 1;

    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"read {Read} dead letters ({Duplicates} second copies), replayed {Replayed}, already replayed {AlreadyReplayed}, completed {Completed} left pending, skipped {Skipped} (not metrics frames), still failing {Failing}");
        foreach (var (reason, count) in StillFailing) text.Append(CultureInfo.InvariantCulture, $" [{reason}: {count}]");
        if (Rows.Count > 0) text.Append("; rows ").AppendJoin(", ", Rows.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r.Key} {r.Value}")));
        return text.ToString();
    }
}
