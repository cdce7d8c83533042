namespace StreamPipeline.EdgeConnector.Sessions;

/// <summary>A token bucket: <c>rate</c> tokens per second, at most <c>burst</c> saved up. Not thread-safe; lock around it when shared.</summary>
internal struct TokenBucket(double ratePerSecond, double burst, long startTimestamp)
{
    private readonly double _burst = burst;
    private double _tokens = burst;
    private long _last = startTimestamp;

    public bool TryTake(long nowTimestamp, long timestampFrequency)
    {
        var elapsed = (double)(nowTimestamp - _last) / timestampFrequency;
        _last = nowTimestamp;
        _tokens = Math.Min(_burst, _tokens + elapsed * ratePerSecond);
        if (_tokens < 1) return false;
        _tokens -= 1;
        return true;
    }
}
