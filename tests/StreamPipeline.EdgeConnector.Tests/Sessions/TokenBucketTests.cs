using StreamPipeline.EdgeConnector.Sessions;

namespace StreamPipeline.EdgeConnector.Tests.Sessions;

public sealed class TokenBucketTests
{
    [Fact]
    public void TryTake_BurstSpent_RefusedUntilRefilled()
    {
        var time = new FakeTime();
        var bucket = new TokenBucket(ratePerSecond: 5, burst: 20, time);

        var taken = 0;
        while (bucket.TryTake(time)) taken++;
        Assert.Equal(20, taken);

        time.Advance(TimeSpan.FromMilliseconds(199));
        Assert.False(bucket.TryTake(time));
        time.Advance(TimeSpan.FromMilliseconds(2));
        Assert.True(bucket.TryTake(time));
        Assert.False(bucket.TryTake(time));
    }

    [Fact]
    public void TryTake_LongIdle_SavesAtMostTheBurst()
    {
        var time = new FakeTime();
        var bucket = new TokenBucket(5, 20, time);
        while (bucket.TryTake(time)) { }

        time.Advance(TimeSpan.FromHours(1));
        var taken = 0;
        while (bucket.TryTake(time)) taken++;

        Assert.Equal(20, taken);
    }
}
