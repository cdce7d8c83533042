using StreamPipeline.Protocol;

namespace StreamPipeline.Dispatcher.Tests.Routing;

/// <summary>The routing table: sessions ordered by their records' positions in the presence partition, never by connector clocks.</summary>
public sealed class PresenceTableTests
{
    private static AgentPresence P(string connector, long epoch, PresenceStatus status, string? session = null, bool refresh = false) => new()
    {
        AgentId = "a", ConnectorId = connector, SessionId = session ?? $"{connector}-{epoch}", Epoch = epoch, Status = status,
        ConnectedTimeMs = epoch, EventTimeMs = refresh ? epoch + 1000 : epoch,
    };

    [Fact]
    public void Apply_Connected_Owner()
    {
        var t = new PresenceTable();
        Assert.True(t.Apply(P("c1", 10, PresenceStatus.Connected), 0));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal(("c1", "c1-10", 0L), (o.ConnectorId, o.SessionId, o.Position));
        Assert.False(t.TryGetOwner("b", out _));
    }

    [Fact]
    public void Apply_DisconnectedOfOwnerSession_Offline()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Connected), 0);
        Assert.True(t.Apply(P("c1", 10, PresenceStatus.Disconnected), 1));
        Assert.False(t.TryGetOwner("a", out _));
    }

    [Fact]
    public void Apply_NewerSessionElsewhereThenOldSessionEnds_NewOwnerStays()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Connected), 0);
        Assert.True(t.Apply(P("c2", 20, PresenceStatus.Connected), 1));
        Assert.False(t.Apply(P("c1", 10, PresenceStatus.Disconnected), 2));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal("c2", o.ConnectorId);
        Assert.False(t.EndedBefore("a", 0, 1), "c1's session was still open when c2's began");
    }

    [Fact]
    public void Apply_NewerSessionOnConnectorWhoseClockIsBehind_OwnsTheAgent()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 100_000, PresenceStatus.Connected), 0);
        t.Apply(P("c1", 100_000, PresenceStatus.Disconnected), 1);
        // 60 s behind: a lower epoch, but a later record.
        Assert.True(t.Apply(P("c2", 40_000, PresenceStatus.Connected), 2));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal(("c2", 2L), (o.ConnectorId, o.Position));
        Assert.True(t.EndedBefore("a", 0, 2));
    }

    [Fact]
    public void Apply_RefreshOfLiveSession_NoChangeKeepsFirstPosition()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Connected), 3);
        Assert.False(t.Apply(P("c1", 10, PresenceStatus.Connected, refresh: true), 9));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal(3, o.Position);
    }

    [Fact]
    public void Apply_NewestSessionEnded_OfflineEvenIfOlderNeverSaidGoodbye()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Connected), 0);
        t.Apply(P("c2", 20, PresenceStatus.Connected), 1);
        Assert.True(t.Apply(P("c2", 20, PresenceStatus.Disconnected), 2));
        Assert.False(t.TryGetOwner("a", out _));
    }

    /// <summary>Retention deleted the CONNECTED of a long-lived session: its refresh is enough.</summary>
    [Fact]
    public void Apply_HistoryWithoutTheConnected_RefreshMakesItOnline()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Disconnected, session: "old"), 5);
        Assert.True(t.Apply(P("c2", 20, PresenceStatus.Connected, refresh: true), 7));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal("c2", o.ConnectorId);
    }

    /// <summary>Compaction kept one record per key: a late DISCONNECTED of an older session, then the newer session's re-assert.</summary>
    [Fact]
    public void Apply_CompactedHistoryLateDisconnectedThenReassert_Online()
    {
        var t = new PresenceTable();
        t.Apply(P("c1", 10, PresenceStatus.Disconnected), 4);
        Assert.False(t.TryGetOwner("a", out _));
        t.Apply(P("c2", 20, PresenceStatus.Connected, refresh: true), 5);
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal("c2", o.ConnectorId);
    }

    /// <summary>A late DISCONNECTED of a session whose CONNECTED this reader never saw does not take the agent offline.</summary>
    [Fact]
    public void Apply_DisconnectedOfUnknownOlderSession_OwnerStays()
    {
        var t = new PresenceTable();
        t.Apply(P("c2", 20, PresenceStatus.Connected), 10);
        Assert.False(t.Apply(P("c1", 10, PresenceStatus.Disconnected, session: "never-seen"), 12));
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal("c2", o.ConnectorId);
    }

    [Fact]
    public void Apply_ManySessions_RemembersABoundedFewNewestWins()
    {
        var t = new PresenceTable();
        for (var i = 0; i < 20; i++) t.Apply(P("c" + i, i, PresenceStatus.Connected), i);
        Assert.True(t.TryGetOwner("a", out var o));
        Assert.Equal("c19", o.ConnectorId);
        Assert.True(t.EndedBefore("a", 0, 19), "a session no longer remembered counts as ended");
    }
}
