using StreamPipeline.EdgeConnector.Commands;
using StreamPipeline.Kafka.Contracts;

namespace StreamPipeline.EdgeConnector.Tests.Commands;

/// <summary>
/// What the connector knows of a request it relays: written or not, never written twice to one session (issue 8),
/// bounded and indexed by session (issue 9).
/// </summary>
public sealed class PendingRequestsTests
{
    private readonly FakeTime _time = new();

    private PendingRequest Entry(string agent, long id, string session, TimeSpan? forgetIn = null) =>
        new(Request(agent, id), session, _time.GetUtcNow(), _time.GetUtcNow() + (forgetIn ?? TimeSpan.FromMinutes(1)));

    private ConnectorRequest Request(string agent, long id) => new("cmd-" + id, agent, "edge-1", "restart-service", id, "{}", 0, 30_000, _time.GetUtcNow());

    [Fact]
    public void TryAdd_SameRequestSameSession_NotWrittenTwice()
    {
        var pending = new PendingRequests(_time, 100);
        Assert.Equal(PendingAddResult.Added, pending.TryAdd(Entry("agent", 7, "s1")));
        Assert.Equal(PendingAddResult.AlreadyPending, pending.TryAdd(Entry("agent", 7, "s1")));
        Assert.Equal(PendingAddResult.Added, pending.TryAdd(Entry("agent", 7, "s2")));
        Assert.Equal(1, pending.Count);
    }

    [Fact]
    public void SessionEndsBeforeTheWrite_ReportedNeverWrittenAndTheWriterSkips()
    {
        var p = Entry("agent", 7, "s1");
        Assert.True(p.TryAbandon());
        Assert.False(p.TryBeginWrite());
        Assert.False(p.MayHaveReachedAgent);
    }

    [Fact]
    public void SessionEndsAfterTheWrite_ReportedWritten()
    {
        var p = Entry("agent", 7, "s1");
        Assert.True(p.TryBeginWrite());
        Assert.False(p.TryAbandon());
        Assert.True(p.MayHaveReachedAgent);
    }

    [Fact]
    public void TryAdd_AtMaxEntries_RefusesNewButReplacesExisting()
    {
        var pending = new PendingRequests(_time, maxEntries: 2);
        Assert.Equal(PendingAddResult.Added, pending.TryAdd(Entry("a", 1, "s1")));
        Assert.Equal(PendingAddResult.Added, pending.TryAdd(Entry("a", 2, "s1")));

        // Regression (issue 9): MaxEntries was never enforced on the path the relay uses.
        Assert.Equal(PendingAddResult.Full, pending.TryAdd(Entry("b", 3, "s2")));
        Assert.Equal(PendingAddResult.Added, pending.TryAdd(Entry("a", 2, "s1b")));
        Assert.Equal(2, pending.Count);
    }

    [Fact]
    public void TakeSession_TwoSessions_OnlyThatSessionsRequests()
    {
        var pending = new PendingRequests(_time, 100);
        pending.TryAdd(Entry("a", 1, "s1"));
        pending.TryAdd(Entry("a", 2, "s1"));
        pending.TryAdd(Entry("a", 3, "s2"));
        pending.TryAdd(Entry("b", 4, "s3"));

        var taken = pending.TakeSession("a", "s1");

        Assert.Equal([1L, 2L], taken.Select(p => p.Request.RequestId).Order());
        Assert.Equal(2, pending.Count);
        Assert.Empty(pending.TakeSession("a", "s1"));
        Assert.True(pending.TryTake("a", 3, out _));
    }

    [Fact]
    public void TryAdd_ResentToANewSession_MovesToThatSession()
    {
        var pending = new PendingRequests(_time, 100);
        pending.TryAdd(Entry("a", 1, "old"));
        pending.TryAdd(Entry("a", 1, "new"));

        Assert.Empty(pending.TakeSession("a", "old"));
        Assert.Single(pending.TakeSession("a", "new"));
    }

    [Fact]
    public void TryRemove_NewerEntryForTheSameRequest_LeftInPlace()
    {
        var pending = new PendingRequests(_time, 100);
        var old = Entry("a", 1, "old");
        pending.TryAdd(old);
        pending.TryAdd(Entry("a", 1, "new"));

        Assert.False(pending.TryRemove(old));
        Assert.Single(pending.TakeSession("a", "new"));
    }

    [Fact]
    public void Sweep_PastForgetTime_RemovedAndUnindexed()
    {
        var pending = new PendingRequests(_time, 100);
        pending.TryAdd(Entry("a", 1, "s1", TimeSpan.FromSeconds(10)));
        pending.TryAdd(Entry("a", 2, "s1", TimeSpan.FromSeconds(60)));

        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal(1, pending.Sweep());
        Assert.Equal(2, Assert.Single(pending.TakeSession("a", "s1")).Request.RequestId);
    }
}
