namespace StreamPipeline.Dispatcher.Commands;

/// <summary>What a record read from a commands partition is, given what the partition's owners knew before.</summary>
internal enum RecordStanding
{
    /// <summary>Never seen by any owner: handle it.</summary>
    New,

    /// <summary>Already decided (its result written) by this or an earlier owner: skip it.</summary>
    Decided,

    /// <summary>Seen by an earlier owner and not decided: handle it with what that owner knew.</summary>
    Undecided,
}

/// <summary>
/// The offsets of one commands partition this dispatcher owns (the Wolverine-style watermark): what may be committed is
/// everything below the lowest offset not yet decided, counting both the commands this owner holds and the undecided
/// ones an earlier owner left in its snapshot and that were not read again yet. Carries that earlier knowledge on into
/// this owner's snapshots until every such record was read again. Not thread-safe: the engine's lock guards it.
/// </summary>
internal sealed class OffsetWatermark(int partition)
{
    private readonly SortedSet<long> _pending = [];
    private readonly SortedDictionary<long, UndecidedCommand> _restored = [];
    private readonly Dictionary<long, TrackedCommand> _commands = [];
    private long _restoredNext = -1;

    public int Partition { get; } = partition;

    /// <summary>The offset after the last record read by this owner; -1 before the first.</summary>
    public long ReadNext { get; private set; } = -1;

    /// <summary>The offset after the last record known, read by this owner or an earlier one.</summary>
    public long KnownNext => Math.Max(ReadNext, _restoredNext);

    /// <summary>The offset last handed to the consumer to commit.</summary>
    public long Stored { get; set; } = -1;

    /// <summary>Commands held (waiting, in flight or completing).</summary>
    public int Held => _pending.Count;

    public bool Paused { get; set; }

    /// <summary>Bumped on every change a snapshot would show.</summary>
    public long Version { get; private set; }

    /// <summary>The version and time of the last snapshot taken.</summary>
    public long SnapshotVersion { get; set; } = -1;
    public DateTimeOffset SnapshotAt { get; set; }

    /// <summary>Responses read before their command (a takeover reads both topics at once), by request id.</summary>
    public Dictionary<long, Kafka.Contracts.ConnectorResponse> EarlyResponses { get; } = [];

    /// <summary>What may be committed: everything below the lowest undecided offset; -1 when nothing is known yet.</summary>
    public long Watermark
    {
        get
        {
            var w = KnownNext;
            if (_pending.Count > 0) w = Math.Min(w, _pending.Min);
            if (_restored.Count > 0) w = Math.Min(w, _restored.First().Key);
            return w;
        }
    }

    /// <summary>
    /// Starts from an earlier owner's snapshot; <paramref name="committed"/> is where consumption resumes (a commit made
    /// after the snapshot proves the records below it decided since).
    /// </summary>
    public void Restore(PartitionSnapshot snapshot, long committed)
    {
        _restored.Clear();
        foreach (var u in snapshot.Undecided)
        {
            if (u.Offset >= snapshot.Watermark && u.Offset >= committed && u.Offset < snapshot.Next) _restored[u.Offset] = u;
        }

        _restoredNext = snapshot.Next;
        Version++;
    }

    /// <summary>Classifies the record at <paramref name="offset"/> and moves the read position past it.</summary>
    public RecordStanding Read(long offset, out UndecidedCommand earlier)
    {
        // Where consumption starts is already committed (or the reset point): nothing new to commit yet.
        if (ReadNext < 0 && Stored < 0) Stored = offset;
        ReadNext = Math.Max(ReadNext, offset + 1);
        Version++;
        if (_restored.Remove(offset, out earlier)) return RecordStanding.Undecided;
        earlier = default;
        return offset < _restoredNext ? RecordStanding.Decided : RecordStanding.New;
    }

    /// <summary>Holds a command until its result is acknowledged.</summary>
    public void Track(TrackedCommand command)
    {
        _pending.Add(command.Offset);
        _commands[command.Offset] = command;
        Version++;
    }

    /// <summary>Its result is acknowledged: the watermark may pass it.</summary>
    public void Complete(TrackedCommand command)
    {
        if (_commands.TryGetValue(command.Offset, out var held) && ReferenceEquals(held, command))
        {
            _commands.Remove(command.Offset);
            _pending.Remove(command.Offset);
            Version++;
        }
    }

    /// <summary>A state change of a held command (sent, waiting again) that a snapshot should show.</summary>
    public void Touch() => Version++;

    /// <summary>The partition's state now, for the next owner.</summary>
    public PartitionSnapshot Snapshot(int requestIdEpoch, bool final)
    {
        var undecided = new List<UndecidedCommand>(_pending.Count + _restored.Count);
        foreach (var offset in _pending) undecided.Add(_commands[offset].ToUndecided());
        undecided.AddRange(_restored.Values);
        undecided.Sort((x, y) => x.Offset.CompareTo(y.Offset));
        // Final only when every result is acknowledged: otherwise the next owner reads the results written after it.
        foreach (var c in _commands.Values)
        {
            if (c.State == CommandState.Completing) final = false;
        }

        return new PartitionSnapshot(Partition, requestIdEpoch, Watermark, KnownNext, undecided, [], final);
    }
}
