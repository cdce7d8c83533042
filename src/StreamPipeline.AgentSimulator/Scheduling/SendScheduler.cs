namespace StreamPipeline.AgentSimulator.Scheduling;

/// <summary>Something the <see cref="SendScheduler"/> wakes up when it is due.</summary>
internal interface IScheduledSend
{
    /// <summary>Called on the scheduler's loop: must only do cheap work and hand the rest off.</summary>
    void OnDue(int generation);
}

/// <summary>
/// One hashed timer wheel for the whole fleet: a single <see cref="PeriodicTimer"/> loop instead of a timer per
/// agent. Entries carry the generation they were scheduled for; a target ignores a stale one (interval changed,
/// connection gone), so nothing has to be removed from the wheel.
/// </summary>
internal sealed class SendScheduler : IAsyncDisposable
{
    private const int SlotCount = 1024;

    private readonly TimeSpan _tick;
    private readonly TimeProvider _clock;
    private readonly List<Entry>[] _slots = new List<Entry>[SlotCount];
    private readonly List<Entry> _due = [];
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _start;
    private readonly Task _loop;
    private long _processedTick;

    public SendScheduler(TimeProvider clock, TimeSpan tick)
    {
        _clock = clock;
        _tick = tick;
        for (var i = 0; i < SlotCount; i++)
        {
            _slots[i] = [];
        }

        _start = clock.GetTimestamp();
        _loop = RunAsync();
    }

    /// <summary>Wakes <paramref name="target"/> after <paramref name="delay"/> (rounded up to the next tick).</summary>
    public void Schedule(IScheduledSend target, int generation, TimeSpan delay)
    {
        var ticks = Math.Max(1, (long)Math.Ceiling(delay / _tick));
        lock (_gate)
        {
            var due = _processedTick + ticks;
            _slots[due % SlotCount].Add(new Entry(target, generation, due));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        using var timer = new PeriodicTimer(_tick, _clock);
        while (await timer.WaitForNextTickAsync(_stop.Token))
        {
            var target = (long)(_clock.GetElapsedTime(_start) / _tick);
            while (Volatile.Read(ref _processedTick) < target)
            {
                CollectNextTick();
                foreach (var entry in _due)
                {
                    entry.Target.OnDue(entry.Generation);
                }

                _due.Clear();
            }
        }
    }

    private void CollectNextTick()
    {
        lock (_gate)
        {
            var tick = ++_processedTick;
            var slot = _slots[tick % SlotCount];
            var kept = 0;
            for (var i = 0; i < slot.Count; i++)
            {
                var entry = slot[i];
                if (entry.Due <= tick)
                {
                    _due.Add(entry);
                }
                else
                {
                    slot[kept++] = entry;
                }
            }

            slot.RemoveRange(kept, slot.Count - kept);
        }
    }

    private readonly record struct Entry(IScheduledSend Target, int Generation, long Due);
}
