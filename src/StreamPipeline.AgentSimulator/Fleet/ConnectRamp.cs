namespace StreamPipeline.AgentSimulator.Fleet;

/// <summary>Paces new connections across the fleet to a rate: each caller gets the next free slot in time.</summary>
internal sealed class ConnectRamp(double connectionsPerSecond, TimeProvider clock)
{
    private readonly long _interval = connectionsPerSecond > 0 ? (long)(clock.TimestampFrequency / connectionsPerSecond) : 0;
    private long _nextSlot = clock.GetTimestamp();

    public async ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        if (_interval <= 0)
        {
            return;
        }

        var now = clock.GetTimestamp();
        long slot;
        while (true)
        {
            var next = Volatile.Read(ref _nextSlot);
            slot = Math.Max(next, now);
            if (Interlocked.CompareExchange(ref _nextSlot, slot + _interval, next) == next)
            {
                break;
            }
        }

        var wait = slot - now;
        if (wait > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds((double)wait / clock.TimestampFrequency), clock, cancellationToken);
        }
    }
}
