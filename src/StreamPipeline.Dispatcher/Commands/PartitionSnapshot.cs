namespace StreamPipeline.Dispatcher.Commands;

/// <summary>
/// What one commands partition's owner knows, written to the dispatchers' state topic (schemas/avro/dispatcher-state.avsc)
/// so the next owner starts from it instead of guessing: every record below <see cref="Next"/> is decided, except the
/// <see cref="Undecided"/> ones. A record the next owner reads again at a decided offset is skipped (no second result, no
/// second send), however long ago it was decided and however many results were written since.
/// </summary>
/// <param name="Partition">The commands partition.</param>
/// <param name="RequestIdEpoch">The writer's Dispatcher:RequestIdEpoch: a snapshot of another incarnation of the topic is ignored.</param>
/// <param name="Watermark">Everything below is decided (what the owner commits).</param>
/// <param name="Next">The offset after the last record known (read by this owner or an earlier one).</param>
/// <param name="Undecided">The offsets in [<see cref="Watermark"/>, <see cref="Next"/>) not decided yet, ascending, with what the owner knew of each.</param>
/// <param name="ResultsPositions">
/// Per results partition, where the results this owner had not seen acknowledged would land: the next owner reads from
/// there to the end to learn of results decided after the snapshot (empty until filled by the state store).
/// </param>
/// <param name="Final">Written at a graceful hand-over, after every result was acknowledged: nothing was decided after it.</param>
internal sealed record PartitionSnapshot(
    int Partition,
    int RequestIdEpoch,
    long Watermark,
    long Next,
    IReadOnlyList<UndecidedCommand> Undecided,
    IReadOnlyList<long> ResultsPositions,
    bool Final);

/// <summary>An undecided command of a snapshot.</summary>
/// <param name="Offset">Its record's offset.</param>
/// <param name="SentTo">Position (in the presence topic) of the session it was in flight to; -1 when not in flight.</param>
/// <param name="SentToConnector">The connector of that session; null when not in flight.</param>
/// <param name="MaybeRanOn">The session it was written to that closed unanswered; -1 when none.</param>
/// <param name="Resends">Re-sends of a request that may have reached the agent.</param>
internal readonly record struct UndecidedCommand(long Offset, long SentTo, string? SentToConnector, long MaybeRanOn, int Resends);
