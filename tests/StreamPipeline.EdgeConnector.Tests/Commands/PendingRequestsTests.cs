using StreamPipeline.EdgeConnector.Commands;
using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.EdgeConnector.Tests.Commands;

/// <summary>What the connector knows of a request it relays: written or not, and never written twice to one session.</summary>
public sealed class PendingRequestsTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch;

    private static PendingRequest Pending(string session, long requestId = 7) =>
        new(new ConnectorRequest("c", "agent", "edge", "restart-service", requestId, "{}", 0, 1000, Now), session, Now, Now.AddMinutes(1));

    [Fact]
    public void TryAdd_SameRequestSameSession_NotWrittenTwice()
    {
        var pending = new PendingRequests();
        Assert.True(pending.TryAdd(Pending("s1")));
        Assert.False(pending.TryAdd(Pending("s1")));
        Assert.True(pending.TryAdd(Pending("s2")));
        Assert.Equal(1, pending.Count);
    }

    [Fact]
    public void SessionEndsBeforeTheWrite_ReportedNeverWrittenAndTheWriterSkips()
    {
        var p = Pending("s1");
        Assert.True(p.TryAbandon());
        Assert.False(p.TryBeginWrite());
        Assert.False(p.MayHaveReachedAgent);
    }

    [Fact]
    public void SessionEndsAfterTheWrite_ReportedWritten()
    {
        var p = Pending("s1");
        Assert.True(p.TryBeginWrite());
        Assert.False(p.TryAbandon());
        Assert.True(p.MayHaveReachedAgent);
    }

    [Fact]
    public void TakeSession_OnlyThatSessionsRequests()
    {
        var pending = new PendingRequests();
        pending.TryAdd(Pending("s1", 1));
        pending.TryAdd(Pending("s1", 2));
        pending.TryAdd(Pending("s2", 3));

        Assert.Equal([1L, 2L], pending.TakeSession("agent", "s1").Select(p => p.Request.RequestId).Order());
        Assert.Equal(1, pending.Count);
    }
}
