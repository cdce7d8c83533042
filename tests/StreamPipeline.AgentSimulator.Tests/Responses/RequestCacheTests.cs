using StreamPipeline.AgentSimulator.Responses;

namespace StreamPipeline.AgentSimulator.Tests.Responses;

public sealed class RequestCacheTests
{
    [Fact]
    public void Store_OverCapacity_EvictsTheOldestId()
    {
        var cache = new RequestCache(capacity: 3, maxBytes: 1_000_000);
        for (var id = 1; id <= 4; id++)
        {
            cache.CountExecution("get-services", id);
            cache.Store(id, [(byte)id]);
        }

        Assert.False(cache.TryGetResponse(1, out _));
        Assert.True(cache.TryGetResponse(4, out var frame));
        Assert.Equal([4], frame);
        Assert.Equal(1, cache.Evictions);
        // Executions are counted apart from the cache: an evicted id still counts its run.
        Assert.Equal(1, cache.ExecutionCount(1));
        Assert.Equal(1, cache.ExecutionCount(4));
        Assert.Equal(4, cache.ExecutionCount("get-services"));
    }

    [Fact]
    public void Store_OverByteBudget_EvictsUntilUnderIt()
    {
        var cache = new RequestCache(capacity: 100, maxBytes: 2048);

        cache.Store(1, new byte[1000]);
        cache.Store(2, new byte[1000]);
        cache.Store(3, new byte[1000]);

        Assert.False(cache.Contains(1));
        Assert.True(cache.Contains(2));
        Assert.True(cache.Contains(3));
    }

    [Fact]
    public void Clear_AgentRestarted_ResponsesForgottenExecutionsKept()
    {
        var cache = new RequestCache(10, 1_000_000);
        cache.CountExecution("restart-service", 7);
        cache.Store(7, [1]);

        cache.Clear();
        cache.CountExecution("restart-service", 7);

        Assert.False(cache.TryGetResponse(7, out _));
        Assert.Equal(2, cache.ExecutionCount(7));
        Assert.Equal(2, cache.ExecutionCount("restart-service"));
    }

    [Fact]
    public void TryGetResponse_KnownId_CountsACachedReply()
    {
        var cache = new RequestCache(10, 1_000_000);
        cache.Store(7, [1]);

        Assert.True(cache.TryGetResponse(7, out _));
        Assert.True(cache.TryGetResponse(7, out _));

        Assert.Equal(2, cache.CachedReplies);
    }
}
