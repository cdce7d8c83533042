namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>
/// A token bucket: <c>rate</c> tokens per second, at most <c>burst</c> saved up, starting full. Time is read from the
/// <see cref="TimeProvider"/> given to each call (a fake clock in tests). Not thread-safe; lock around it when shared.
/// A struct so a session's bucket lives inline in its read loop: no allocation per frame or per session.
/// </summary>
internal struct TokenBucket(double ratePerSecond, double burst, TimeProvider time)
{
    private readonly double _burst = burst;
    private double _tokens = burst;
    private long _last = time.GetTimestamp();

    public bool TryTake(TimeProvider time)
    {
        var now = time.GetTimestamp();
        var elapsed = (double)(now - _last) / time.TimestampFrequency;
        _last = now;
        _tokens = Math.Min(_burst, _tokens + elapsed * ratePerSecond);
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }
}
