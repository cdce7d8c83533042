namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>
/// Rate-limits the per-frame problem logs of one session: at most <c>perMinute</c> lines in a one-minute window; the
/// rest are only counted (metrics count every frame) and reported with the next line that is written. An agent
/// sending thousands of bad frames then costs a few log lines a minute, not thousands. Not thread-safe: one read loop owns it.
/// </summary>
internal sealed class LogBudget(int perMinute, TimeProvider time)
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private long _windowStart = time.GetTimestamp();
    private int _written;
    private int _suppressed;

    /// <summary>True when a line may be written now; <paramref name="suppressed"/> is how many were skipped since the last one.</summary>
    public bool TryTake(out int suppressed)
    {
        if (time.GetElapsedTime(_windowStart) >= Window)
        {
            _windowStart = time.GetTimestamp();
            _written = 0;
        }

        if (_written >= perMinute)
        {
            _suppressed++;
            suppressed = 0;
            return false;
        }

        _written++;
        suppressed = _suppressed;
        _suppressed = 0;
        return true;
    }
}
